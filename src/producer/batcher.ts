/**
 * Coalesces concurrent sends into one Kafka produce request. kafkajs has no `linger.ms`: without
 * this, every HTTP request would cost one broker round trip. Callers await their own records;
 * each flush is one `producer.send` with acks from all in-sync replicas.
 *
 * A caller's records stay in one produce request unless they alone exceed a request's caps, so
 * a request is normally written whole or not at all. When they do span several, a failure
 * says per message what Kafka acknowledged (`KafkaUnavailableError.acknowledged`).
 *
 * Admission control: records count as in flight from `send()` until kafkajs settles the produce
 * request that carries them, which can be long after our own timeout answered the caller, since
 * kafkajs keeps retrying and holds the buffers meanwhile. Beyond `maxInflightBytes` or
 * `maxInflightRecords`, `send()` fails at once with ProducerOverloadedError, so memory stays
 * bounded while Kafka is slow or gone.
 */
import type { Message, Producer } from 'kafkajs';

export class KafkaUnavailableError extends Error {
  override name = 'KafkaUnavailableError';
  /**
   * For a failed `send()`: per message, in order, whether Kafka acknowledged it. Absent: none
   * was. A message not acknowledged may still be written later (kafkajs retries a send that
   * timed out), so a client retrying it must keep its event_id.
   */
  acknowledged?: readonly boolean[];

  constructor(message: string, options?: { cause?: unknown; acknowledged?: readonly boolean[] }) {
    super(message, options);
    if (options?.acknowledged) this.acknowledged = options.acknowledged;
  }
}

/** Refused at once by admission control: nothing of the send was queued or written. */
export class ProducerOverloadedError extends KafkaUnavailableError {
  override name = 'ProducerOverloadedError';
}

export interface BatchingProducerOptions {
  topic: string;
  /** How long the first record of a batch waits for company. 0 = next tick. */
  lingerMs: number;
  /** Records per produce request, at most. */
  maxBatchRecords: number;
  /**
   * Bytes (keys + values) per produce request, at most. Keeps each request under the broker's
   * message.max.bytes (1 MiB by default) even when every record is near the event size limit.
   */
  maxBatchBytes: number;
  /** A send not acknowledged in this time fails with KafkaUnavailableError. */
  timeoutMs: number;
  /** Bytes (as counted for maxBatchBytes) accepted and not yet settled by kafkajs. Default: no cap. */
  maxInflightBytes?: number;
  /** Records accepted and not yet settled by kafkajs. Default: no cap. */
  maxInflightRecords?: number;
  onFlush?: (records: number, ms: number, error?: unknown) => void;
}

