/**
 * The one place configuration is read. Every process loads it once at startup (src/platform/runMain.ts);
 * everything else receives the typed `Config` (or a slice of it) as an argument.
 *
 * Defaults point at the local stack (`npm run stack:up`). With ENVIRONMENT=production the AWS
 * endpoints have no default, so the SDKs talk to real AWS with their usual credential chain.
 */
import { existsSync, statSync } from 'node:fs';
import { z } from 'zod';
import { kafkaSecurity, kafkaSecurityProblems, SASL_MECHANISMS, SECURITY_PROTOCOLS } from './kafka/security';
import { resolveTemporalSettings, type TemporalConnectionSettings } from './temporal/profile';

/** Static keys of the local S3 server (versitygw); dynalite accepts any key. */
export const LOCAL_STACK_CREDENTIALS = {
  accessKeyId: 'event-platform-local',
  secretAccessKey: 'event-platform-local-secret',
} as const;

const hostPort = /^[A-Za-z0-9.\-_[\]:]+:\d{1,5}$/;

const int = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^-?\d+$/, `expected an integer between ${min} and ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `expected an integer >= ${min}`).max(max, `expected an integer <= ${max}`));

const port = int(1, 65535);
const name = (what: string) => z.string().trim().min(1, `expected a non-empty ${what}`);
const url = z
  .string()
  .trim()
  .refine((v) => /^https?:\/\/[^/\s]+/.test(v), 'expected an http(s) URL such as http://127.0.0.1:4567');
const tableName = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9_.-]{3,255}$/, 'expected a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)');
const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'expected true or false' }).transform((v) => v === 'true' || v === '1' || v === 'yes');
/** A file the process reads at startup (certificates, keys, config files). */
const existingFile = z
  .string()
  .trim()
  .refine((path) => existsSync(path) && statSync(path).isFile(), 'no such file');
const commaList = (v: string) =>
  v
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
/** API keys: token characters only, so a key fits `Authorization: Bearer` and Basic alike. */
const keyList = z
  .string()
  .default('')
  .transform(commaList)
  .refine(
    (keys) => keys.every((k) => /^[A-Za-z0-9._~+/=-]{16,256}$/.test(k)),
    'expected a comma-separated list of keys, each 16-256 characters of A-Z a-z 0-9 . _ ~ + / = -',
  );
/** Allowed CORS origins: `*` or exact origins (scheme://host[:port], no path). */
const originList = z
  .string()
  .default('')
  .transform(commaList)
  .refine(
    (origins) => origins.every((o) => o === '*' || /^https?:\/\/[^/\s,]+$/.test(o)),
    'expected * or a comma-separated list of origins such as https://shop.example.com (no path, no trailing slash)',
  );

/**
 * Largest MAX_EVENT_BYTES. An accepted event becomes one DynamoDB item (at most 400 KB = 409 600
 * bytes, attribute names included) and one Kafka record. DynamoDB sizes the payload in its own
 * encoding, which can exceed the JSON text the limit measures: a list of one-digit numbers costs
 * ~3 bytes an element (1 of list overhead, ~2 for the number) against 2 in JSON (`0,`), so up to
 * 1.5x; the cap allows 2x. The item adds under 1 KiB of its own (event_id, timestamp,
 * received_at, time_id, time_bucket and the attribute names). 2 x 192 KiB + 1 KiB = 385 KiB,
 * under 400 KB. The Kafka record (the event plus ~250 bytes of envelope and the key) stays far
 * below the broker's default message.max.bytes (1 048 588).
 */
export const MAX_EVENT_BYTES_CAP = 196_608;

/**
 * Largest PRODUCER_MAX_BATCH_BYTES. One produce request carries at most one record batch per
 * partition, and the broker refuses a batch over message.max.bytes (1 048 588 by default). The
 * batcher counts each record's key, value and framing (see RECORD_OVERHEAD_BYTES in
 * src/producer/batcher.ts); the remaining ~48 KB cover the 61-byte batch header and any framing the
 * estimate misses. Raise message.max.bytes on the brokers before raising this cap.
 */
export const PRODUCER_MAX_BATCH_BYTES_CAP = 1_000_000;

/**
 * Variables whose values never appear in an error message: the API keys (known by name) and
 * anything named like a credential. A startup error goes to logs that many people can read.
 */
const SECRET_VARIABLES: ReadonlySet<string> = new Set(['API_KEYS', 'WRITE_KEYS', 'READ_KEYS']);
export function isSecretVariable(name: string): boolean {
  return SECRET_VARIABLES.has(name) || /KEY|SECRET|PASSWORD|TOKEN|CREDENTIAL/i.test(name);
}

/** Raw schema: one key per environment variable, each validated on its own so errors name it. */
const envSchema = z.object({
  ENVIRONMENT: z.enum(['development', 'test', 'production'], { message: 'expected development, test or production' }).default('development'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { message: 'expected fatal, error, warn, info, debug, trace or silent' })
    .default('info'),
  HOST: name('host').default('127.0.0.1'),
  // Replaced by WRITE_KEYS and READ_KEYS. Refusing to start is safer than ignoring it, which
  // would leave APIs open that their operator believes protected.
  API_KEYS: z
    .string()
    .optional()
    .refine((v) => v === undefined, 'no longer read: put the keys that post events in WRITE_KEYS and the keys that read (GraphQL, /metrics) in READ_KEYS'),
  WRITE_KEYS: keyList,
  READ_KEYS: keyList,
  PRODUCER_PORT: port.default(8000),
  GRAPHQL_PORT: port.default(8001),
  CORS_ORIGINS: originList,
  GRAPHQL_CORS_ORIGINS: originList,
  TRUST_PROXY_HOPS: int(0, 10).default(0),
  RATE_LIMIT_WRITE_PER_SECOND: int(0, 1_000_000).default(500),
  RATE_LIMIT_WRITE_BURST: int(1, 1_000_000).default(1_000),
  RATE_LIMIT_READ_PER_SECOND: int(0, 1_000_000).default(50),
  RATE_LIMIT_READ_BURST: int(1, 1_000_000).default(100),
  HTTP_REQUEST_TIMEOUT_MS: int(1_000, 3_600_000).default(30_000),
  HTTP_HEADERS_TIMEOUT_MS: int(500, 3_600_000).default(10_000),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: int(100, 600_000).default(5_000),
  HTTP_MAX_REQUESTS_PER_SOCKET: int(0, 1_000_000).default(1_000),
  HTTP_TIMEOUT_CHECK_INTERVAL_MS: int(100, 60_000).default(2_000),

  KAFKA_BOOTSTRAP_SERVERS: z
    .string()
    .trim()
    .default('localhost:9092')
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .refine((list) => list.length > 0 && list.every((s) => hostPort.test(s)), 'expected a comma-separated list of host:port, such as localhost:9092'),
  KAFKA_CLIENT_ID: name('client id').default('event-platform'),
  KAFKA_TOPIC: name('topic name').default('events.raw'),
  KAFKA_DLQ_TOPIC: name('topic name').default('events.dlq'),
  // Announcements of stored events, for GraphQL subscriptions; every GraphQL instance reads all of it.
  KAFKA_STORED_TOPIC: name('topic name').default('events.stored'),
  KAFKA_CONSUMER_GROUP: name('consumer group id').default('event-processors'),
  KAFKA_PRODUCE_TIMEOUT_MS: int(100, 120_000).default(5_000),
  PRODUCER_LINGER_MS: int(0, 1_000).default(2),
  PRODUCER_MAX_BATCH_RECORDS: int(1, 10_000).default(500),
  PRODUCER_MAX_BATCH_BYTES: int(1_024, PRODUCER_MAX_BATCH_BYTES_CAP).default(524_288),
  // Admission control: records waiting for or inside a Kafka send, counted until kafkajs settles
  // the send (it keeps retrying after our 503). Beyond either cap a request gets 503 at once.
  PRODUCER_MAX_INFLIGHT_BYTES: int(65_536, 1_073_741_824).default(16_777_216),
  PRODUCER_MAX_INFLIGHT_RECORDS: int(1, 1_000_000).default(10_000),

  // Security (src/platform/kafka/security.ts): the Java client's security.protocol and sasl.mechanism values.
  KAFKA_SECURITY_PROTOCOL: z.enum(SECURITY_PROTOCOLS, { message: 'expected PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL' }).default('PLAINTEXT'),
  KAFKA_SASL_MECHANISM: z
    .string()
    .trim()
    .toUpperCase()
    .pipe(z.enum(SASL_MECHANISMS, { message: 'expected PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or AWS_MSK_IAM' }))
    .optional(),
  KAFKA_SASL_USERNAME: name('user name').optional(),
  KAFKA_SASL_PASSWORD: z.string().min(1).optional(),
  KAFKA_SSL_CA_PATH: existingFile.optional(),
  KAFKA_SSL_CERT_PATH: existingFile.optional(),
  KAFKA_SSL_KEY_PATH: existingFile.optional(),
  KAFKA_SSL_KEY_PASSWORD: z.string().min(1).optional(),

  // Temporal's own variables (the CLI and the SDKs read the same ones; src/platform/temporal/profile.ts).
  // Address and namespace default to the local stack after the config file's profile is applied.
  TEMPORAL_ADDRESS: z.string().trim().regex(hostPort, 'expected host:port, such as localhost:7233').optional(),
  TEMPORAL_NAMESPACE: name('namespace').optional(),
  TEMPORAL_TASK_QUEUE: name('task queue').default('events'),
  TEMPORAL_API_KEY: z.string().trim().min(1).optional(),
  TEMPORAL_TLS: bool.optional(),
  TEMPORAL_TLS_CLIENT_CERT_PATH: existingFile.optional(),
  TEMPORAL_TLS_CLIENT_KEY_PATH: existingFile.optional(),
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: existingFile.optional(),
  TEMPORAL_TLS_SERVER_NAME: name('server name').optional(),
  TEMPORAL_CONFIG_FILE: existingFile.optional(),
  TEMPORAL_PROFILE: name('profile name').optional(),

  AWS_REGION: z
    .string()
    .trim()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'expected an AWS region such as us-east-1')
    .default('us-east-1'),
  DYNAMODB_TABLE: tableName.default('EventsHot'),
  DYNAMODB_COUNTS_TABLE: tableName.default('EventCounts'),
  DYNAMODB_ENDPOINT: url.optional(),
  S3_BUCKET: z
    .string()
    .trim()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'expected an S3 bucket name (3-63 of a-z 0-9 . -)')
    .default('event-platform-raw-events'),
  S3_ENDPOINT: url.optional(),
  S3_FORCE_PATH_STYLE: bool.optional(),
  // Only whether it is set matters here (the SDK's default chain reads it itself): set, it
  // replaces the local stack's static keys.
  AWS_ACCESS_KEY_ID: z.string().trim().min(1).optional(),

  MAX_EVENT_BYTES: int(256, MAX_EVENT_BYTES_CAP).default(32_768),
  MAX_BATCH_EVENTS: int(1, 10_000).default(500),
  MAX_BATCH_BYTES: int(1_024, 16_777_216).default(1_048_576),
  MAX_FUTURE_SKEW_SECONDS: int(0, 7 * 86_400).default(86_400),

  BRIDGE_START_CONCURRENCY: int(1, 1_000).default(32),
  // 0 = any free port (the bridge logs the one it got).
  BRIDGE_HTTP_PORT: int(0, 65535).default(8002),
  BRIDGE_START_TIMEOUT_MS: int(100, 120_000).default(10_000),
  // A processor (bridge + worker in one process) asks for eager workflow starts.
  PROCESSOR_EAGER_START: bool.default(true),
  // Workflow tasks a worker runs at once. An eager start holds one from before the start call
  // until the task completes, so a processor needs its bridge's starts in flight (partitions x
  // BRIDGE_START_CONCURRENCY) plus its pollers, or starts fall back to the task queue.
  WORKER_WORKFLOW_TASK_SLOTS: int(2, 10_000).default(128),
  // The Temporal SDK's Prometheus exporter of a worker or processor (GET /metrics); 0 = off.
  WORKER_METRICS_PORT: int(0, 65535).default(9464),
  // 0 = no attempt cap: the elapsed budget decides.
  HOT_RETRY_MAX_ATTEMPTS: int(0, 100_000).default(0),
  HOT_RETRY_INITIAL_INTERVAL_MS: int(10, 3_600_000).default(1_000),
  HOT_RETRY_MAX_INTERVAL_MS: int(10, 86_400_000).default(30_000),
  HOT_RETRY_MAX_ELAPSED_MS: int(1_000, 30 * 86_400_000).default(3_600_000),
  COLD_RETRY_MAX_ATTEMPTS: int(0, 100_000).default(0),
  COLD_RETRY_INITIAL_INTERVAL_MS: int(10, 3_600_000).default(1_000),
  COLD_RETRY_MAX_INTERVAL_MS: int(10, 86_400_000).default(30_000),
  COLD_RETRY_MAX_ELAPSED_MS: int(1_000, 30 * 86_400_000).default(3_600_000),
  ACTIVITY_TIMEOUT_MS: int(100, 3_600_000).default(30_000),
  // First attempt of each step as a local activity in the first workflow task; 0 = off. Kept
  // well under the workflow task timeout (10 s) so a slow store never holds the task that long.
  FAST_PATH_TIMEOUT_MS: int(0, 5_000).default(2_000),

  GRAPHQL_DEFAULT_LIMIT: int(1, 1_000).default(10),
  GRAPHQL_MAX_LIMIT: int(1, 1_000).default(100),
  // Cost limits of one GraphQL request (src/graphql/cost.ts); the defaults let GraphiQL's
  // introspection query through (depth 15, cost ~50,000).
  GRAPHQL_MAX_DEPTH: int(2, 100).default(20),
  GRAPHQL_MAX_COST: int(100, 100_000_000).default(100_000),
  GRAPHQL_MAX_ALIASES: int(0, 100_000).default(30),
  GRAPHQL_MAX_FIELDS: int(10, 100_000).default(500),
  GRAPHQL_MAX_STORAGE_CALLS: int(1, 100_000).default(200),
  // Live subscriptions (eventStored): open at once per read key (per client address without keys),
  // and events waiting for one slow subscriber before it is cut off.
  GRAPHQL_MAX_SUBSCRIPTIONS_PER_KEY: int(1, 100_000).default(10),
  GRAPHQL_SUBSCRIPTION_QUEUE: int(1, 100_000).default(200),
  // WebSockets at /graphql: how long one may stay open before its connection_init (then closed
  // with 4408), and how many may be open at once per read key (per client address before init or
  // without keys).
  GRAPHQL_CONNECTION_INIT_TIMEOUT_MS: int(100, 60_000).default(3_000),
  GRAPHQL_MAX_CONNECTIONS_PER_KEY: int(1, 100_000).default(20),
  // Unset: on, except with ENVIRONMENT=production.
  GRAPHQL_GRAPHIQL: bool.optional(),
  GRAPHQL_INTROSPECTION: bool.optional(),
  LATEST_INDEX_SHARDS: int(1, 64).default(4),
  HOT_RETENTION_DAYS: int(0, 36_500).default(0),
  HOT_SWEEP_INTERVAL_MS: int(0, 86_400_000).default(3_600_000),
  EVENT_COUNTS: bool.default(true),
  ARCHIVE_TRANSITION_DAYS: int(0, 36_500).default(30),
  ARCHIVE_EXPIRATION_DAYS: int(0, 36_500).default(0),
});

export type RetrySettings = {
  /** 0 = no cap. */
  maximumAttempts: number;
  initialIntervalMs: number;
  maximumIntervalMs: number;
  /** Budget for all attempts of a step together. */
  maxElapsedMs: number;
};

export type Config = ReturnType<typeof shape>;

/** Optional in the type: a retry policy written by hand (a test, a tool) runs without a fast path. */
function fastPath(timeoutMs: number): { fastPathTimeoutMs?: number } {
  return { fastPathTimeoutMs: timeoutMs };
}

function shape(env: z.infer<typeof envSchema>, temporal: TemporalConnectionSettings) {
  const local = env.ENVIRONMENT !== 'production';
  const dynamoEndpoint = env.DYNAMODB_ENDPOINT ?? (local ? 'http://127.0.0.1:4567' : undefined);
  const s3Endpoint = env.S3_ENDPOINT ?? (local ? 'http://127.0.0.1:9000' : undefined);
  return {
    environment: env.ENVIRONMENT,
    logLevel: env.LOG_LEVEL,
    http: {
      host: env.HOST,
      producerPort: env.PRODUCER_PORT,
      graphqlPort: env.GRAPHQL_PORT,
      writeKeys: env.WRITE_KEYS,
      readKeys: env.READ_KEYS,
      /** Keys that may read /metrics of the other processes (the bridge): the read keys. */
      apiKeys: env.READ_KEYS,
      corsOrigins: env.CORS_ORIGINS,
      graphqlCorsOrigins: env.GRAPHQL_CORS_ORIGINS,
      trustedProxyHops: env.TRUST_PROXY_HOPS,
      rateLimit: {
        write: { perSecond: env.RATE_LIMIT_WRITE_PER_SECOND, burst: env.RATE_LIMIT_WRITE_BURST },
        read: { perSecond: env.RATE_LIMIT_READ_PER_SECOND, burst: env.RATE_LIMIT_READ_BURST },
      },
      timeouts: {
        requestTimeoutMs: env.HTTP_REQUEST_TIMEOUT_MS,
        headersTimeoutMs: env.HTTP_HEADERS_TIMEOUT_MS,
        keepAliveTimeoutMs: env.HTTP_KEEP_ALIVE_TIMEOUT_MS,
        maxRequestsPerSocket: env.HTTP_MAX_REQUESTS_PER_SOCKET,
        checkIntervalMs: env.HTTP_TIMEOUT_CHECK_INTERVAL_MS,
      },
    },
    kafka: {
      brokers: env.KAFKA_BOOTSTRAP_SERVERS,
      clientId: env.KAFKA_CLIENT_ID,
      topic: env.KAFKA_TOPIC,
      dlqTopic: env.KAFKA_DLQ_TOPIC,
      storedTopic: env.KAFKA_STORED_TOPIC,
      consumerGroup: env.KAFKA_CONSUMER_GROUP,
      produceTimeoutMs: env.KAFKA_PRODUCE_TIMEOUT_MS,
      lingerMs: env.PRODUCER_LINGER_MS,
      maxBatchRecords: env.PRODUCER_MAX_BATCH_RECORDS,
      maxBatchBytes: env.PRODUCER_MAX_BATCH_BYTES,
      maxInflightBytes: env.PRODUCER_MAX_INFLIGHT_BYTES,
      maxInflightRecords: env.PRODUCER_MAX_INFLIGHT_RECORDS,
      security: kafkaSecurity(env),
    },
    // address, namespace, apiKey, tls, grpcMeta: what both the Client and the Worker connect with.
    temporal: { ...temporal, taskQueue: env.TEMPORAL_TASK_QUEUE },
    aws: {
      region: env.AWS_REGION,
      table: env.DYNAMODB_TABLE,
      countsTable: env.DYNAMODB_COUNTS_TABLE,
      dynamoEndpoint,
      bucket: env.S3_BUCKET,
      s3Endpoint,
      // Self-hosted S3 servers have no per-bucket DNS names.
      s3ForcePathStyle: env.S3_FORCE_PATH_STYLE ?? s3Endpoint !== undefined,
      // An endpoint outside production is the local stack, whose static keys then apply; in
      // production an endpoint is a VPC or FIPS endpoint of real AWS, reached with real credentials.
      localStackKeys: local && env.AWS_ACCESS_KEY_ID === undefined,
    },
    limits: {
      maxEventBytes: env.MAX_EVENT_BYTES,
      maxBatchEvents: env.MAX_BATCH_EVENTS,
      maxBatchBytes: env.MAX_BATCH_BYTES,
      maxFutureSkewMs: env.MAX_FUTURE_SKEW_SECONDS * 1000,
    },
    bridge: { startConcurrency: env.BRIDGE_START_CONCURRENCY, httpPort: env.BRIDGE_HTTP_PORT, startTimeoutMs: env.BRIDGE_START_TIMEOUT_MS },
    processor: { eagerStart: env.PROCESSOR_EAGER_START },
    worker: { workflowTaskSlots: env.WORKER_WORKFLOW_TASK_SLOTS, metricsPort: env.WORKER_METRICS_PORT },
    retries: {
      hot: {
        maximumAttempts: env.HOT_RETRY_MAX_ATTEMPTS,
        initialIntervalMs: env.HOT_RETRY_INITIAL_INTERVAL_MS,
        maximumIntervalMs: env.HOT_RETRY_MAX_INTERVAL_MS,
        maxElapsedMs: env.HOT_RETRY_MAX_ELAPSED_MS,
      } satisfies RetrySettings,
      cold: {
        maximumAttempts: env.COLD_RETRY_MAX_ATTEMPTS,
        initialIntervalMs: env.COLD_RETRY_INITIAL_INTERVAL_MS,
        maximumIntervalMs: env.COLD_RETRY_MAX_INTERVAL_MS,
        maxElapsedMs: env.COLD_RETRY_MAX_ELAPSED_MS,
      } satisfies RetrySettings,
      activityTimeoutMs: env.ACTIVITY_TIMEOUT_MS,
      ...fastPath(env.FAST_PATH_TIMEOUT_MS),
    },
    graphql: {
      defaultLimit: env.GRAPHQL_DEFAULT_LIMIT,
      maxLimit: env.GRAPHQL_MAX_LIMIT,
      maxDepth: env.GRAPHQL_MAX_DEPTH,
      maxCost: env.GRAPHQL_MAX_COST,
      maxAliases: env.GRAPHQL_MAX_ALIASES,
      maxFields: env.GRAPHQL_MAX_FIELDS,
      maxStorageCalls: env.GRAPHQL_MAX_STORAGE_CALLS,
      maxSubscriptionsPerKey: env.GRAPHQL_MAX_SUBSCRIPTIONS_PER_KEY,
      subscriptionQueue: env.GRAPHQL_SUBSCRIPTION_QUEUE,
      connectionInitTimeoutMs: env.GRAPHQL_CONNECTION_INIT_TIMEOUT_MS,
      maxConnectionsPerKey: env.GRAPHQL_MAX_CONNECTIONS_PER_KEY,
      graphiql: env.GRAPHQL_GRAPHIQL ?? env.ENVIRONMENT !== 'production',
      introspection: env.GRAPHQL_INTROSPECTION ?? env.ENVIRONMENT !== 'production',
    },
    latestIndexShards: env.LATEST_INDEX_SHARDS,
    /** eventCounts: workers count stored events into DYNAMODB_COUNTS_TABLE, GraphQL reads it. */
    counts: { enabled: env.EVENT_COUNTS },
    retention: {
      hotDays: env.HOT_RETENTION_DAYS,
      sweepIntervalMs: env.HOT_SWEEP_INTERVAL_MS,
      archiveTransitionDays: env.ARCHIVE_TRANSITION_DAYS,
      archiveExpirationDays: env.ARCHIVE_EXPIRATION_DAYS,
    },
  };
}

/** Every variable the config reads, for env.example and docker-compose checks. */
export const CONFIG_VARIABLES = Object.keys(envSchema.shape) as (keyof typeof envSchema.shape)[];
export type ConfigVariable = (typeof CONFIG_VARIABLES)[number];

/** The processes that act on a variable (a processor is a bridge and a worker). */
export type ConfigReader = 'all' | 'producer' | 'bridge' | 'worker' | 'graphql' | 'processor' | 'tools';

/**
 * Which process acts on each variable, for the configuration table of docs/configuration.md
 * (infra/config-table.ts). Every process loads and validates the whole config; this says where a
 * setting takes effect. The retry settings are read by the bridge and travel in each workflow's
 * input, so changing them needs a bridge restart, not a worker one. "tools" are the stack
 * provisioning and the operator CLIs.
 */
/** Every process that opens a Kafka connection: they all read its address, id and security. */
const KAFKA_CLIENTS: readonly ConfigReader[] = ['producer', 'bridge', 'worker', 'graphql', 'tools'];
/** Every process that connects to Temporal. */
const TEMPORAL_CLIENTS: readonly ConfigReader[] = ['bridge', 'worker', 'tools'];

export const CONFIG_READERS: Record<ConfigVariable, readonly ConfigReader[]> = {
  ENVIRONMENT: ['all'],
  LOG_LEVEL: ['all'],
  HOST: ['producer', 'graphql', 'bridge'],
  PRODUCER_PORT: ['producer', 'tools'],
  GRAPHQL_PORT: ['graphql'],
  WRITE_KEYS: ['producer'],
  READ_KEYS: ['graphql', 'producer', 'bridge'],
  API_KEYS: ['all'],
  CORS_ORIGINS: ['producer'],
  GRAPHQL_CORS_ORIGINS: ['graphql'],
  TRUST_PROXY_HOPS: ['producer', 'graphql'],
  RATE_LIMIT_WRITE_PER_SECOND: ['producer'],
  RATE_LIMIT_WRITE_BURST: ['producer'],
  RATE_LIMIT_READ_PER_SECOND: ['graphql', 'producer'],
  RATE_LIMIT_READ_BURST: ['graphql', 'producer'],
  HTTP_REQUEST_TIMEOUT_MS: ['producer', 'graphql'],
  HTTP_HEADERS_TIMEOUT_MS: ['producer', 'graphql'],
  HTTP_KEEP_ALIVE_TIMEOUT_MS: ['producer', 'graphql'],
  HTTP_MAX_REQUESTS_PER_SOCKET: ['producer', 'graphql'],
  HTTP_TIMEOUT_CHECK_INTERVAL_MS: ['producer', 'graphql'],
  KAFKA_BOOTSTRAP_SERVERS: KAFKA_CLIENTS,
  KAFKA_CLIENT_ID: KAFKA_CLIENTS,
  KAFKA_TOPIC: ['producer', 'bridge', 'tools'],
  KAFKA_DLQ_TOPIC: ['bridge', 'worker', 'tools'],
  KAFKA_STORED_TOPIC: ['worker', 'graphql', 'tools'],
  KAFKA_CONSUMER_GROUP: ['bridge', 'graphql', 'tools'],
  KAFKA_PRODUCE_TIMEOUT_MS: ['producer'],
  PRODUCER_LINGER_MS: ['producer'],
  PRODUCER_MAX_BATCH_RECORDS: ['producer'],
  PRODUCER_MAX_BATCH_BYTES: ['producer'],
  PRODUCER_MAX_INFLIGHT_BYTES: ['producer'],
  PRODUCER_MAX_INFLIGHT_RECORDS: ['producer'],
  KAFKA_SECURITY_PROTOCOL: KAFKA_CLIENTS,
  KAFKA_SASL_MECHANISM: KAFKA_CLIENTS,
  KAFKA_SASL_USERNAME: KAFKA_CLIENTS,
  KAFKA_SASL_PASSWORD: KAFKA_CLIENTS,
  KAFKA_SSL_CA_PATH: KAFKA_CLIENTS,
  KAFKA_SSL_CERT_PATH: KAFKA_CLIENTS,
  KAFKA_SSL_KEY_PATH: KAFKA_CLIENTS,
  KAFKA_SSL_KEY_PASSWORD: KAFKA_CLIENTS,
  TEMPORAL_ADDRESS: TEMPORAL_CLIENTS,
  TEMPORAL_NAMESPACE: TEMPORAL_CLIENTS,
  TEMPORAL_TASK_QUEUE: TEMPORAL_CLIENTS,
  TEMPORAL_API_KEY: TEMPORAL_CLIENTS,
  TEMPORAL_TLS: TEMPORAL_CLIENTS,
  TEMPORAL_TLS_CLIENT_CERT_PATH: TEMPORAL_CLIENTS,
  TEMPORAL_TLS_CLIENT_KEY_PATH: TEMPORAL_CLIENTS,
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: TEMPORAL_CLIENTS,
  TEMPORAL_TLS_SERVER_NAME: TEMPORAL_CLIENTS,
  TEMPORAL_CONFIG_FILE: TEMPORAL_CLIENTS,
  TEMPORAL_PROFILE: TEMPORAL_CLIENTS,
  AWS_REGION: ['worker', 'graphql', 'producer', 'bridge', 'tools'],
  DYNAMODB_TABLE: ['worker', 'graphql', 'tools'],
  DYNAMODB_COUNTS_TABLE: ['worker', 'graphql', 'tools'],
  DYNAMODB_ENDPOINT: ['worker', 'graphql', 'tools'],
  S3_BUCKET: ['worker', 'tools'],
  S3_ENDPOINT: ['worker', 'tools'],
  S3_FORCE_PATH_STYLE: ['worker', 'tools'],
  AWS_ACCESS_KEY_ID: ['worker', 'graphql', 'tools'],
  MAX_EVENT_BYTES: ['producer'],
  MAX_BATCH_EVENTS: ['producer'],
  MAX_BATCH_BYTES: ['producer'],
  MAX_FUTURE_SKEW_SECONDS: ['producer'],
  BRIDGE_START_CONCURRENCY: ['bridge'],
  BRIDGE_START_TIMEOUT_MS: ['bridge'],
  BRIDGE_HTTP_PORT: ['bridge', 'tools'],
  PROCESSOR_EAGER_START: ['processor'],
  WORKER_WORKFLOW_TASK_SLOTS: ['worker'],
  WORKER_METRICS_PORT: ['worker'],
  HOT_RETRY_MAX_ATTEMPTS: ['bridge'],
  HOT_RETRY_INITIAL_INTERVAL_MS: ['bridge'],
  HOT_RETRY_MAX_INTERVAL_MS: ['bridge'],
  HOT_RETRY_MAX_ELAPSED_MS: ['bridge'],
  COLD_RETRY_MAX_ATTEMPTS: ['bridge'],
  COLD_RETRY_INITIAL_INTERVAL_MS: ['bridge'],
  COLD_RETRY_MAX_INTERVAL_MS: ['bridge'],
  COLD_RETRY_MAX_ELAPSED_MS: ['bridge'],
  ACTIVITY_TIMEOUT_MS: ['bridge'],
  FAST_PATH_TIMEOUT_MS: ['bridge'],
  GRAPHQL_DEFAULT_LIMIT: ['graphql'],
  GRAPHQL_MAX_LIMIT: ['graphql'],
  GRAPHQL_MAX_COST: ['graphql'],
  GRAPHQL_MAX_ALIASES: ['graphql'],
  GRAPHQL_MAX_FIELDS: ['graphql'],
  GRAPHQL_MAX_DEPTH: ['graphql'],
  GRAPHQL_MAX_STORAGE_CALLS: ['graphql'],
  GRAPHQL_MAX_SUBSCRIPTIONS_PER_KEY: ['graphql'],
  GRAPHQL_SUBSCRIPTION_QUEUE: ['graphql'],
  GRAPHQL_CONNECTION_INIT_TIMEOUT_MS: ['graphql'],
  GRAPHQL_MAX_CONNECTIONS_PER_KEY: ['graphql'],
  GRAPHQL_GRAPHIQL: ['graphql'],
  GRAPHQL_INTROSPECTION: ['graphql'],
  LATEST_INDEX_SHARDS: ['worker', 'graphql'],
  HOT_RETENTION_DAYS: ['producer', 'worker', 'graphql', 'tools'],
  HOT_SWEEP_INTERVAL_MS: ['worker'],
  EVENT_COUNTS: ['worker', 'graphql', 'tools'],
  ARCHIVE_TRANSITION_DAYS: ['tools'],
  ARCHIVE_EXPIRATION_DAYS: ['tools'],
};

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n')}`);
  }
}

