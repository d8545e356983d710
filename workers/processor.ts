/**
 * Processor process: a bridge and a worker in one process, on one NativeConnection to Temporal
 * (what `npm start` runs, two of them). The bridge starts each workflow asking for eager start
 * (PROCESSOR_EAGER_START), so the server hands the run's first workflow task back in the start
 * answer to this process's worker: with the workflow's fast path the whole event is one start
 * call and one workflow task completion, no task-queue polling in between. Separate bridge
 * (src/bridge/main.ts) and worker (workers/main.ts) processes remain for scaling each alone.
 *
 * SIGINT/SIGTERM: the bridge stops first (finishes its window of starts, commits), then the
 * worker drains what it holds, then the connection closes.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createBridgeProcess } from '../src/bridge/main';
import type { Config } from '../src/platform/config';
import { runMain, type Running } from '../src/platform/runMain';
import { createLogger } from '../src/platform/logger';
import { connectNativeConnection } from '../src/platform/temporal/nativeConnection';
import { createWorker, installRuntime } from './main';

/**
 * The worker needs a live connection to be created, unlike the bridge's lazy client: wait for
 * Temporal with capped backoff instead of exiting, so a processor started before the server
 * comes up joins once it answers.
 */
async function connectWithRetry(config: Config, logger: Logger, stopping: () => boolean): Promise<NativeConnection | undefined> {
  for (let delayMs = 500; ; delayMs = Math.min(delayMs * 2, 10_000)) {
    try {
      return await connectNativeConnection(config.temporal);
    } catch (err) {
      if (stopping()) return undefined;
      logger.warn({ err: (err as Error).message, retryInMs: delayMs }, 'Temporal unreachable, retrying');
      await sleep(delayMs);
      if (stopping()) return undefined;
    }
  }
}

/**
 * Starts at once and does its work in `done`: waiting for Temporal can take as long as the server
 * is away, and a signal meanwhile must end the process, not wait behind the connection.
 */
export async function startProcessor(config: Config): Promise<Running> {
  const logger = createLogger(config, 'processor');
  // No SDK signal handling: the shutdown order below matters (bridge, then worker). The one
  // Runtime of the process, with the SDK's metrics exporter, before any connection is made.
  installRuntime(config, logger, []);
  let signalled: string | undefined;
  let onSignal: (signal: string) => void = (signal) => (signalled = signal);
  return {
    done: runProcessor(
      config,
      logger,
      () => signalled,
      (handler) => (onSignal = handler),
    ),
    stop: async (signal) => onSignal(signal),
  };
}

async function runProcessor(
  config: Config,
  logger: Logger,
  signalled: () => string | undefined,
  onSignal: (handler: (signal: string) => void) => void,
): Promise<void> {
  const connection = await connectWithRetry(config, logger, () => signalled() !== undefined);
  if (!connection) return;
  try {
    const { worker, close } = await createWorker(config, connection, logger);
    try {
      const client = new Client({ connection, namespace: config.temporal.namespace });
      const bridge = await createBridgeProcess(config, { temporal: { client, requestEagerStart: config.processor.eagerStart } });
      let stopped: Promise<void> | undefined;
      const stop = (signal: string) =>
        (stopped ??= (async () => {
          logger.info({ signal }, 'processor stopping');
          await bridge.stop(signal);
          // Every start the bridge made has been answered, so no eager task can arrive any more.
          if (worker.getState() === 'RUNNING') worker.shutdown();
        })());
      onSignal((signal) => void stop(signal));

      // The worker polls before the first start, so eager tasks find it.
      const workerDone = worker.run();
      logger.info({ taskQueue: config.temporal.taskQueue, namespace: config.temporal.namespace, eagerStart: config.processor.eagerStart }, 'worker running');
      try {
        const early = signalled();
        if (early) void stop(early);
        else await bridge.run();
      } catch (err) {
        await stop('bridge failed');
        await workerDone.catch(() => undefined);
        throw err;
      }
      // A worker that fails on its own (not from a signal) takes the bridge down with it, so
      // no process keeps starting workflows nobody here runs.
      await workerDone.catch(async (err: unknown) => {
        await stop('worker failed');
        throw err;
      });
      await stopped;
      logger.info('processor stopped');
    } finally {
      await close();
    }
  } finally {
    await connection.close();
  }
}

if (require.main === module) void runMain('processor', startProcessor);
