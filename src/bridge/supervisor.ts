/**
 * Keeps a kafkajs consumer consuming. kafkajs restarts a crashed consumer only when the error
 * was retriable; after any other error (a broker refusing a request for good, an ACL denial, a
 * bug) it emits CRASH with restart=false, disconnects, and the process would stay alive
 * consuming nothing. Here that crash is followed by a restart with backoff (1 s doubling to 30 s),
 * and the consumer's state feeds /ready and the metrics.
 */
import type { Consumer, ConsumerRunConfig } from 'kafkajs';
import type { Logger } from 'pino';
import type { BridgeStatus } from './status';

const MAX_RESTART_DELAY_MS = 30_000;

export function superviseConsumer(opts: { consumer: Consumer; runConfig: ConsumerRunConfig; status: BridgeStatus; logger: Logger; restartDelayMs?: number }) {
  const { consumer, runConfig, status, logger } = opts;
  const initialDelay = opts.restartDelayMs ?? 1_000;
  let delay = initialDelay;
  let stopping = false;
  let restartTimer: NodeJS.Timeout | undefined;

  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    if (status.consumerState() === 'crashed') logger.info({ crashes: status.stats.consumerCrashes }, 'consumer rejoined the group after a crash');
    status.stats.groupJoins++;
    status.keepLagOf(payload.memberAssignment);
    status.setConsumer('running');
    delay = initialDelay;
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    status.setConsumer('crashed', payload.error);
    logger.error(
      { err: { name: payload.error.name, message: payload.error.message, stack: payload.error.stack }, kafkajsRestarts: payload.restart },
      payload.restart ? 'consumer crashed; kafkajs restarts it' : `consumer crashed; restarting it in ${delay} ms`,
    );
    if (!payload.restart) scheduleRestart();
  });

  function scheduleRestart(): void {
    if (stopping) return;
    clearTimeout(restartTimer);
    restartTimer = setTimeout(() => {
      void (async () => {
        if (stopping) return;
        try {
          // kafkajs disconnected the consumer when it crashed; the subscription is kept.
          await consumer.connect();
          await consumer.run(runConfig);
        } catch (err) {
          // run() reports a failed join as another CRASH; connect() failing lands here.
          logger.error({ err: (err as Error).message, retryInMs: delay }, 'consumer restart failed; trying again');
          scheduleRestart();
        }
      })();
    }, delay);
    delay = Math.min(delay * 2, MAX_RESTART_DELAY_MS);
  }

  return {
    async run(): Promise<void> {
      await consumer.run(runConfig);
    },
    async stop(): Promise<void> {
      stopping = true;
      clearTimeout(restartTimer);
      await consumer.disconnect();
      status.setConsumer('stopped');
    },
  };
}
