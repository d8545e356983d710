/**
 * Worker process: runs processEvent and its activities on the `events` task queue. Start as many
 * as you like; they share the queue. SIGINT/SIGTERM: stop polling, let running activities finish,
 * then close Kafka, AWS and Temporal clients. A processor (workers/processor.ts) runs the same
 * worker beside a bridge through `createWorker`.
 */
import { DefaultLogger, Runtime, Worker, type LogLevel, type NativeConnection } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createActivities } from '../activities';
import { createDynamoClient, createS3Client } from '../src/platform/aws';
import { sweepExpired } from '../src/store/hot/retention';
import { createCountsConsumer } from '../src/store/counts/consumer';
import { createEventCounter } from '../src/store/counts/counter';
import type { Config } from '../src/platform/config';
import { runMain, type Running } from '../src/platform/runMain';
import { createKafka, createProducer } from '../src/platform/kafka/client';
import { createLogger } from '../src/platform/logger';
import { exactDataConverter } from '../src/platform/temporal/dataConverter';
import { bindAddress, workerTelemetry } from './sdkMetrics';
import { connectNativeConnection } from '../src/platform/temporal/nativeConnection';
import { describeWorkflowCode, workflowCode } from './workflowCode';

/**
 * An SDK log line about a run carries its workflow id, which is the event_id for every
 * processEvent run: named so, a line is found with the same `event_id` query as the producer's
 * and the bridge's.
 */
export function sdkLogFields(meta: Record<string, unknown> | undefined): Record<string, unknown> {
  const workflowId = meta?.workflowId;
  return typeof workflowId === 'string' ? { event_id: workflowId, temporal: meta } : { temporal: meta };
}

/**
 * SDK logs go through pino. Its INFO includes the workflow bundler's build report, so it speaks
 * at WARN unless LOG_LEVEL asks for debug. `shutdownSignals` become worker.shutdown() for every
 * worker of the process; a processor passes none and orders its own shutdown. The SDK's
 * Prometheus exporter listens on WORKER_METRICS_PORT (workers/sdkMetrics.ts). Once per
 * process, before any connection: Core reads these options when it starts.
 */
export function installRuntime(config: Config, logger: Logger, shutdownSignals: NodeJS.Signals[]): void {
  const sdkLevel: LogLevel = config.logLevel === 'debug' || config.logLevel === 'trace' ? 'DEBUG' : 'WARN';
  const telemetryOptions = workerTelemetry(config.http.host, config.worker.metricsPort);
  try {
    Runtime.install({
      shutdownSignals,
      ...(telemetryOptions ? { telemetryOptions } : {}),
      logger: new DefaultLogger(sdkLevel, (entry) => {
        const method = entry.level === 'ERROR' ? 'error' : entry.level === 'WARN' ? 'warn' : 'debug';
        logger[method](sdkLogFields(entry.meta), entry.message);
      }),
    });
  } catch (err) {
    // Core binds the exporter's port right here; a port in use fails the start, naming it.
    if (telemetryOptions) throw new Error(`WORKER_METRICS_PORT=${config.worker.metricsPort}: ${(err as Error).message}`, { cause: err });
    throw err;
  }
  if (telemetryOptions)
    logger.info({ metrics: `http://${bindAddress(config.http.host, config.worker.metricsPort)}/metrics` }, 'Temporal SDK metrics exporter listening');
}

/**
 * With HOT_RETENTION_DAYS set, every HOT_SWEEP_INTERVAL_MS (and once shortly after start) expired
 * items are deleted through the time index (src/store/hot/retention.ts). A failed sweep is logged and
 * tried again at the next interval: it never touches the event path.
 */
