/**
 * The GraphQL API (Mercurius on Fastify), without `listen`: POST /graphql, GraphiQL at
 * /graphiql, GET /health, GET /metrics (src/graphql/metrics.ts), and live subscriptions over
 * WebSocket (graphql-ws) at /graphql. Read-only; every list takes a capped `limit` and an
 * `after` cursor.
 */
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import {
  getOperationAST,
  GraphQLError,
  GraphQLScalarType,
  Kind,
  Location,
  NoSchemaIntrospectionCustomRule,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLSchema,
} from 'graphql';
import mercurius, { type MercuriusContext } from 'mercurius';
import type { Logger } from 'pino';
import { createGate, type AccessOptions } from '../platform/http/access';
import { guardFastify } from '../platform/http/fastify';
import { presentedKey } from '../platform/http/keys';
import { applyServerTimeouts, type ServerTimeouts } from '../platform/http/hardening';
import { fastifyHttpMetrics } from '../platform/metrics/http';
import type { Interval } from '../store/counts/buckets';
import type { CountsReader } from '../store/counts/reader';
import { afterArg, BadArgumentError, countRangeArgs, eventIdArg, eventTypeArg, limitArg, userIdArg } from './arguments';
import { checkShape, createCostEstimator, type CostLimits } from './cost';
import { StorageBudget, StorageBudgetExceededError, type EventReader } from '../store/hot/reader';
import { registerGraphiql } from './graphiql';
import { GraphqlMetrics, INVALID_OPERATION, operationLabel } from './metrics';
import { createLiveFeed, TooManySubscriptionsError, type LiveFeed } from './liveFeed';
import { SCHEMA } from './schema';
import { createSubscriberGate, SLOW_SUBSCRIBER_CLOSE_CODE, SUBPROTOCOL, type LiveConnection } from './subscriptionAccess';

export interface GraphqlAppDeps {
  reader: EventReader;
  /** eventCounts (src/store/counts/reader.ts); unset: counting is off (EVENT_COUNTS=false) and eventCounts says so. */
  counts?: CountsReader;
  /** Argument limits, the cost limits of src/graphql/cost.ts and the WebSocket limits (defaults: GRAPHQL_LIMIT_DEFAULTS). */
  limits: { defaultLimit: number; maxLimit: number } & Partial<CostLimits> & Partial<SocketLimits> & { maxStorageCalls?: number };
  /** Partitions latestEvents reads per page (LATEST_INDEX_SHARDS), for the cost estimate; default 4. */
  shards?: number;
  /** Serve GraphiQL at /graphiql (default true; GRAPHQL_GRAPHIQL). */
  graphiql?: boolean;
  /** Answer introspection queries (default true; GRAPHQL_INTROSPECTION). GraphiQL needs it. */
  introspection?: boolean;
  logger?: Logger;
  /** Keys, rate limit and CORS (src/platform/http/access.ts); unset: open, unlimited, no CORS. */
  access?: AccessOptions;
  /** Socket limits (slow clients); unset: Node's defaults. */
  timeouts?: ServerTimeouts;
  /** GET /metrics; unset: a registry of the app's own (no process metrics). */
  metrics?: GraphqlMetrics;
  /**
   * Live subscriptions: the feed that stored events are published to (src/graphql/liveFeed.ts),
   * and whether it is receiving them (for /health). Unset: a feed nobody publishes to.
   */
  live?: { feed: LiveFeed; ready?: () => boolean };
}

export interface SocketLimits {
  /** GRAPHQL_CONNECTION_INIT_TIMEOUT_MS */
  connectionInitTimeoutMs: number;
  /** GRAPHQL_MAX_CONNECTIONS_PER_KEY */
  maxConnectionsPerKey: number;
}

/** The defaults of config.ts, for callers (tests) that give only the argument limits. */
export const GRAPHQL_LIMIT_DEFAULTS = {
  maxCost: 100_000,
  maxAliases: 30,
  maxFields: 500,
  maxDepth: 20,
  maxStorageCalls: 200,
  connectionInitTimeoutMs: 3_000,
  maxConnectionsPerKey: 20,
} as const;

/**
 * Mercurius takes a query that does not parse as GraphQL for a JSON-encoded syntax tree, which
 * then skips the parser's checks (and, malformed, fails inside the server). Only parsed text,
 * whose nodes carry their Location, is run; anything else gets the parser's own error.
 */
function requireParsedText(document: DocumentNode | null, source: unknown): void {
  if (document?.loc instanceof Location) return;
  let message = 'query: expected GraphQL source text';
  try {
    if (typeof source === 'string') parse(source);
  } catch (err) {
    if (err instanceof GraphQLError) message = err.message;
  }
  throw new mercurius.ErrorWithProps(message, { code: 'GRAPHQL_PARSE_FAILED' }, 400);
}

declare module 'mercurius' {
  interface MercuriusContext {
    /** This request's DynamoDB calls (GRAPHQL_MAX_STORAGE_CALLS). */
    storage?: StorageBudget;
    /** A subscription connection's principal and socket (src/graphql/subscriptionAccess.ts). */
    live?: LiveConnection;
  }
}
type RequestContext = MercuriusContext;

