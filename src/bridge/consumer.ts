/**
 * The bridge: a kafkajs consumer-group member that turns each record of the raw topic into a
 * processEvent workflow start.
 *
 * Offsets are resolved only after the start for that record succeeded (or found the workflow
 * already started), in partition order, so a crash re-delivers at most the unfinished window and
 * the workflow-ID dedup absorbs it. Records that can never work (bad JSON, invalid envelope) go
 * to the DLQ and are committed. Failures that would hit every record (Temporal unreachable) are
 * retried with backoff, heartbeating, without committing and without restarting the consumer.
 */
import type { Consumer, EachBatchPayload, KafkaMessage, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { EventEnvelope, FieldError } from '../events/event';
import { parseEnvelope } from '../events/validate';
import { publishDeadLetter } from '../kafka/deadLetter';
import { isRecordRejection, type StartProcessEvent } from './startProcessEvent';

export interface BridgeDeps {
  consumer: Consumer;
  dlqProducer: Pick<Producer, 'send'>;
  startProcessEvent: StartProcessEvent;
  topic: string;
  dlqTopic: string;
  /** Workflow starts in flight per partition batch. */
  concurrency: number;
  /** Partitions processed at the same time by this member (default 4, the raw topic's count). */
  partitionConcurrency?: number;
  logger: Logger;
  /** Backoff while Temporal is unreachable. */
  retry?: { initialMs: number; maxMs: number };
}

export interface BridgeStats {
  started: number;
  alreadyStarted: number;
  deadLettered: number;
  transientFailures: number;
}

type Decoded = { ok: true; event: EventEnvelope } | { ok: false; reason: string; fields?: FieldError[] };

function decode(message: KafkaMessage): Decoded {
  if (!message.value) return { ok: false, reason: 'record has no value' };
  let json: unknown;
  try {
    json = JSON.parse(message.value.toString('utf8'));
  } catch (err) {
    return { ok: false, reason: `value is not JSON: ${(err as Error).message}` };
  }
  const parsed = parseEnvelope(json);
  if (!parsed.ok) return { ok: false, reason: 'value is not a valid event envelope', fields: parsed.errors };
  return { ok: true, event: parsed.value };
}

export function createBridge(deps: BridgeDeps) {
  const { consumer, logger } = deps;
  const retry = deps.retry ?? { initialMs: 500, maxMs: 15_000 };
  const stats: BridgeStats = { started: 0, alreadyStarted: 0, deadLettered: 0, transientFailures: 0 };

  async function deadLetter(topic: string, partition: number, message: KafkaMessage, type: string, reason: string, fields?: FieldError[]) {
    const raw = message.value?.toString('utf8') ?? null;
    let original: unknown = raw;
    try {
      original = raw === null ? null : JSON.parse(raw);
    } catch {
      // keep the raw string: that is what the producer of the bad record sent
    }
    await publishDeadLetter(deps.dlqProducer, deps.dlqTopic, message.key?.toString('utf8') ?? null, {
      original,
      error: { stage: 'bridge', type, message: reason, attempts: 1, ...(fields ? { fields } : {}) },
      failed_at: new Date().toISOString(),
      source: { topic, partition, offset: message.offset, key: message.key?.toString('utf8') ?? null },
    });
    stats.deadLettered++;
    logger.warn({ topic, partition, offset: message.offset, reason, fields }, 'record dead-lettered');
  }

  /** Handles one record until it is done (started, found started, or dead-lettered). */
  async function handle(payload: EachBatchPayload, message: KafkaMessage): Promise<void> {
    const { topic, partition } = payload.batch;
    const decoded = decode(message);
    if (!decoded.ok) return deadLetter(topic, partition, message, 'InvalidRecord', decoded.reason, decoded.fields);
    const event = decoded.event;
    let delay = retry.initialMs;
    for (;;) {
      try {
        const outcome = await deps.startProcessEvent(event);
        if (outcome === 'started') stats.started++;
        else {
          stats.alreadyStarted++;
          logger.debug({ event_id: event.event_id }, 'workflow already started; record is a redelivery');
        }
        return;
      } catch (err) {
        if (isRecordRejection(err)) {
          return deadLetter(topic, partition, message, 'WorkflowStartRejected', (err as Error).message);
        }
        stats.transientFailures++;
        if (!payload.isRunning() || payload.isStale()) throw err; // let kafkajs redeliver after the rebalance
        logger.warn({ err: (err as Error).message, event_id: event.event_id, retryInMs: delay }, 'cannot start workflow; retrying');
        await new Promise((r) => setTimeout(r, delay));
        await payload.heartbeat();
        delay = Math.min(delay * 2, retry.maxMs);
      }
    }
  }

  async function eachBatch(payload: EachBatchPayload): Promise<void> {
    const messages = payload.batch.messages;
    for (let i = 0; i < messages.length; i += deps.concurrency) {
      if (!payload.isRunning() || payload.isStale()) return;
      const window = messages.slice(i, i + deps.concurrency);
      await Promise.all(window.map((m) => handle(payload, m)));
      // Every record up to here is done: safe to commit past the last one.
      payload.resolveOffset(window[window.length - 1]!.offset);
      await payload.commitOffsetsIfNecessary();
      await payload.heartbeat();
    }
  }

  return {
    stats,
    async run(): Promise<void> {
      await consumer.connect();
      await consumer.subscribe({ topic: deps.topic, fromBeginning: true });
      await consumer.run({
        eachBatchAutoResolve: false,
        // Commit after every finished window, so a restart redelivers as little as possible.
        autoCommitThreshold: 1,
        autoCommitInterval: 1_000,
        partitionsConsumedConcurrently: deps.partitionConcurrency ?? 4,
        eachBatch,
      });
    },
    /** Stops fetching, waits for the current batch, commits resolved offsets, leaves the group. */
    async stop(): Promise<void> {
      await consumer.disconnect();
    },
  };
}
