/** GraphQL process: listens on GRAPHQL_PORT; SIGINT/SIGTERM finish in-flight queries, then close. */
import { createDynamoClient } from '../aws/clients';
import { loadConfigOrExit } from '../config';
import { warnIfOpen } from '../http/access';
import { createLogger } from '../logger';
import { buildGraphqlApp } from './app';
import { createEventReader } from './eventReader';
import { GraphqlMetrics } from './metrics';
import { createProcessRegistry } from '../metrics/registry';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config, 'graphql');
  const dynamo = createDynamoClient(config.aws);
  const app = buildGraphqlApp({
    reader: createEventReader({
      dynamo,
      table: config.aws.table,
      shards: config.latestIndexShards,
    }),
    limits: config.graphql,
    shards: config.latestIndexShards,
    graphiql: config.graphql.graphiql,
    introspection: config.graphql.introspection,
    logger,
    access: { writeKeys: config.http.writeKeys, readKeys: config.http.readKeys, rateLimit: config.http.rateLimit.read, corsOrigins: config.http.graphqlCorsOrigins, trustedProxyHops: config.http.trustedProxyHops },
    timeouts: config.http.timeouts,
    metrics: new GraphqlMetrics({ registry: createProcessRegistry() }),
  });
  warnIfOpen(logger, config.environment, [{ kind: 'read', keys: config.http.readKeys, what: 'GraphQL (every stored event) and GET /metrics' }]);
  app.addHook('onClose', async () => dynamo.destroy());

  const shutdown = (signal: string) => {
    logger.info({ signal }, 'graphql stopping');
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));

  const url = await app.listen({ port: config.http.graphqlPort, host: config.http.host });
  logger.info({ url: `${url}/graphql`, graphiql: `${url}/graphiql` }, 'graphql listening');
}

main().catch((err: unknown) => {
  process.stderr.write(`graphql failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