const JSONScalar = new GraphQLScalarType({
  name: 'JSON',
  serialize: (value) => value,
  parseValue: (value) => value,
});

/**
 * Any string in; the resolver checks it (instantArg), so a bad time is a BAD_USER_INPUT naming the
 * argument like every other bad argument, not a validation error naming only the type.
 */
const DateTimeScalar = new GraphQLScalarType({
  name: 'DateTime',
  serialize: (value) => value,
  parseValue: (value) => {
    if (typeof value !== 'string') throw new TypeError('DateTime: expected an ISO-8601 string');
    return value;
  },
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) throw new TypeError('DateTime: expected an ISO-8601 string');
    return ast.value;
  },
});

const hasKeyHeader = (headers: Record<string, string | string[] | undefined>) => presentedKey(headers) !== undefined;

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
      if (err instanceof BadArgumentError) throw err;
      if (err instanceof StorageBudgetExceededError) {
        throw new mercurius.ErrorWithProps(`query too expensive: ${err.message}`, { code: 'QUERY_TOO_EXPENSIVE', limit: err.max, what: 'storage calls' });
      }
      if (err instanceof mercurius.ErrorWithProps) throw err;
      deps.logger?.error({ err }, 'reading events failed');
      throw new mercurius.ErrorWithProps('could not read events right now; retry later', { code: 'UNAVAILABLE' });
    }
  };

  const feed = deps.live?.feed ?? createLiveFeed({ queueSize: 1_000, maxPerPrincipal: 10 });
  const gate = createGate(deps.access, ['GET', 'POST']);

  type ListArgs = { limit?: number | null; after?: string | null };
  type LiveArgs = { eventType?: string | null; userId?: string | null };
  type CountArgs = LiveArgs & { from: unknown; to: unknown; interval?: Interval | null };
  const resolvers = {
    JSON: JSONScalar,
    DateTime: DateTimeScalar,
    Query: {
      latestEvents: (_: unknown, a: ListArgs, ctx: RequestContext) => guarded(() => deps.reader.latest(limitOf(a.limit), afterArg(a.after), ctx.storage)),
      eventsByType: (_: unknown, a: ListArgs & { eventType: string }, ctx: RequestContext) =>
        guarded(() => deps.reader.byType(eventTypeArg(a.eventType), limitOf(a.limit), afterArg(a.after), ctx.storage)),
      eventsByUser: (_: unknown, a: ListArgs & { userId: string }, ctx: RequestContext) =>
        guarded(() => deps.reader.byUser(userIdArg(a.userId), limitOf(a.limit), afterArg(a.after), ctx.storage)),
      event: (_: unknown, a: { eventId: string }, ctx: RequestContext) => guarded(() => deps.reader.byId(eventIdArg(a.eventId), ctx.storage)),
      eventCounts: (_: unknown, a: CountArgs, ctx: RequestContext) =>
        guarded(async () => {
          const filter = { eventType: a.eventType == null ? undefined : eventTypeArg(a.eventType), userId: a.userId == null ? undefined : userIdArg(a.userId) };
          const interval = a.interval ?? 'HOUR';
          const { fromMs, toMs } = countRangeArgs(a.from, a.to, interval);
          if (!deps.counts) throw new mercurius.ErrorWithProps('counts are off on this platform (EVENT_COUNTS=false)', { code: 'COUNTS_DISABLED' });
          return deps.counts.counts(filter, fromMs, toMs, interval, ctx.storage);
        }),
    },
    Subscription: {
      eventStored: {
        // Filtered in the feed, before an event is queued for this subscriber.
        subscribe: (_: unknown, a: LiveArgs, ctx: RequestContext) => {
          const filter = {
            eventType: a.eventType == null ? undefined : eventTypeArg(a.eventType),
            userId: a.userId == null ? undefined : userIdArg(a.userId),
          };
          const live = ctx.live;
          if (!live) throw new mercurius.ErrorWithProps('subscriptions need a WebSocket connection (graphql-ws protocol) to /graphql', { code: 'BAD_REQUEST' });
          try {
            const subscription = feed.subscribe(live.principal, filter, (err) => live.socket.close(SLOW_SUBSCRIBER_CLOSE_CODE, err.message));
            // Mercurius passes the subscribe message's id in the context.
            live.started((ctx as { id?: unknown }).id, () => subscription.close());
            return subscription;
          } catch (err) {
            if (err instanceof TooManySubscriptionsError) throw new mercurius.ErrorWithProps(err.message, { code: 'TOO_MANY_SUBSCRIPTIONS', limit: err.max });
            throw err;
          }
        },
        resolve: (event: unknown) => event,
      },
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
  const subscribers = createSubscriberGate(
    gate,
    {
      initTimeoutMs: limits.connectionInitTimeoutMs,
      maxConnections: limits.maxConnectionsPerKey,
      corsOrigins: deps.access?.corsOrigins ?? [],
    },
    deps.logger,
  );
  // Ours rather than Mercurius's, so every frame can be seen before Mercurius acts on it; and
  // before the guard, whose refusal of an upgrade must find the request marked as one (the
  // plugin then destroys the socket after the 401 instead of leaving it open).
  const socketOptions = {
    // Subscribe documents and connectionParams are small; a frame is read whole before it is
    // looked at, so this bounds what a socket costs per message.
    maxPayload: 65_536,
    // The first subprotocol offered would be taken otherwise; the upgrade hook below has
    // already refused a request that does not offer this one.
    handleProtocols: (offered: Set<string>) => (offered.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    // A closed socket whose peer never answers the close frame is dropped after this, not ws's 30 s
    // (an option of ws 8.19+, not yet in @types/ws).
    closeTimeout: 5_000,
  };
  void app.register(fastifyWebsocket, { options: socketOptions });
  void app.after(() => subscribers.watch(app.websocketServer));
  guardFastify(app, gate, {
    publicRoutes: ['/', '/health', '/graphiql', '/graphiql/assets/:file'],
    needed: 'read',
    // A browser cannot set headers on a WebSocket: an upgrade without a key is let through (rate
    // limited) and its key checked in connection_init (src/graphql/subscriptionAccess.ts). Only
    // a real one: a GET that the WebSocket plugin took over (`request.ws`, set from Node's upgrade
    // event, never from header text), which only a WebSocket handshake answers. Any other request
    // to /graphql, whatever its Upgrade or Connection headers, needs its key here.
    keyCheckedLater: (request) =>
      request.ws &&
      request.method === 'GET' &&
      request.routeOptions.url === '/graphql' &&
      /^websocket$/i.test(request.headers.upgrade ?? '') &&
      !hasKeyHeader(request.headers),
  });
  // After the key check: an upgrade's route, Origin, subprotocol and its address's connections.
  app.addHook('onRequest', async (request, reply) => {
    if (!request.ws) return;
    const route = request.method === 'GET' ? request.routeOptions.url : undefined;
    const refused = subscribers.upgrade(request.raw, route, gate.clientAddress(request.socket.remoteAddress, request.headers));
    if (refused) return reply.code(refused.status).send(refused.body);
  });

  void app
    .register(mercurius, {
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
      subscription: {
        // The connection's principal, decided from its connection_init (subscriptionAccess.ts); a
        // connection without one was refused there and is closed.
        context: (socket) => {
          const live = subscribers.connectionOf(socket);
          if (!live) throw new Error('connection refused in connection_init');
          return { live };
        },
        keepAlive: 30_000,
      },
    })
    .after(() => {
      // Before GraphQL validation (quadratic in fields): the document's shape. Runs once per query
      // text (Mercurius caches what passed).
      app.graphql.addHook('preValidation', async (_schema, document, context) => {
        const request = context.reply.request;
        requireParsedText(document, ((request.body ?? request.query) as { query?: unknown } | undefined)?.query);
        checkShape(document, limits);
      });
      // Before execution, with this request's variables: the estimated cost.
      app.graphql.addHook('preExecution', async (schema, document, context, variables) => {
        const body = (context.reply.request.body ?? context.reply.request.query) as { operationName?: string } | undefined;
        // Labelled first, so a request refused for its cost is counted under what it asked for.
        requestInfo(context.reply.request).operation = operationLabel(document, body?.operationName);
        // 200 with the error, like any GraphQL error of a well-formed request: GraphiQL sends a
        // subscription over HTTP when it runs one before its editor parsed the document.
        if (getOperationAST(document, body?.operationName ?? undefined)?.operation === 'subscription') {
          throw new mercurius.ErrorWithProps(
            'subscriptions run over a WebSocket to /graphql (graphql-ws protocol), not over HTTP requests',
            { code: 'BAD_REQUEST' },
            200,
          );
        }
        estimatorFor(schema)(document, variables as Record<string, unknown> | undefined, body?.operationName ?? undefined, limits.maxCost);
      });
      app.graphql.addHook('onResolution', async (execution, context) => {
        if (execution.errors?.length) requestInfo(context.reply.request).failed = true;
      });
      // Subscriptions run through graphql's subscribe(), which does not validate: the same checks
      // as a query (shape, validation, cost per event delivered) before the subscription starts.
      app.graphql.addHook('preSubscriptionExecution', async (schema, document, context) => {
        checkShape(document, limits);
        const rules = deps.introspection === false ? [...specifiedRules, NoSchemaIntrospectionCustomRule] : specifiedRules;
        const errors = validate(schema, document, rules);
        if (errors.length > 0) throw new mercurius.ErrorWithProps(errors.map((e) => e.message).join('; '), { code: 'GRAPHQL_VALIDATION_FAILED' });
        const vars = (context as { variables?: Record<string, unknown> }).variables;
        estimatorFor(schema)(document, vars, undefined, limits.maxCost);
      });
    });

  if (deps.graphiql !== false) registerGraphiql(app);
  // `subscriptions`: whether stored events are reaching this instance's subscribers.
  const liveReady = deps.live?.ready;
  app.get('/health', async () => (liveReady ? { status: 'ok', subscriptions: liveReady() ? 'ready' : 'starting' } : { status: 'ok' }));
  app.addHook('onClose', async () => feed.closeAll());
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