/** Validates `env` (process.env by default). Empty strings count as unset. Throws ConfigError. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(
    CONFIG_VARIABLES.flatMap((key) => {
      const value = env[key];
      return value === undefined || value.trim() === '' ? [] : [[key, value]];
    }),
  );
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues
        .map((issue) => {
          const variable = String(issue.path[0] ?? '(environment)');
          const got = present[variable];
          const shown = got === undefined ? '' : isSecretVariable(variable) ? ' (value not shown: it is a secret)' : ` (got "${got}")`;
          return { variable, message: `${issue.message}${shown}` };
        })
        .map((problem) => redactSecrets(problem, present)),
    );
  }
  const env2 = parsed.data;
  const problems: { variable: string; message: string }[] = [];
  if (env2.GRAPHQL_GRAPHIQL === true && env2.GRAPHQL_INTROSPECTION === false) {
    problems.push({ variable: 'GRAPHQL_GRAPHIQL', message: 'GraphiQL needs introspection: set GRAPHQL_INTROSPECTION=true too, or turn GraphiQL off' });
  }
  if (env2.GRAPHQL_DEFAULT_LIMIT > env2.GRAPHQL_MAX_LIMIT) {
    problems.push({ variable: 'GRAPHQL_DEFAULT_LIMIT', message: `must not exceed GRAPHQL_MAX_LIMIT (${env2.GRAPHQL_MAX_LIMIT})` });
  }
  if (env2.KAFKA_TOPIC === env2.KAFKA_DLQ_TOPIC) {
    problems.push({ variable: 'KAFKA_DLQ_TOPIC', message: 'must differ from KAFKA_TOPIC' });
  }
  if (env2.KAFKA_STORED_TOPIC === env2.KAFKA_TOPIC || env2.KAFKA_STORED_TOPIC === env2.KAFKA_DLQ_TOPIC) {
    problems.push({ variable: 'KAFKA_STORED_TOPIC', message: 'must differ from KAFKA_TOPIC and KAFKA_DLQ_TOPIC' });
  }
  if (env2.DYNAMODB_COUNTS_TABLE === env2.DYNAMODB_TABLE) {
    problems.push({ variable: 'DYNAMODB_COUNTS_TABLE', message: 'must differ from DYNAMODB_TABLE' });
  }
  if (env2.MAX_EVENT_BYTES > env2.PRODUCER_MAX_BATCH_BYTES) {
    problems.push({
      variable: 'PRODUCER_MAX_BATCH_BYTES',
      message: `must be at least MAX_EVENT_BYTES (${env2.MAX_EVENT_BYTES}) so one event fits a produce request`,
    });
  }
  if (env2.ARCHIVE_EXPIRATION_DAYS > 0 && env2.ARCHIVE_TRANSITION_DAYS > 0 && env2.ARCHIVE_EXPIRATION_DAYS <= env2.ARCHIVE_TRANSITION_DAYS) {
    problems.push({
      variable: 'ARCHIVE_EXPIRATION_DAYS',
      message: `must exceed ARCHIVE_TRANSITION_DAYS (${env2.ARCHIVE_TRANSITION_DAYS}), or objects expire before they move (0 = never expire)`,
    });
  }
  if (env2.MAX_EVENT_BYTES > env2.MAX_BATCH_BYTES) {
    problems.push({ variable: 'MAX_EVENT_BYTES', message: `must not exceed MAX_BATCH_BYTES (${env2.MAX_BATCH_BYTES})` });
  }
  if (env2.HTTP_HEADERS_TIMEOUT_MS > env2.HTTP_REQUEST_TIMEOUT_MS) {
    problems.push({ variable: 'HTTP_HEADERS_TIMEOUT_MS', message: `must not exceed HTTP_REQUEST_TIMEOUT_MS (${env2.HTTP_REQUEST_TIMEOUT_MS})` });
  }
  if (env2.WRITE_KEYS.some((k) => env2.READ_KEYS.includes(k))) {
    problems.push({ variable: 'READ_KEYS', message: 'a key must not be in both WRITE_KEYS and READ_KEYS: write keys end up in web pages' });
  }
  problems.push(...retryProblems(env2));
  problems.push(...kafkaSecurityProblems(env2));
  const temporal = resolveTemporalSettings(env2, env);
  problems.push(...temporal.problems);
  if (problems.length > 0) throw new ConfigError(problems.map((problem) => redactSecrets(problem, present)));
  return shape(env2, temporal.settings);
}

/**
 * Whatever a message says, a secret's value (or any one of its comma-separated parts) never
 * appears in it: a safety net for messages written later that quote a value.
 */
