/**
 * Bridge process: one member of the `event-processors` consumer group. Run several (npm start
 * runs two); Kafka spreads the raw topic's partitions over them. GET /health, /ready and
 * /metrics on BRIDGE_HTTP_PORT.
 */
import { loadConfigOrExit } from '../config';
import { createKafka, createProducer } from '../kafka/client';
import { createLogger } from '../logger';
import { createLazyTemporalClient } from '../temporal/connection';
import { createBridge } from './consumer';
import { startHealthServer } from './health';
import { createStartProcessEvent } from './startProcessEvent';
import { BridgeStatus } from './status';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config, 'bridge');
  const status = new BridgeStatus();
  // First, so probes answer (503) while Kafka and Temporal are still coming up.
  const http = await startHealthServer({ host: config.http.host, port: config.bridge.httpPort, apiKeys: config.http.apiKeys, status });
  const kafka = createKafka(config.kafka, logger, '-bridge');
  // Lazy: the bridge starts (and keeps its partitions) while Temporal is still coming up; starts
  // fail and are retried until it answers.
  const { client, connection } = createLazyTemporalClient(config.temporal);
  const dlqProducer = createProducer(kafka);
  const bridge = createBridge({
    consumer: kafka.consumer({ groupId: config.kafka.consumerGroup, sessionTimeout: 30_000, heartbeatInterval: 3_000 }),
    dlqProducer,
    startProcessEvent: createStartProcessEvent(client, config.temporal, config.retries, { timeoutMs: config.bridge.startTimeoutMs }),
    topic: config.kafka.topic,
    dlqTopic: config.kafka.dlqTopic,
    concurrency: config.bridge.startConcurrency,
    logger,
    status,
  });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, stats: status.stats }, 'bridge stopping');
    await bridge.stop();
    await dlqProducer.disconnect();
    await connection.close();
    await http.close();
    logger.info('bridge stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  await bridge.run();
  logger.info(
    { group: config.kafka.consumerGroup, topic: config.kafka.topic, httpPort: http.port, health: `http://${config.http.host}:${http.port}/ready` },
    'bridge running',
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`bridge failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
