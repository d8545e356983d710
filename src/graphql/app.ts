/**
 * The GraphQL API (Mercurius on Fastify), without `listen`: POST /graphql, GraphiQL at
 * /graphiql, GET /health. Read-only; every list takes a capped `limit` and an `after` cursor.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { GraphQLScalarType } from 'graphql';
import mercurius from 'mercurius';
import type { Logger } from 'pino';
import { createGate, type AccessOptions } from '../http/access';
import { guardFastify } from '../http/fastify';
import { applyServerTimeouts, type ServerTimeouts } from '../http/hardening';
import { afterArg, BadArgument, eventIdArg, eventTypeArg, limitArg, userIdArg } from './arguments';
import { type EventReader } from './eventReader';
import { registerGraphiql } from './graphiql';
import { SCHEMA } from './schema';


export interface GraphqlAppDeps {
  reader: EventReader;
  limits: { defaultLimit: number; maxLimit: number; maxDepth: number };
  logger?: Logger;
  /** Keys, rate limit and CORS (src/http/access.ts); unset: open, unlimited, no CORS. */
  access?: AccessOptions;
  /** Socket limits (slow clients); unset: Node's defaults. */
  timeouts?: ServerTimeouts;
}

const JSONScalar = new GraphQLScalarType({
  name: 'JSON',
  serialize: (value) => value,
  parseValue: (value) => value,
});

export function buildGraphqlApp(deps: GraphqlAppDeps): FastifyInstance {
  // No per-request logs: a query log line per request is noise at analytics volumes.
  const app: FastifyInstance = Fastify({ logger: false });
  const { defaultLimit, maxLimit } = deps.limits;

  const limitOf = (limit: number | null | undefined): number => limitArg(limit, defaultLimit, maxLimit);
  /** Checks the arguments first (client errors, no storage call); logs storage failures and hides their details. */
  const guarded = async <T>(read: () => Promise<T>): Promise<T> => {
    try {
      return await read();
    } catch (err) {
      if (err instanceof BadArgument) throw err;
      if (err instanceof mercurius.ErrorWithProps) throw err;
      deps.logger?.error({ err }, 'reading events failed');
      throw new mercurius.ErrorWithProps('could not read events right now; retry later', { code: 'UNAVAILABLE' });
    }
  };

  type ListArgs = { limit?: number | null; after?: string | null };
  const resolvers = {
    JSON: JSONScalar,
    Query: {
      latestEvents: (_: unknown, a: ListArgs) => guarded(() => deps.reader.latest(limitOf(a.limit), afterArg(a.after))),
      eventsByType: (_: unknown, a: ListArgs & { eventType: string }) =>
        guarded(() => deps.reader.byType(eventTypeArg(a.eventType), limitOf(a.limit), afterArg(a.after))),
      eventsByUser: (_: unknown, a: ListArgs & { userId: string }) =>
        guarded(() => deps.reader.byUser(userIdArg(a.userId), limitOf(a.limit), afterArg(a.after))),
      event: (_: unknown, a: { eventId: string }) => guarded(() => deps.reader.byId(eventIdArg(a.eventId))),
    },
  };

  // Every route needs a read key unless listed here (GraphiQL: the key goes in its Headers tab).
  if (deps.timeouts) applyServerTimeouts(app.server, deps.timeouts);
  guardFastify(app, createGate(deps.access, ['GET', 'POST']), { publicRoutes: ['/health', '/graphiql', '/graphiql/assets/:file'], needed: 'read' });

  void app.register(mercurius, {
    schema: SCHEMA,
    resolvers,
    graphiql: false, // served by registerGraphiql, without a CDN
    path: '/graphql',
    queryDepth: deps.limits.maxDepth,
  });

  registerGraphiql(app);
  app.get('/health', async () => ({ status: 'ok' }));
  return app;
}
