/**
 * The GraphQL API (Mercurius on Fastify), without `listen`: POST /graphql, GraphiQL at
 * /graphiql, GET /health, GET /metrics (src/graphql/metrics.ts). Read-only; every list takes a
 * capped `limit` and an `after` cursor.
 */
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { GraphQLScalarType, NoSchemaIntrospectionCustomRule, type GraphQLSchema } from 'graphql';
import mercurius, { type MercuriusContext } from 'mercurius';
import type { Logger } from 'pino';
import { createGate, type AccessOptions } from '../http/access';
import { guardFastify } from '../http/fastify';
import { applyServerTimeouts, type ServerTimeouts } from '../http/hardening';
import { fastifyHttpMetrics } from '../metrics/http';
import { afterArg, BadArgument, eventIdArg, eventTypeArg, limitArg, userIdArg } from './arguments';
import { checkShape, createCostEstimator, type CostLimits } from './cost';
import { StorageBudget, StorageBudgetExceeded, type EventReader } from './eventReader';
import { registerGraphiql } from './graphiql';
import { GraphqlMetrics, INVALID_OPERATION, operationLabel } from './metrics';
import { SCHEMA } from './schema';


export interface GraphqlAppDeps {
  reader: EventReader;
  /** Argument limits, and the cost limits of src/graphql/cost.ts (defaults: GRAPHQL_LIMIT_DEFAULTS). */
  limits: { defaultLimit: number; maxLimit: number } & Partial<CostLimits> & { maxStorageCalls?: number };
  /** Partitions latestEvents reads per page (LATEST_INDEX_SHARDS), for the cost estimate; default 4. */
  shards?: number;
  /** Serve GraphiQL at /graphiql (default true; GRAPHQL_GRAPHIQL). */
  graphiql?: boolean;
  /** Answer introspection queries (default true; GRAPHQL_INTROSPECTION). GraphiQL needs it. */
  introspection?: boolean;
  logger?: Logger;
  /** Keys, rate limit and CORS (src/http/access.ts); unset: open, unlimited, no CORS. */
  access?: AccessOptions;
  /** Socket limits (slow clients); unset: Node's defaults. */
  timeouts?: ServerTimeouts;
  /** GET /metrics; unset: a registry of the app's own (no process metrics). */
  metrics?: GraphqlMetrics;
}

/** The defaults of config.ts, for callers (tests) that give only the argument limits. */
export const GRAPHQL_LIMIT_DEFAULTS = { maxCost: 50_000, maxAliases: 30, maxFields: 500, maxDepth: 20, maxStorageCalls: 200 } as const;

declare module 'mercurius' {
  interface MercuriusContext {
    /** This request's DynamoDB calls (GRAPHQL_MAX_STORAGE_CALLS). */
    storage?: StorageBudget;
  }
}
type RequestContext = MercuriusContext;

const JSONScalar = new GraphQLScalarType({
  name: 'JSON',
  serialize: (value) => value,
  parseValue: (value) => value,
});

