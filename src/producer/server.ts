/**
 * Producer process: the HTTP API on PRODUCER_PORT writing to Kafka. SIGINT/SIGTERM: stop
 * accepting connections, let in-flight requests finish (their Kafka sends included), flush, then
 * disconnect.
 */
import { createServer, type Server } from 'node:http';
import { v7 as uuidv7 } from 'uuid';
import type { Config } from '../platform/config';
import { runMain, type Running } from '../platform/runMain';
import { createBatchingProducer } from './batcher';
import { createKafka, createProducer } from '../platform/kafka/client';
import { warnIfOpen } from '../platform/http/access';
import { applyServerTimeouts } from '../platform/http/hardening';
import { createLogger } from '../platform/logger';
import { createProcessRegistry } from '../platform/metrics/registry';
import { createProducerApp } from './app';
import { ProducerMetrics } from './metrics';

const READY_TIMEOUT_MS = 2_000;

export async function startProducer(config: Config): Promise<Running> {
  const logger = createLogger(config, 'producer');
  const kafka = createKafka(config.kafka, logger, '-producer');
  const producer = createProducer(kafka);
  const admin = kafka.admin();
  const metrics = new ProducerMetrics({ registry: createProcessRegistry() });
  const batcher = createBatchingProducer(producer, {
    topic: config.kafka.topic,
    lingerMs: config.kafka.lingerMs,
    maxBatchRecords: config.kafka.maxBatchRecords,
    maxBatchBytes: config.kafka.maxBatchBytes,
    timeoutMs: config.kafka.produceTimeoutMs,
    maxInflightBytes: config.kafka.maxInflightBytes,
    maxInflightRecords: config.kafka.maxInflightRecords,
    onFlush: (records, ms, error) => metrics.recordFlush(records, ms, error !== undefined),
  });
  metrics.watchInFlight(() => batcher.inFlight());
  // The API is up (and /ready says 503) while Kafka is not; the first send connects.
  producer.connect().catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'Kafka not reachable yet'));

  const app = createProducerApp({
    publish: (messages) => batcher.send(messages),
    hasRoomFor: (bytes) => batcher.hasRoomFor(bytes),
    // Bounded: a load balancer's probe must get an answer even while Kafka hangs.
    isReady: () =>
      Promise.race([
        (async () => {
          await admin.connect();
          const topics = await admin.fetchTopicMetadata({ topics: [config.kafka.topic] });
          return topics.topics.length === 1;
        })(),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), READY_TIMEOUT_MS).unref()),
      ]),
    limits: config.limits,
    hotRetentionDays: config.retention.hotDays,
    newEventId: uuidv7,
    metrics,
    logger,
    access: {
      writeKeys: config.http.writeKeys,
      readKeys: config.http.readKeys,
      rateLimit: config.http.rateLimit.write,
      corsOrigins: config.http.corsOrigins,
      trustedProxyHops: config.http.trustedProxyHops,
    },
  });
  warnIfOpen(logger, config.environment, [
    { kind: 'write', keys: config.http.writeKeys, what: 'posting events' },
    { kind: 'read', keys: config.http.readKeys, what: 'GET /metrics' },
  ]);

  const server: Server = applyServerTimeouts(createServer(app), config.http.timeouts);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.http.producerPort, config.http.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  logger.info({ url: `http://${config.http.host}:${config.http.producerPort}`, topic: config.kafka.topic }, 'producer listening');

  return {
    async stop(signal) {
      logger.info({ signal }, 'producer draining');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // A keep-alive connection whose request finishes during the drain would stay open until the
      // keep-alive timeout, holding server.close() (so the flush and the exit) that long: each one
      // is closed as soon as it is idle. Connections with a request in flight are left alone.
      server.closeIdleConnections();
      const idleCloser = setInterval(() => server.closeIdleConnections(), 100);
      await closed;
      clearInterval(idleCloser);
      await batcher.flush();
      await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
      logger.info('producer stopped');
    },
  };
}

if (require.main === module) void runMain('producer', startProducer);
