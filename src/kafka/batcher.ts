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
  maxBatchRecords: number;
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

export function createBatchingProducer(producer: Pick<Producer, 'send'>, opts: BatchingProducerOptions): BatchingProducer {
  let queue: Pending[] = [];
  let queued = 0;
  let timer: NodeJS.Timeout | undefined;
  const inFlight = new Set<Promise<void>>();

  function schedule(): void {
    if (queued >= opts.maxBatchRecords) {
      flushNow();
    } else if (!timer) {
      timer = setTimeout(flushNow, opts.lingerMs);
    }
  }

  function flushNow(): void {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (queue.length === 0) return;
    const batch = queue;
    queue = [];
    queued = 0;
    const started = Date.now();
    const records = batch.reduce((n, p) => n + p.messages.length, 0);
    let timeout: NodeJS.Timeout | undefined;
    const sent = Promise.race([
      producer.send({ topic: opts.topic, acks: -1, timeout: opts.timeoutMs, messages: batch.flatMap((p) => p.messages) }),
      new Promise<never>((_, reject) => {
        timeout = setTimeout(() => reject(new KafkaUnavailableError(`Kafka did not acknowledge within ${opts.timeoutMs} ms`)), opts.timeoutMs);
      }),
    ]).then(
      () => {
        opts.onFlush?.(records, Date.now() - started);
        for (const p of batch) p.resolve();
      },
      (err: unknown) => {
        opts.onFlush?.(records, Date.now() - started, err);
        const failure = err instanceof KafkaUnavailableError ? err : new KafkaUnavailableError(`Kafka send failed: ${(err as Error).message}`, { cause: err });
        for (const p of batch) p.reject(failure);
      },
    );
    const tracked = sent.finally(() => {
      clearTimeout(timeout);
      inFlight.delete(tracked);
    });
    inFlight.add(tracked);
  }

  return {
    send(messages) {
      return new Promise<void>((resolve, reject) => {
        queue.push({ messages, resolve, reject });
        queued += messages.length;
        schedule();
      });
    },
    async flush() {
      flushNow();
      await Promise.allSettled([...inFlight]);
    },
  };
}