function startSweeper(config: Config, dynamo: ReturnType<typeof createDynamoClient>, logger: Logger): { stop(): void } {
  const { hotDays, sweepIntervalMs } = config.retention;
  if (hotDays === 0 || sweepIntervalMs === 0) return { stop: () => undefined };
  let running = false;
  const sweep = async () => {
    if (running) return;
    running = true;
    try {
      const deleted = await sweepExpired({ dynamo, table: config.aws.table, shards: config.latestIndexShards, retentionDays: hotDays });
      if (deleted > 0) logger.info({ deleted, retentionDays: hotDays }, 'expired items deleted');
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'retention sweep failed; trying again at the next interval');
    } finally {
      running = false;
    }
  };
  const first = setTimeout(() => void sweep(), Math.min(sweepIntervalMs, 10_000));
  const every = setInterval(() => void sweep(), sweepIntervalMs);
  first.unref();
  every.unref();
  return {
    stop() {
      clearTimeout(first);
      clearInterval(every);
    },
  };
}

/** With EVENT_COUNTS on, the counter (src/store/counts/) beside the worker: it reads what storeHot announces. */
function startCounting(config: Config, dynamo: ReturnType<typeof createDynamoClient>, logger: Logger): { stop(): Promise<void> } {
  if (!config.counts.enabled) return { stop: async () => undefined };
  const consumer = createCountsConsumer({
    kafka: createKafka(config.kafka, logger, '-counts'),
    topic: config.kafka.storedTopic,
    consumerGroup: config.kafka.consumerGroup,
    counter: createEventCounter({ dynamo, table: config.aws.countsTable, retentionDays: config.retention.hotDays }),
    logger,
  });
  void consumer.start();
  return consumer;
}

/** The worker on a given connection, with its own AWS and Kafka clients; `close()` after run() returned. */
export async function createWorker(config: Config, connection: NativeConnection, logger: Logger): Promise<{ worker: Worker; close(): Promise<void> }> {
  const dynamo = createDynamoClient(config.aws);
  const s3 = createS3Client(config.aws);
  const producer = createProducer(createKafka(config.kafka, logger, '-worker'));
  const sweeper = startSweeper(config, dynamo, logger);
  const counting = startCounting(config, dynamo, logger);
  const close = async () => {
    sweeper.stop();
    await counting.stop().catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'stopping the counter failed'));
    await producer.disconnect();
    dynamo.destroy();
    s3.destroy();
  };
  const code = workflowCode();
  logger.info({ workflowCode: describeWorkflowCode(code) }, 'workflow code');
  try {
    const worker = await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      ...code,
      // Payload numbers keep every digit in workflow inputs and activity arguments.
      dataConverter: exactDataConverter,
      activities: createActivities({
        dynamo,
        s3,
        producer,
        table: config.aws.table,
        bucket: config.aws.bucket,
        dlqTopic: config.kafka.dlqTopic,
        storedTopic: config.kafka.storedTopic,
        latestIndexShards: config.latestIndexShards,
        hotRetentionDays: config.retention.hotDays,
      }),
      maxConcurrentWorkflowTaskExecutions: config.worker.workflowTaskSlots,
      shutdownGraceTime: '20s',
    });
    return { worker, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * The worker as its own process. SIGINT/SIGTERM: stop polling, let running activities finish
 * (shutdownGraceTime), then close Kafka, AWS and Temporal clients; `done` settles after that.
 */
export async function startWorker(config: Config): Promise<Running> {
  const logger = createLogger(config, 'worker');
  // Signals go through runMain, which calls stop() below.
  installRuntime(config, logger, []);
  const connection = await connectNativeConnection(config.temporal);
  let created: Awaited<ReturnType<typeof createWorker>>;
  try {
    created = await createWorker(config, connection, logger);
  } catch (err) {
    await connection.close();
    throw err;
  }
  const { worker, close } = created;
  const done = (async () => {
    try {
      logger.info({ taskQueue: config.temporal.taskQueue, namespace: config.temporal.namespace }, 'worker running');
      await worker.run();
      logger.info('worker stopped');
    } finally {
      await close();
      await connection.close();
    }
  })();
  return {
    done,
    async stop(signal) {
      logger.info({ signal }, 'worker stopping');
      if (worker.getState() === 'RUNNING') worker.shutdown();
    },
  };
}

if (require.main === module) void runMain('worker', startWorker);
