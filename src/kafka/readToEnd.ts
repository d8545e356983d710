import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';

/**
 * Reads a topic from its beginning up to its end offsets as they were when called, then stops:
 * a bounded scan (replaying the DLQ, checking what a topic holds) rather than a subscription.
 * Uses a throwaway consumer group, deleted afterwards.
 */
export async function readTopicToEnd(
  kafka: Kafka,
  topic: string,
  eachMessage: (message: KafkaMessage, partition: number) => Promise<void> | void,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `read-to-end-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId });
  try {
    const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.high)]));
    const remaining = new Set([...ends].filter(([, high]) => high > 0n).map(([partition]) => partition));
    if (remaining.size === 0) return;
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            const end = ends.get(partition) ?? 0n;
            const offset = BigInt(message.offset);
            if (offset < end) await eachMessage(message, partition);
            if (offset + 1n >= end) remaining.delete(partition);
            if (remaining.size === 0) resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}
