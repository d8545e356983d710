/**
 * The bridge: a consumer-group member that turns each record of the raw topic into a processEvent
 * start; the delivery guarantee it keeps is told in docs/design.md (## Delivery). A partition's
 * batch is worked in windows of `concurrency` records, resolved only once all of a window is done,
 * so a crash redelivers at most one window. Failures that would hit every record are waited out
 * with backoff, never dead-lettered, and a timer heartbeats the group meanwhile so a slow Temporal
 * never costs the member its partitions.
 */
import type { Consumer, ConsumerRunConfig, EachBatchPayload, KafkaMessage, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { EventEnvelope, FieldError } from '../events/event';
import { parseExact } from '../events/exactJson';
import { parseEnvelope } from '../events/validate';
import { publishDeadLetter } from '../platform/kafka/deadLetter';
import { classifyStartError } from './startErrors';
import type { StartProcessEvent } from './startProcessEvent';
import { superviseConsumer } from '../platform/kafka/retryLoop';
import { RAW_TOPIC_PARTITIONS } from '../platform/kafka/topics';
import { BridgeStatus, type BackoffKind } from './status';

export interface BridgeDeps {
  consumer: Consumer;
  dlqProducer: Pick<Producer, 'send'>;
  startProcessEvent: StartProcessEvent;
  topic: string;
  dlqTopic: string;
  /** Workflow starts in flight per partition batch. */
  concurrency: number;
  /** Partitions processed at the same time by this member (default: the raw topic's RAW_TOPIC_PARTITIONS). */
  partitionConcurrency?: number;
  logger: Logger;
  /** Backoff while every start fails (Temporal unreachable or refusing, DLQ refusing). */
  retry?: { initialMs: number; maxMs: number };
  /** How often the group is heartbeated while a window is in flight (default 1 s; kafkajs sends at most one per heartbeatInterval). */
  heartbeatEveryMs?: number;
  /** Delay before restarting a crashed consumer, doubled up to 30 s (default 1 s). */
  restartDelayMs?: number;
  status?: BridgeStatus;
}

export type BridgeStats = BridgeStatus['stats'];

type Decoded = { ok: true; event: EventEnvelope } | { ok: false; reason: string; fields?: FieldError[] };

function decode(message: KafkaMessage): Decoded {
  if (!message.value) return { ok: false, reason: 'record has no value' };
  let json: unknown;
  try {
    // The producer wrote payload numbers as the client sent them: keep every digit.
    json = parseExact(message.value.toString('utf8'));
  } catch (err) {
    return { ok: false, reason: `value is not JSON: ${(err as Error).message}` };
  }
  const parsed = parseEnvelope(json);
  if (!parsed.ok) return { ok: false, reason: 'value is not a valid event envelope', fields: parsed.errors };
  return { ok: true, event: parsed.value };
}

/** A record is done, or waits for a failure that would hit every record to pass. */
type Outcome = { done: true } | { done: false; kind: BackoffKind; code?: string; reason: string };

const DONE: Outcome = { done: true };

/** Backoff kinds by how much an operator needs to hear about them. */
const SEVERITY: Record<BackoffKind, number> = { transient: 0, 'dead-letter': 1, systemic: 2 };

export function createBridge(deps: BridgeDeps) {
  const { consumer, logger } = deps;
  const retry = deps.retry ?? { initialMs: 500, maxMs: 15_000 };
  const heartbeatEveryMs = deps.heartbeatEveryMs ?? 1_000;
  const status = deps.status ?? new BridgeStatus();
  const stats = status.stats;

  /** `eventId`: the event's id when the record decoded to one (its key is the producer's user_id, not an event id). */
  async function deadLetter(
    topic: string,
    partition: number,
    message: KafkaMessage,
    type: string,
    reason: string,
    detail: { fields?: FieldError[]; eventId?: string } = {},
  ): Promise<Outcome> {
    const { fields, eventId } = detail;
    const raw = message.value?.toString('utf8') ?? null;
    let original: unknown = raw;
    try {
      original = raw === null ? null : parseExact(raw);
    } catch {
      // keep the raw string: that is what the producer of the bad record sent
    }
    const key = message.key?.toString('utf8') ?? null;
    try {
      await publishDeadLetter(
        deps.dlqProducer,
        deps.dlqTopic,
        key,
        {
          original,
          error: { stage: 'bridge', type, message: reason, attempts: 1, ...(fields ? { fields } : {}) },
          failed_at: new Date().toISOString(),
          source: { topic, partition, offset: message.offset, key },
        },
        { rawValue: message.value },
      );
    } catch (err) {
      stats.deadLetterFailures++;
      return { done: false, kind: 'dead-letter', reason: `cannot publish to ${deps.dlqTopic}: ${(err as Error).message}` };
    }
    stats.deadLettered++;
    // The producer keys records by user_id, and a record written straight to the topic may have any
    // key: it is logged as what it is, and event_id only where the record named a valid event.
    logger.warn(
      { record_key: key, event_id: eventId, topic, partition, offset: message.offset, bytes: message.value?.length ?? 0, reason, fields },
      'record dead-lettered',
    );
    return DONE;
  }

  /** One attempt at one record. */
  async function attempt(topic: string, partition: number, message: KafkaMessage): Promise<Outcome> {
    const decoded = decode(message);
    if (!decoded.ok) return deadLetter(topic, partition, message, 'InvalidRecord', decoded.reason, decoded.fields ? { fields: decoded.fields } : {});
    const event = decoded.event;
    try {
      const outcome = await deps.startProcessEvent(event);
      if (outcome === 'started') stats.started++;
      else {
        stats.alreadyStarted++;
        logger.debug({ event_id: event.event_id }, 'workflow already started; record is a redelivery');
      }
      return DONE;
    } catch (err) {
      const failure = classifyStartError(err);
      if (failure.kind === 'record') {
        return deadLetter(topic, partition, message, 'WorkflowStartRejected', `${failure.code ?? 'rejected'}: ${failure.message}`, {
          eventId: event.event_id,
        });
      }
      if (failure.kind === 'systemic') stats.systemicFailures++;
      else stats.transientFailures++;
      return { done: false, kind: failure.kind, ...(failure.code ? { code: failure.code } : {}), reason: failure.message };
    }
  }

  /** Sleeps `ms`, waking early once `abandoned()` says the window is no longer ours. */
  async function sleepUnless(ms: number, abandoned: () => boolean): Promise<void> {
    const until = Date.now() + ms;
    while (!abandoned() && Date.now() < until) await new Promise((r) => setTimeout(r, Math.min(250, until - Date.now())));
  }

  /**
   * Works one window until every record is done. Returns false when the window was abandoned
   * (rebalance, shutdown): nothing of it may be resolved then, and kafkajs delivers it again.
   */
  async function processWindow(payload: EachBatchPayload, window: KafkaMessage[], abandoned: () => boolean): Promise<boolean> {
    const { topic, partition } = payload.batch;
    let pending = window;
    let delay = retry.initialMs;
    for (let step = 1; ; step++) {
      const outcomes = await Promise.all(pending.map((m) => attempt(topic, partition, m)));
      const failed = pending.filter((_, i) => !outcomes[i]!.done);
      if (failed.length === 0) {
        const was = status.backoffOf(partition);
        if (was) {
          status.clearBackoff(partition);
          logger.info({ partition, kind: was.kind, outageMs: Date.now() - was.since, steps: was.step }, 'partition resumed after backoff');
        }
        return true;
      }
      if (abandoned()) return false;
      // One failure stands for the window: the one an operator most needs to see.
      const worst = outcomes.filter((o): o is Exclude<Outcome, { done: true }> => !o.done).reduce((a, b) => (SEVERITY[b.kind] > SEVERITY[a.kind] ? b : a));
      const since = status.backoffOf(partition)?.since ?? Date.now();
      status.setBackoff(partition, {
        kind: worst.kind,
        since,
        step,
        retryInMs: delay,
        waiting: failed.length,
        ...(worst.code ? { code: worst.code } : {}),
        reason: worst.reason,
      });
      const line = {
        topic,
        partition,
        kind: worst.kind,
        code: worst.code,
        error: worst.reason,
        waiting: failed.length,
        fromOffset: failed[0]!.offset,
        step,
        retryInMs: delay,
      };
      if (worst.kind === 'transient') logger.warn(line, 'cannot start workflows; backing off, nothing committed');
      else if (worst.kind === 'systemic')
        logger.error(line, 'Temporal rejects every workflow start (namespace setup?); backing off, nothing dead-lettered or committed');
      else logger.error(line, 'cannot publish to the dead-letter topic; backing off, nothing committed');
      await sleepUnless(delay, abandoned);
      if (abandoned()) return false;
      delay = Math.min(delay * 2, retry.maxMs);
      pending = failed;
    }
  }

  /**
   * Heartbeats the group every `heartbeatEveryMs` while a batch is worked on, however long its
   * starts take. Reports a rebalance so the batch can let go of its partition in time.
   */
  function keepHeartbeating(payload: EachBatchPayload) {
    let rebalancing = false;
    const timer = setInterval(() => {
      payload.heartbeat().catch((err: unknown) => {
        stats.heartbeatFailures++;
        const text = `${(err as { type?: string }).type ?? ''} ${(err as Error).message}`;
        if (/rebalanc|UNKNOWN_MEMBER_ID|ILLEGAL_GENERATION|NOT_COORDINATOR/i.test(text)) rebalancing = true;
        logger.debug({ partition: payload.batch.partition, err: (err as Error).message }, 'heartbeat during a window failed');
      });
    }, heartbeatEveryMs);
    timer.unref();
    return { rebalancing: () => rebalancing, stop: () => clearInterval(timer) };
  }

  async function eachBatch(payload: EachBatchPayload): Promise<void> {
    const { topic, partition, messages, highWatermark } = payload.batch;
    // Lag from what the fetch already returned: the partition's end when it was fetched, less the
    // next offset to finish. No extra request to Kafka, and it moves as windows finish.
    const end = Number(highWatermark);
    const lagFrom = (nextOffset: number) => {
      if (Number.isFinite(end)) status.setLag(topic, partition, end - nextOffset);
    };
    if (messages.length > 0) lagFrom(Number(messages[0]!.offset));
    const heartbeats = keepHeartbeating(payload);
    const abandoned = () => !payload.isRunning() || payload.isStale() || heartbeats.rebalancing();
    try {
      for (let i = 0; i < messages.length; i += deps.concurrency) {
        if (abandoned()) return;
        const window = messages.slice(i, i + deps.concurrency);
        if (!(await processWindow(payload, window, abandoned))) return;
        // Every record up to here is done: safe to commit past the last one.
        const last = window[window.length - 1]!.offset;
        payload.resolveOffset(last);
        stats.consumed += window.length;
        lagFrom(Number(last) + 1);
        await payload.commitOffsetsIfNecessary();
      }
    } finally {
      heartbeats.stop();
    }
    await payload.heartbeat();
  }

  const runConfig: ConsumerRunConfig = {
    eachBatchAutoResolve: false,
    // Commit after every finished window, so a restart redelivers as little as possible.
    autoCommitThreshold: 1,
    autoCommitInterval: 1_000,
    partitionsConsumedConcurrently: deps.partitionConcurrency ?? RAW_TOPIC_PARTITIONS,
    eachBatch,
  };
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    if (status.consumerState() === 'crashed') logger.info({ crashes: stats.consumerCrashes }, 'consumer rejoined the group after a crash');
    stats.groupJoins++;
    status.keepLagOf(payload.memberAssignment);
    status.setConsumer('running');
  });
  const supervisor = superviseConsumer({
    consumer,
    attempt: async () => {
      await consumer.connect();
      await consumer.subscribe({ topic: deps.topic, fromBeginning: true });
      await consumer.run(runConfig);
    },
    // A bridge that cannot join at all exits saying why; one that crashed later keeps trying.
    failFast: true,
    initialDelayMs: deps.restartDelayMs,
    onFailure: (err, retryInMs) => logger.error({ err: (err as Error).message, retryInMs }, 'consumer restart failed; trying again'),
    onCrash: (error, restartInMs) => {
      status.setConsumer('crashed', error);
      logger.error(
        { err: { name: error.name, message: error.message, stack: error.stack }, kafkajsRestarts: restartInMs === undefined },
        restartInMs === undefined ? 'consumer crashed; kafkajs restarts it' : `consumer crashed; restarting it in ${restartInMs} ms`,
      );
    },
  });

  return {
    status,
    /** Counters, kept for callers that only count (the bench). */
    stats,
    async run(): Promise<void> {
      await supervisor.start();
    },
    /** Stops fetching, waits for the current batch, commits resolved offsets, leaves the group. */
    async stop(): Promise<void> {
      await supervisor.stop();
      status.setConsumer('stopped');
    },
  };
}
