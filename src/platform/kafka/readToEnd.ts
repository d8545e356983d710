import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';

type PartitionOffsets = { partition: number; low: string; high: string };

/**
 * Reads a topic from its beginning up to its end offsets as they were when called, then stops:
 * a bounded scan (replaying the DLQ, checking what a topic holds) rather than a subscription.
 * Uses a throwaway consumer group, deleted afterwards.
 *
 * A partition has nothing to read when its low watermark has reached the end offset: never
 * written (0 = 0), or emptied by retention or deleteRecords (low = high > 0). Waiting for a
 * message at high - 1 there would wait forever. Retention can also empty a partition while it
 * is being read, so the watermarks are looked at again every `recheckMs` until the scan is done.
 */
export async function readTopicToEnd(
  kafka: Pick<Kafka, 'admin' | 'consumer'>,
  topic: string,
  eachMessage: (message: KafkaMessage, partition: number) => Promise<void> | void,
  { recheckMs = 2_000 }: { recheckMs?: number } = {},
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `read-to-end-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId });
  let recheck: NodeJS.Timeout | undefined;
  try {
    const offsets: PartitionOffsets[] = await admin.fetchTopicOffsets(topic);
    const ends = new Map(offsets.map((p) => [p.partition, BigInt(p.high)]));
    const drained = (p: PartitionOffsets) => BigInt(p.low) >= (ends.get(p.partition) ?? 0n);
    const remaining = new Set(offsets.filter((p) => !drained(p)).map((p) => p.partition));
    if (remaining.size === 0) return;
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const done = (partition: number) => {
        remaining.delete(partition);
        if (remaining.size === 0) resolve();
      };
      recheck = setInterval(() => {
        admin.fetchTopicOffsets(topic).then(
          (now) => now.filter(drained).forEach((p) => done(p.partition)),
          () => undefined, // a failed look is retried at the next tick; the scan itself goes on
        );
      }, recheckMs);
      consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            const end = ends.get(partition) ?? 0n;
            const offset = BigInt(message.offset);
            if (offset < end) await eachMessage(message, partition);
            if (offset + 1n >= end) done(partition);
          },
        })
        .catch(reject);
    });
  } finally {
    clearInterval(recheck);
    await consumer.disconnect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}
