/**
 * Coalesces concurrent sends into one Kafka produce request. kafkajs has no `linger.ms`: without
 * this, every HTTP request would cost one broker round trip. Callers await their own records;
 * each flush is one `producer.send` with acks from all in-sync replicas.
 */
import type { Message, Producer } from 'kafkajs';

export class KafkaUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KafkaUnavailableError';
  }
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
  onFlush?: (records: number, ms: number, error?: unknown) => void;
}

interface Pending {
  messages: Message[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

export interface BatchingProducer {
  /** Resolves once Kafka acknowledged every message (acks=all). */
  send(messages: Message[]): Promise<void>;
  /** Sends whatever is waiting and waits for every in-flight send. */
  flush(): Promise<void>;
}

const sizeOf = (m: Message): number =>
  (typeof m.value === 'string' ? Buffer.byteLength(m.value) : (m.value?.length ?? 0)) +
  (typeof m.key === 'string' ? Buffer.byteLength(m.key) : (m.key?.length ?? 0));

export function createBatchingProducer(producer: Pick<Producer, 'send'>, opts: BatchingProducerOptions): BatchingProducer {
  let queue: Pending[] = [];
  let queuedRecords = 0;
  let queuedBytes = 0;
  let timer: NodeJS.Timeout | undefined;
  const inFlight = new Set<Promise<unknown>>();

  function schedule(): void {
    if (queuedRecords >= opts.maxBatchRecords || queuedBytes >= opts.maxBatchBytes) {
      flushNow();
    } else if (!timer) {
      timer = setTimeout(flushNow, opts.lingerMs);
    }
  }

  /** One produce request, failing with KafkaUnavailableError when not acknowledged in time. */
  function produce(messages: Message[]): Promise<void> {
    const started = Date.now();
    let timeout: NodeJS.Timeout | undefined;
    const sent = Promise.race([
      producer.send({ topic: opts.topic, acks: -1, timeout: opts.timeoutMs, messages }),
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

    // Cut the waiting records into requests within both caps; a caller may span several.
    const chunks: Message[][] = [[]];
    const chunkBytes = [0];
    const chunksOf = batch.map((pending) => {
      const mine = new Set<number>();
      for (const message of pending.messages) {
        const size = sizeOf(message);
        const last = chunks.length - 1;
        if (chunks[last]!.length > 0 && (chunks[last]!.length >= opts.maxBatchRecords || chunkBytes[last]! + size > opts.maxBatchBytes)) {
          chunks.push([]);
          chunkBytes.push(0);
        }
        chunks[chunks.length - 1]!.push(message);
        chunkBytes[chunkBytes.length - 1]! += size;
        mine.add(chunks.length - 1);
      }
      return mine;
    });
    const sends = chunks.map(produce);
    batch.forEach((pending, i) => {
      Promise.all([...chunksOf[i]!].map((c) => sends[c]!)).then(() => pending.resolve(), pending.reject);
    });
  }

  return {
    send(messages) {
      return new Promise<void>((resolve, reject) => {
        queue.push({ messages, resolve, reject });
        queuedRecords += messages.length;
        queuedBytes += messages.reduce((n, m) => n + sizeOf(m), 0);
        schedule();
      });
    },
    async flush() {
      flushNow();
      await Promise.allSettled([...inFlight]);
    },
  };
}
