/**
 * Bridge process: one member of the `event-processors` consumer group. Run several (npm start
 * runs two); Kafka spreads the raw topic's partitions over them. GET /health, /ready and
 * /metrics on BRIDGE_HTTP_PORT.
 */
import type { Client } from '@temporalio/client';
import type { Config } from '../platform/config';
import { runMain, type Running } from '../platform/runMain';
import { CONSUMER_SESSION, createKafka, createProducer } from '../platform/kafka/client';
import { createLogger } from '../platform/logger';
import { createProcessRegistry } from '../platform/metrics/registry';
import { createLazyTemporalClient } from '../platform/temporal/connection';
import { createBridge } from './consumer';
import { startHealthServer } from './health';
import { createStartProcessEvent } from './startProcessEvent';
import { BridgeStatus } from './status';

export interface BridgeProcessOptions {
  /**
   * Start workflows through this client instead of a lazy connection of the bridge's own: a
   * processor (workers/processor.ts) passes one on its worker's NativeConnection, which it closes
   * itself, and asks for eager starts.
   */
  temporal?: { client: Client; requestEagerStart: boolean };
}

/**
 * The bridge without signal handling: `run()` joins the group and consumes; `stop()` finishes the
 * window, commits and closes its clients.
 */
export async function createBridgeProcess(
  config: Config,
  opts: BridgeProcessOptions = {},
): Promise<{ run(): Promise<void>; stop(signal?: string): Promise<void> }> {
  const logger = createLogger(config, 'bridge');
  // The process's registry: a processor's bridge serves its process's Node metrics too.
  const status = new BridgeStatus({ registry: createProcessRegistry() });
  // First, so probes answer (503) while Kafka and Temporal are still coming up.
  const http = await startHealthServer({ host: config.http.host, port: config.bridge.httpPort, readKeys: config.http.readKeys, status });
  const kafka = createKafka(config.kafka, logger, '-bridge');
  // Lazy: the bridge starts (and keeps its partitions) while Temporal is still coming up; starts
  // fail and are retried until it answers.
  const own = opts.temporal ? undefined : createLazyTemporalClient(config.temporal);
  const client = opts.temporal?.client ?? own!.client;
  const dlqProducer = createProducer(kafka);
  const bridge = createBridge({
    consumer: kafka.consumer({ groupId: config.kafka.consumerGroup, ...CONSUMER_SESSION }),
    dlqProducer,
    startProcessEvent: createStartProcessEvent(client, config.temporal, config.retries, {
      timeoutMs: config.bridge.startTimeoutMs,
      requestEagerStart: opts.temporal?.requestEagerStart ?? false,
    }),
    topic: config.kafka.topic,
    dlqTopic: config.kafka.dlqTopic,
    concurrency: config.bridge.startConcurrency,
    logger,
    status,
  });

  let stopped: Promise<void> | undefined;
  const stop = (signal?: string) =>
    (stopped ??= (async () => {
      logger.info({ signal, stats: status.stats }, 'bridge stopping');
      await bridge.stop();
      await dlqProducer.disconnect();
      await own?.connection.close();
      await http.close();
      logger.info('bridge stopped');
    })());

  const run = async () => {
    await bridge.run();
    logger.info(
      { group: config.kafka.consumerGroup, topic: config.kafka.topic, httpPort: http.port, health: `http://${config.http.host}:${http.port}/ready` },
      'bridge running',
    );
  };
  return { run, stop };
}

/** The bridge as its own process: consuming once started; SIGINT/SIGTERM finish the window and commit. */
export async function startBridge(config: Config): Promise<Running> {
  const bridge = await createBridgeProcess(config);
  await bridge.run();
  return { stop: (signal) => bridge.stop(signal) };
}

if (require.main === module) void runMain('bridge', startBridge);