function redactSecrets(problem: { variable: string; message: string }, present: Record<string, string>): { variable: string; message: string } {
  let message = problem.message;
  for (const [name, value] of Object.entries(present)) {
    if (!isSecretVariable(name)) continue;
    const parts = [value, ...value.split(',')].map((part) => part.trim()).filter((part) => part.length >= 4);
    for (const part of parts.sort((a, b) => b.length - a.length)) message = message.split(part).join('[redacted]');
  }
  return { variable: problem.variable, message };
}

/**
 * A retry policy Temporal cannot run (initial interval above the maximum) would fail every
 * event's step; a budget shorter than one attempt or than the first backoff would cut attempts
 * or never retry. Both are refused at startup instead.
 */
function retryProblems(env: z.infer<typeof envSchema>): { variable: string; message: string }[] {
  const problems: { variable: string; message: string }[] = [];
  for (const step of ['HOT', 'COLD'] as const) {
    const initial = env[`${step}_RETRY_INITIAL_INTERVAL_MS`];
    const maximum = env[`${step}_RETRY_MAX_INTERVAL_MS`];
    const budget = env[`${step}_RETRY_MAX_ELAPSED_MS`];
    if (initial > maximum) {
      problems.push({ variable: `${step}_RETRY_INITIAL_INTERVAL_MS`, message: `must not exceed ${step}_RETRY_MAX_INTERVAL_MS (${maximum}), got ${initial}` });
    }
    if (env.ACTIVITY_TIMEOUT_MS > budget) {
      problems.push({
        variable: `${step}_RETRY_MAX_ELAPSED_MS`,
        message: `must be at least ACTIVITY_TIMEOUT_MS (${env.ACTIVITY_TIMEOUT_MS}) so one attempt fits, got ${budget}`,
      });
    } else if (initial >= budget) {
      problems.push({
        variable: `${step}_RETRY_MAX_ELAPSED_MS`,
        message: `must exceed ${step}_RETRY_INITIAL_INTERVAL_MS (${initial}) or nothing is ever retried, got ${budget}`,
      });
    }
  }
  return problems;
}

/** For process entry points: a bad variable ends the process with a message naming it. */
/** What a process prints when its configuration is invalid (then exits 78, EX_CONFIG). */
export function configErrorText(err: ConfigError): string {
  return `${err.message}\nSee env.example for every variable and its default.\n`;
}

/** For the CLI, which reads configuration only once its arguments asked for work; processes use runMain. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(configErrorText(err));
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
}
