/** GraphQL process: listens on GRAPHQL_PORT; SIGINT/SIGTERM finish in-flight queries, then close. */
import { createDynamoClient } from '../platform/aws';
import type { Config } from '../platform/config';
import { runMain, type Running } from '../platform/runMain';
import { warnIfOpen } from '../platform/http/access';
import { createKafka } from '../platform/kafka/client';
import { createLogger } from '../platform/logger';
import { buildGraphqlApp } from './app';
import { createEventReader } from '../store/hot/reader';
import { createCountsReader } from '../store/counts/reader';
import { GraphqlMetrics } from './metrics';
import { createProcessRegistry } from '../platform/metrics/registry';
import { createLiveFeed } from './liveFeed';
import { createStoredConsumer } from './storedConsumer';

export async function startGraphql(config: Config): Promise<Running> {
  const logger = createLogger(config, 'graphql');
  const dynamo = createDynamoClient(config.aws);
  const metrics = new GraphqlMetrics({ registry: createProcessRegistry() });
  const feed = createLiveFeed({
    queueSize: config.graphql.subscriptionQueue,
    maxPerPrincipal: config.graphql.maxSubscriptionsPerKey,
    observer: metrics.liveObserver(),
  });
  metrics.watchSubscriptions(() => feed.count());
  const stored = createStoredConsumer({
    kafka: createKafka(config.kafka, logger, '-graphql'),
    topic: config.kafka.storedTopic,
    groupBase: config.kafka.consumerGroup,
    feed,
    logger,
    retentionDays: config.retention.hotDays,
  });
  const app = buildGraphqlApp({
    reader: createEventReader({
      dynamo,
      table: config.aws.table,
      shards: config.latestIndexShards,
      retentionDays: config.retention.hotDays,
    }),
    ...(config.counts.enabled ? { counts: createCountsReader({ dynamo, table: config.aws.countsTable, retentionDays: config.retention.hotDays }) } : {}),
    limits: config.graphql,
    shards: config.latestIndexShards,
    graphiql: config.graphql.graphiql,
    introspection: config.graphql.introspection,
    logger,
    access: {
      writeKeys: config.http.writeKeys,
      readKeys: config.http.readKeys,
      rateLimit: config.http.rateLimit.read,
      corsOrigins: config.http.graphqlCorsOrigins,
      trustedProxyHops: config.http.trustedProxyHops,
    },
    timeouts: config.http.timeouts,
    metrics,
    live: { feed, ready: () => stored.ready },
  });
  warnIfOpen(logger, config.environment, [{ kind: 'read', keys: config.http.readKeys, what: 'GraphQL (every stored event) and GET /metrics' }]);
  app.addHook('onClose', async () => {
    await stored.stop().catch((err: unknown) => logger.warn({ err }, 'stopping the stored-topic consumer failed'));
    dynamo.destroy();
  });

  const url = await app.listen({ port: config.http.graphqlPort, host: config.http.host });
  // Queries work without Kafka; live subscriptions start once the consumer reads (retried).
  void stored.start();
  logger.info({ url: `${url}/graphql`, graphiql: `${url}/graphiql` }, 'graphql listening');
  return {
    async stop(signal) {
      logger.info({ signal }, 'graphql stopping');
      await app.close(); // in-flight queries finish first
    },
  };
}

if (require.main === module) void runMain('graphql', startGraphql);