interface Pending {
  messages: Message[];
  bytes: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export interface BatchingProducer {
  /**
   * Resolves once Kafka acknowledged every message (acks=all). Rejects with
   * ProducerOverloadedError when over the in-flight caps, else with KafkaUnavailableError.
   */
  send(messages: Message[]): Promise<void>;
  /** Sends whatever is waiting and waits for every in-flight send. */
  flush(): Promise<void>;
  /** What admission control counts now: queued, or in a produce request kafkajs has not settled. */
  inFlight(): { records: number; bytes: number };
  /** Whether a send of about this many bytes would be admitted now (checked before reading it). */
  hasRoomFor(bytes: number): boolean;
}

/**
 * Framing a record adds inside a Kafka record batch beyond its key and value: length, attributes,
 * timestamp and offset deltas and key/value lengths as varints (up to ~30 bytes), and the
 * `schema-version` header (~20 bytes). Rounded up, so a request counted under maxBatchBytes stays
 * under the broker's message.max.bytes.
 */
export const RECORD_OVERHEAD_BYTES = 70;

const sizeOf = (m: Message): number =>
  RECORD_OVERHEAD_BYTES +
  (typeof m.value === 'string' ? Buffer.byteLength(m.value) : (m.value?.length ?? 0)) +
  (typeof m.key === 'string' ? Buffer.byteLength(m.key) : (m.key?.length ?? 0));

export function createBatchingProducer(producer: Pick<Producer, 'send'>, opts: BatchingProducerOptions): BatchingProducer {
  let queue: Pending[] = [];
  let queuedRecords = 0;
  let queuedBytes = 0;
  let timer: NodeJS.Timeout | undefined;
  const inFlight = new Set<Promise<unknown>>();
  // Admission control's count: from send() until kafkajs settles the request (not our timeout).
  let admittedRecords = 0;
  let admittedBytes = 0;
  const maxInflightRecords = opts.maxInflightRecords ?? Infinity;
  const maxInflightBytes = opts.maxInflightBytes ?? Infinity;

  function schedule(): void {
    if (queuedRecords >= opts.maxBatchRecords || queuedBytes >= opts.maxBatchBytes) {
      flushNow();
    } else if (!timer) {
      timer = setTimeout(flushNow, opts.lingerMs);
    }
  }

  /** One produce request, failing with KafkaUnavailableError when not acknowledged in time. */
  function produce(messages: Message[], bytes: number): Promise<void> {
    const started = Date.now();
    let timeout: NodeJS.Timeout | undefined;
    const kafkaSend = producer.send({ topic: opts.topic, acks: -1, timeout: opts.timeoutMs, messages });
    // kafkajs holds these records until its own send settles, whatever we answered meanwhile.
    void kafkaSend.then(release, release);
    function release(): void {
      admittedRecords -= messages.length;
      admittedBytes -= bytes;
    }
    const sent = Promise.race([
      kafkaSend,
      new Promise<never>((_, reject) => {
        timeout = setTimeout(() => reject(new KafkaUnavailableError(`Kafka did not acknowledge within ${opts.timeoutMs} ms`)), opts.timeoutMs);
      }),
    ]).then(
      () => opts.onFlush?.(messages.length, Date.now() - started),
      (err: unknown) => {
        opts.onFlush?.(messages.length, Date.now() - started, err);
        throw err instanceof KafkaUnavailableError ? err : new KafkaUnavailableError(`Kafka send failed: ${(err as Error).message}`, { cause: err });
      },
    );
    const tracked = sent.finally(() => {
      clearTimeout(timeout);
      inFlight.delete(tracked);
    });
    inFlight.add(tracked);
    tracked.catch(() => undefined); // callers get the rejection; this copy only tracks completion
    return tracked;
  }

  function flushNow(): void {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (queue.length === 0) return;
    const batch = queue;
    queue = [];
    queuedRecords = 0;
    queuedBytes = 0;

    // Cut the waiting records into requests within both caps. A caller that does not fit in
    // the current request starts a new one, so its records are written or refused together;
    // only a caller whose records alone exceed a cap spans several requests.
    const chunks: Message[][] = [[]];
    const chunkBytes = [0];
    const startChunk = () => {
      chunks.push([]);
      chunkBytes.push(0);
    };
    const chunkOfMessage = batch.map((pending) => {
      const last = chunks.length - 1;
      const fits = chunks[last]!.length + pending.messages.length <= opts.maxBatchRecords && chunkBytes[last]! + pending.bytes <= opts.maxBatchBytes;
      if (chunks[last]!.length > 0 && !fits) startChunk();
      return pending.messages.map((message) => {
        const size = sizeOf(message);
        const current = chunks.length - 1;
        if (chunks[current]!.length > 0 && (chunks[current]!.length >= opts.maxBatchRecords || chunkBytes[current]! + size > opts.maxBatchBytes)) startChunk();
        chunks[chunks.length - 1]!.push(message);
        chunkBytes[chunkBytes.length - 1]! += size;
        return chunks.length - 1;
      });
    });
    const sends = chunks.map((messages, i) => produce(messages, chunkBytes[i]!));
    batch.forEach((pending, i) => {
      const mine = chunkOfMessage[i]!;
      // Every request carrying this caller's records settles (each within timeoutMs) before it
      // gets its answer, so the answer says what was written.
      const outcomes = [...new Set(mine)].map((c) =>
        sends[c]!.then(
          () => [c, undefined] as const,
          (err: unknown) => [c, err as KafkaUnavailableError] as const,
        ),
      );
      const settled = Promise.all(outcomes).then((results) => {
        const failures = new Map(results.filter(([, err]) => err !== undefined));
        if (failures.size === 0) return pending.resolve();
        const first = [...failures.values()][0]!;
        pending.reject(new KafkaUnavailableError(first.message, { cause: first.cause, acknowledged: mine.map((c) => !failures.has(c)) }));
      });
      // flush() also waits until every caller has its answer.
      inFlight.add(settled);
      void settled.finally(() => inFlight.delete(settled));
    });
  }

  return {
    send(messages) {
      const bytes = messages.reduce((n, m) => n + sizeOf(m), 0);
      // Nothing in flight: always admitted, so a request larger than a cap is not refused forever.
      // This overshoots a cap by one request at most, and the routes bound a request: at most
      // MAX_BATCH_EVENTS records, and bytes checked on the records as produced (for /v1/batch
      // after the batch's context is merged into each message), about 2.5 MiB at the defaults.
      if (admittedRecords > 0 && (admittedRecords + messages.length > maxInflightRecords || admittedBytes + bytes > maxInflightBytes)) {
        return Promise.reject(
          new ProducerOverloadedError(
            `Producer at capacity: ${admittedRecords} records (${admittedBytes} bytes) waiting for Kafka; limits ${maxInflightRecords} records, ${maxInflightBytes} bytes`,
          ),
        );
      }
      admittedRecords += messages.length;
      admittedBytes += bytes;
      return new Promise<void>((resolve, reject) => {
        queue.push({ messages, bytes, resolve, reject });
        queuedRecords += messages.length;
        queuedBytes += bytes;
        schedule();
      });
    },
    async flush() {
      flushNow();
      await Promise.allSettled([...inFlight]);
    },
    inFlight: () => ({ records: admittedRecords, bytes: admittedBytes }),
    hasRoomFor: (bytes) => admittedRecords === 0 || (admittedRecords < maxInflightRecords && admittedBytes + bytes <= maxInflightBytes),
  };
}
