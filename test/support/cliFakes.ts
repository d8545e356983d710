/** Fakes the `events` CLI's unit tests share (retry.test.ts, events-cli-run.test.ts). */
import type { Kafka, KafkaMessage } from 'kafkajs';

/** A DLQ of these message values, read the way readTopicToEnd reads a topic. */
export function dlqOf(values: string[]): Pick<Kafka, 'admin' | 'consumer'> {
  return {
    admin: () => ({
      connect: async () => undefined,
      disconnect: async () => undefined,
      deleteGroups: async () => undefined,
      fetchTopicOffsets: async () => [{ partition: 0, offset: String(values.length), low: '0', high: String(values.length) }],
    }),
    consumer: () => ({
      connect: async () => undefined,
      subscribe: async () => undefined,
      disconnect: async () => undefined,
      run: async ({ eachMessage }: { eachMessage: (p: { partition: number; message: KafkaMessage }) => Promise<void> }) => {
        for (const [i, v] of values.entries()) await eachMessage({ partition: 0, message: { offset: String(i), value: Buffer.from(v) } as KafkaMessage });
      },
    }),
  } as unknown as Pick<Kafka, 'admin' | 'consumer'>;
}
