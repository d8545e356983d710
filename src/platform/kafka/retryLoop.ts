/**
 * Keeps a kafkajs consumer consuming: the one start and restart of every long-running consumer of
 * the platform (the bridge, the counter, GraphQL's live feed).
 *
 *  - start() runs `attempt` (connect, subscribe, run) until it resolves or stop() is called,
 *    waiting 1 s, doubling to 30 s, after each failure; with `failFast` the first failure is
 *    thrown instead, so a process that cannot start at all says why and exits.
 *  - kafkajs restarts a crashed consumer itself only after retriable errors. After any other
 *    (CRASH with restart=false: a broker refusing a request for good, an ACL denial, a handler
 *    throwing a non-retriable error) it disconnects and stays down, leaving the process alive
 *    and idle. Here such a crash, also one during a start, runs the same attempts again after the
 *    current wait. A consumer that stayed up longer than the longest wait starts over at 1 s.
 *  - stop() ends a wait at once and disconnects, so shutting down never waits out a backoff.
 */
import type { Consumer } from 'kafkajs';

const MAX_DELAY_MS = 30_000;

export interface ConsumerSupervisor {
  /** Resolves once an attempt succeeded (or stop() was called). */
  start(): Promise<void>;
  /** No more attempts; disconnects the consumer. */
  stop(): Promise<void>;
  readonly stopped: boolean;
}

export function superviseConsumer(opts: {
  consumer: Pick<Consumer, 'on' | 'events' | 'disconnect'>;
  /** One start: connect, subscribe, run. */
  attempt: () => Promise<void>;
  /** An attempt failed; the next one comes in `retryInMs`. */
  onFailure: (err: unknown, retryInMs: number) => void;
  /** The consumer crashed; `restartInMs` undefined: kafkajs restarts it itself. */
  onCrash: (error: Error, restartInMs: number | undefined) => void;
  /** The first wait (default 1 s), doubled up to 30 s. */
  initialDelayMs?: number;
  /** Throw the first start's failure instead of retrying it. */
  failFast?: boolean;
}): ConsumerSupervisor {
  const { consumer } = opts;
  const initialDelay = opts.initialDelayMs ?? 1_000;
  let delay = initialDelay;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;
  let upSince = 0;
  let attempting: Promise<void> | undefined;
  let crashedDuringAttempt = false;

  const wait = async (): Promise<void> => {
    const ms = delay;
    delay = Math.min(delay * 2, MAX_DELAY_MS);
    await new Promise<void>((resolve) => {
      wake = resolve;
      timer = setTimeout(resolve, ms);
    });
  };

  async function keepTrying(firstFailureThrows: boolean): Promise<void> {
    for (let first = true; !stopped; first = false) {
      crashedDuringAttempt = false;
      try {
        await opts.attempt();
        if (stopped) break;
        // kafkajs reports a failed group join as a CRASH and still resolves run(): not started.
        if (!crashedDuringAttempt) {
          upSince = Date.now();
          return;
        }
      } catch (err) {
        if (stopped) break;
        if (first && firstFailureThrows) throw err;
        opts.onFailure(err, delay);
        await consumer.disconnect().catch(() => undefined);
      }
      await wait();
    }
    // stop() came during an attempt, which may have connected after stop() disconnected.
    await consumer.disconnect().catch(() => undefined);
  }

  const restart = (): void => {
    attempting ??= (async () => {
      await wait();
      await keepTrying(false);
    })().finally(() => (attempting = undefined));
  };

  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (stopped) return;
    if (payload.restart) {
      opts.onCrash(payload.error, undefined);
      return;
    }
    if (upSince > 0 && Date.now() - upSince > MAX_DELAY_MS) delay = initialDelay;
    upSince = 0;
    opts.onCrash(payload.error, delay);
    // A crash while an attempt is under way makes that attempt go round again.
    if (attempting) crashedDuringAttempt = true;
    else restart();
  });

  return {
    get stopped() {
      return stopped;
    },
    async start() {
      attempting = keepTrying(opts.failFast ?? false).finally(() => (attempting = undefined));
      await attempting;
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      wake?.();
      await consumer.disconnect();
    },
  };
}
