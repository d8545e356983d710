/**
 * Runs the event counter (src/store/counts/counter.ts) in every worker and processor: one consumer group,
 * `<KAFKA_CONSUMER_GROUP>-counts`, reads the stored topic from its beginning, so each partition
 * is counted by one process at a time (and, for a moment after a rebalance, maybe two, which the
 * counter's fences make harmless).
 *
 * A batch is applied in chunks; a chunk's offset is resolved only once its counters are written,
 * so a crash re-reads at most what was not yet counted. A failed write (DynamoDB away) is retried
 * with backoff inside the batch while the group is heartbeated: the partition stays here and
 * counting resumes where it stopped when the table answers again.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { EachBatchPayload, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { superviseConsumer } from '../../platform/kafka/retryLoop';
import { parseStoredNotice } from '../../platform/kafka/storedNotice';
import type { EventCounter, StoredNotice } from './counter';
import { CONSUMER_SESSION } from '../../platform/kafka/client';

/** Records applied together: large enough to add many events up in one write per counter. */
const CHUNK = 500;
const MAX_RETRY_DELAY_MS = 10_000;

export function countsGroupId(consumerGroup: string): string {
  return `${consumerGroup}-counts`;
}

export interface CountsConsumer {
  /** Connects and counts; retried with backoff until it works or stop(). */
  start(): Promise<void>;
  /** Finishes the chunk in hand, commits, leaves the group. */
  stop(): Promise<void>;
}

export function createCountsConsumer(deps: {
  kafka: Pick<Kafka, 'consumer'>;
  topic: string;
  consumerGroup: string;
  counter: EventCounter;
  logger: Logger;
}): CountsConsumer {
  const logger = deps.logger.child({ component: 'counts' });
  const groupId = countsGroupId(deps.consumerGroup);
  // Fetches wait up to a second for 64 KiB: larger batches add more events up per counter write
  // (a batch costs one write per counter it touches), for a second of counting delay.
  const consumer = deps.kafka.consumer({
    groupId,
    ...CONSUMER_SESSION,
    allowAutoTopicCreation: false,
    minBytes: 65_536,
    maxWaitTimeInMs: 1_000,
  });
  let started = false;
  const supervisor = superviseConsumer({
    consumer,
    attempt: async () => {
      await consumer.connect();
      await consumer.subscribe({ topic: deps.topic, fromBeginning: true });
      await consumer.run({ eachBatchAutoResolve: false, eachBatch });
      logger.info({ groupId, topic: deps.topic }, 'counting stored events');
    },
    onFailure: (err, retryInMs) => logger.error({ err: (err as Error).message, retryInMs }, 'counts unavailable: cannot read the stored topic'),
    // Counting must not stop for good on an error kafkajs deems not retriable.
    onCrash: (error, restartInMs) => logger.error({ err: error.message, kafkajsRestarts: restartInMs === undefined, restartInMs }, 'counts consumer crashed'),
  });

  async function eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    for (let from = 0; from < batch.messages.length; from += CHUNK) {
      const messages = batch.messages.slice(from, from + CHUNK);
      const notices: StoredNotice[] = [];
      for (const message of messages) {
        const event = parseStoredNotice(message.value);
        if (event) notices.push({ offset: Number(message.offset), event });
        else logger.warn({ partition: batch.partition, offset: message.offset }, 'counts: skipped a record that is not a stored event');
      }
      for (let delay = 500; ; delay = Math.min(delay * 2, MAX_RETRY_DELAY_MS)) {
        if (!isRunning() || isStale()) return;
        try {
          await deps.counter.apply(batch.partition, notices);
          break;
        } catch (err) {
          logger.warn({ err: (err as Error).message, partition: batch.partition, retryInMs: delay }, 'counting failed; retrying the same records');
          await sleep(delay);
          await heartbeat().catch(() => undefined);
        }
      }
      resolveOffset(messages[messages.length - 1]!.offset);
      await heartbeat();
    }
  }

  return {
    async start() {
      started = true;
      await supervisor.start();
    },
    async stop() {
      if (started) await supervisor.stop();
    },
  };
}