export function buildGraphqlApp(deps: GraphqlAppDeps): FastifyInstance {
  // No per-request logs: a query log line per request is noise at analytics volumes.
  const app: FastifyInstance = Fastify({ logger: false });
  const metrics = deps.metrics ?? new GraphqlMetrics();
  fastifyHttpMetrics(app, metrics.http);
  /** Per GraphQL request: what its metrics need, filled in as Mercurius works through it. */
  const requests = new WeakMap<FastifyRequest, { storage?: StorageBudget; operation?: string; failed?: boolean }>();
  const requestInfo = (request: FastifyRequest) => {
    let info = requests.get(request);
    if (!info) requests.set(request, (info = {}));
    return info;
  };
  app.addHook('onResponse', async (request, reply) => {
    // Only requests Mercurius took on (it built their context); refusals by the access rules
    // are in the HTTP histogram.
    const info = requests.get(request);
    if (!info) return;
    const operation = info.operation ?? INVALID_OPERATION;
    metrics.operations.observe({ operation, outcome: info.failed || reply.statusCode >= 400 ? 'error' : 'ok' }, reply.elapsedTime / 1000);
    if (info.operation !== undefined) metrics.storageCalls.observe({ operation }, info.storage?.calls ?? 0);
  });
  const { defaultLimit, maxLimit } = deps.limits;
  const limits = { ...GRAPHQL_LIMIT_DEFAULTS, ...deps.limits };
  const estimators = new WeakMap<GraphQLSchema, ReturnType<typeof createCostEstimator>>();
  const estimatorFor = (schema: GraphQLSchema) => {
    let estimate = estimators.get(schema);
    if (!estimate) estimators.set(schema, (estimate = createCostEstimator(schema, { defaultLimit, maxLimit, shards: deps.shards ?? 4 })));
    return estimate;
  };

  const limitOf = (limit: number | null | undefined): number => limitArg(limit, defaultLimit, maxLimit);
  /** Checks the arguments first (client errors, no storage call); logs storage failures and hides their details. */
  const guarded = async <T>(read: () => Promise<T>): Promise<T> => {
    try {
      return await read();
    } catch (err) {
      if (err instanceof BadArgument) throw err;
      if (err instanceof StorageBudgetExceeded) {
        throw new mercurius.ErrorWithProps(`query too expensive: ${err.message}`, { code: 'QUERY_TOO_EXPENSIVE', limit: err.max, what: 'storage calls' });
      }
      if (err instanceof mercurius.ErrorWithProps) throw err;
      deps.logger?.error({ err }, 'reading events failed');
      throw new mercurius.ErrorWithProps('could not read events right now; retry later', { code: 'UNAVAILABLE' });
    }
  };

  type ListArgs = { limit?: number | null; after?: string | null };
  const resolvers = {
    JSON: JSONScalar,
    Query: {
      latestEvents: (_: unknown, a: ListArgs, ctx: RequestContext) => guarded(() => deps.reader.latest(limitOf(a.limit), afterArg(a.after), ctx.storage)),
      eventsByType: (_: unknown, a: ListArgs & { eventType: string }, ctx: RequestContext) =>
        guarded(() => deps.reader.byType(eventTypeArg(a.eventType), limitOf(a.limit), afterArg(a.after), ctx.storage)),
      eventsByUser: (_: unknown, a: ListArgs & { userId: string }, ctx: RequestContext) =>
        guarded(() => deps.reader.byUser(userIdArg(a.userId), limitOf(a.limit), afterArg(a.after), ctx.storage)),
      event: (_: unknown, a: { eventId: string }, ctx: RequestContext) => guarded(() => deps.reader.byId(eventIdArg(a.eventId), ctx.storage)),
    },
  };

  // Every route needs a read key unless listed here (GraphiQL: the key goes in its Headers tab).
  if (deps.timeouts) applyServerTimeouts(app.server, deps.timeouts);
  const graphiqlOn = deps.graphiql !== false;
  // A browser opening /graphql (HTML wanted, no query) is sent to GraphiQL, before the key check:
  // the page is public and takes the key in its Headers tab. Anything else is the GraphQL endpoint.
  if (graphiqlOn) {
    app.addHook('onRequest', async (request, reply) => {
      if (request.method !== 'GET' || request.routeOptions.url !== '/graphql') return;
      const query = request.query as { query?: unknown } | undefined;
      if (query?.query === undefined && /\btext\/html\b/.test(request.headers.accept ?? '')) return reply.redirect('/graphiql', 302);
    });
  }
  guardFastify(app, createGate(deps.access, ['GET', 'POST']), { publicRoutes: ['/', '/health', '/graphiql', '/graphiql/assets/:file'], needed: 'read' });

  void app.register(mercurius, {
    schema: SCHEMA,
    resolvers,
    graphiql: false, // served by registerGraphiql, without a CDN
    path: '/graphql',
    // One operation per request: a JSON array of queries is refused (400), so the limits below
    // hold per HTTP request.
    allowBatchedQueries: false,
    validationRules: deps.introspection === false ? [NoSchemaIntrospectionCustomRule] : [],
    context: (request) => {
      const storage = new StorageBudget(limits.maxStorageCalls);
      requestInfo(request).storage = storage;
      return { storage };
    },
  }).after(() => {
    // Before GraphQL validation (quadratic in fields): the document's shape. Runs once per query
    // text (Mercurius caches what passed).
    app.graphql.addHook('preValidation', async (_schema, document) => checkShape(document, limits));
    // Before execution, with this request's variables: the estimated cost.
    app.graphql.addHook('preExecution', async (schema, document, context, variables) => {
      const body = (context.reply.request.body ?? context.reply.request.query) as { operationName?: string } | undefined;
      // Labelled first, so a request refused for its cost is counted under what it asked for.
      requestInfo(context.reply.request).operation = operationLabel(document, body?.operationName);
      estimatorFor(schema)(document, variables as Record<string, unknown> | undefined, body?.operationName ?? undefined, limits.maxCost);
    });
    app.graphql.addHook('onResolution', async (execution, context) => {
      if (execution.errors?.length) requestInfo(context.reply.request).failed = true;
    });
  });

  if (deps.graphiql !== false) registerGraphiql(app);
  app.get('/health', async () => ({ status: 'ok' }));
  // Entrance: people type the host, or open /graphql, in a browser. Both lead to GraphiQL when it
  // is on; otherwise / says where the API is. A GET /graphql with a query, or from a client that
  // does not ask for HTML, is still the GraphQL endpoint.
  app.get('/', async (_request, reply) =>
    graphiqlOn ? reply.redirect('/graphiql', 302) : { graphql: '/graphql', graphiql: 'off (GRAPHQL_GRAPHIQL=false)', health: '/health' },
  );
  // Not public: needs a read key when READ_KEYS is set, like the producer's and the bridges'.
  app.get('/metrics', async (_request, reply) => reply.type(metrics.contentType).send(await metrics.text()));
  return app;
}
