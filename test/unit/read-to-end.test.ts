/**
 * readTopicToEnd with a fake admin and consumer: the scan ends for partitions that hold nothing
 * any more (retention or deleteRecords moved the low watermark up to the high one), before and
 * during the scan. Against real Kafka: test/integration/dlq-retry.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { readTopicToEnd } from '../../src/platform/kafka/readToEnd';

type Offsets = { partition: number; offset: string; low: string; high: string }[];

/** `watermarks` answers each fetchTopicOffsets call in turn (the last one repeats). */
function fakeKafka(watermarks: Offsets[], messages: { partition: number; offset: string }[]) {
  const state = { consumerConnected: false, calls: 0, deletedGroups: [] as string[] };
  const kafka = {
    admin: () => ({
      connect: async () => undefined,
      disconnect: async () => undefined,
      deleteGroups: async (ids: string[]) => void state.deletedGroups.push(...ids),
      fetchTopicOffsets: async () => watermarks[Math.min(state.calls++, watermarks.length - 1)]!,
    }),
    consumer: () => ({
      connect: async () => void (state.consumerConnected = true),
      subscribe: async () => undefined,
      disconnect: async () => undefined,
      // Delivers the messages once, then idles like a consumer at the end of its partitions.
      run: async ({ eachMessage }: { eachMessage: (p: { partition: number; message: KafkaMessage }) => Promise<void> }) => {
        for (const m of messages) await eachMessage({ partition: m.partition, message: { offset: m.offset, value: Buffer.from(m.offset) } as KafkaMessage });
      },
    }),
  } as unknown as Kafka;
  return { kafka, state };
}

/** The scan must finish: a hang is the defect, so it fails after a deadline instead. */
async function scan(kafka: Kafka) {
  const read: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('readTopicToEnd did not finish')), 5_000);
  });
  try {
    await Promise.race([readTopicToEnd(kafka, 'events.dlq', (m, p) => void read.push(`${p}:${m.offset}`), { recheckMs: 50 }), deadline]);
  } finally {
    clearTimeout(timer);
  }
  return read;
}

describe('readTopicToEnd', () => {
  it('finishes when retention has emptied a partition (low = high > 0), reading the others to their end', async () => {
    const { kafka } = fakeKafka(
      [
        [
          { partition: 0, offset: '5', low: '5', high: '5' },
          { partition: 1, offset: '2', low: '0', high: '2' },
        ],
      ],
      [
        { partition: 1, offset: '0' },
        { partition: 1, offset: '1' },
      ],
    );
    assert.deepEqual(await scan(kafka), ['1:0', '1:1']);
  });

  it('returns at once, without a consumer, when every partition is empty or emptied', async () => {
    const { kafka, state } = fakeKafka(
      [
        [
          { partition: 0, offset: '0', low: '0', high: '0' },
          { partition: 1, offset: '7', low: '7', high: '7' },
        ],
      ],
      [],
    );
    assert.deepEqual(await scan(kafka), []);
    assert.equal(state.consumerConnected, false);
  });

  it('finishes when retention empties a partition while it is being read', async () => {
    const { kafka, state } = fakeKafka(
      [[{ partition: 0, offset: '3', low: '0', high: '3' }], [{ partition: 0, offset: '3', low: '3', high: '3' }]],
      // Offset 0 was read; 1 and 2 were deleted before the consumer got to them.
      [{ partition: 0, offset: '0' }],
    );
    assert.deepEqual(await scan(kafka), ['0:0']);
    assert.equal(state.deletedGroups.length, 1, 'the throwaway group is deleted');
  });

  it('stops at the end offsets it started with, ignoring later records', async () => {
    const { kafka } = fakeKafka(
      [[{ partition: 0, offset: '2', low: '0', high: '2' }]],
      [
        { partition: 0, offset: '0' },
        { partition: 0, offset: '1' },
        { partition: 0, offset: '2' },
      ],
    );
    assert.deepEqual(await scan(kafka), ['0:0', '0:1']);
  });
});
