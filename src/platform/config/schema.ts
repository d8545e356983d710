/**
 * The environment's schema: one entry per variable the platform reads, each validated on its own
 * so an error names it, with its default (which points at the local stack). Checks across
 * variables are in load.ts; the typed config built from the result is in shape.ts.
 */
import { existsSync, statSync } from 'node:fs';
import { z } from 'zod';
import { KEY_FORMAT_TEXT, isWellFormedKey } from '../http/keys';
import { SASL_MECHANISMS, SECURITY_PROTOCOLS } from '../kafka/security';

const hostPort = /^[A-Za-z0-9.\-_[\]:]+:\d{1,5}$/;

const int = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^-?\d+$/, `expected an integer between ${min} and ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `expected an integer >= ${min}`).max(max, `expected an integer <= ${max}`));

const port = int(1, 65535);
/** A number of days, up to 100 years: the hot retention and the archive lifecycle (0 turns each off). */
const days = int(0, 36_500);
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
/**
 * A comma-separated list (spaces around an entry do not count). A value that is set lists
 * something: one of only commas and spaces, or with an empty entry (`a,,b`, a comma at an end),
 * is refused rather than read as fewer entries. It is what a template such as "$KEY_1,$KEY_2"
 * gives when a variable it names is empty, and for the key lists "no keys" means the API is open.
 * Unset or '' is the default (load.ts).
 */
const commaList = (items: string, unsetMeans: string, isItem: (item: string) => boolean, expected: string) =>
  z.string().transform((value, ctx) => {
    const entries = value.split(',').map((entry) => entry.trim());
    const empty = entries.findIndex((entry) => entry === '');
    if (entries.every((entry) => entry === '')) {
      ctx.addIssue({ code: 'custom', message: `lists no ${items}, only commas or spaces (unset or empty means ${unsetMeans}); ${expected}` });
    } else if (empty >= 0) {
      ctx.addIssue({ code: 'custom', message: `entry ${empty + 1} of ${entries.length} is empty (two commas in a row, or one at an end): ${expected}` });
    } else if (!entries.every(isItem)) {
      ctx.addIssue({ code: 'custom', message: expected });
    } else return entries;
    return z.NEVER;
  });
/** API keys (src/platform/http/keys.ts says what a key looks like). */
const keyList = commaList('keys', 'no keys: the API is open', isWellFormedKey, `expected a comma-separated list of keys, each ${KEY_FORMAT_TEXT}`).default([]);
/** Allowed CORS origins: `*` or exact origins, scheme://host[:port] (a host name, or an IPv6 address in brackets), no path. */
const originList = commaList(
  'origins',
  'none: no CORS headers',
  (o) => o === '*' || /^https?:\/\/([A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?$/.test(o),
  'expected * or a comma-separated list of origins such as https://shop.example.com (no path, no trailing slash)',
).default([]);

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

/** The workflow steps with a retry policy of their own: HOT = storeHot, COLD = archiveCold. */
export const RETRY_STEPS = ['HOT', 'COLD'] as const;
export type RetryStep = (typeof RETRY_STEPS)[number];

/** One step's retry variables, `<STEP>_RETRY_*`: both steps take the same bounds and defaults. */
function stepRetry<Step extends RetryStep>(step: Step) {
  const variables = {
    // 0 = no attempt cap: the elapsed budget decides.
    MAX_ATTEMPTS: int(0, 100_000).default(0),
    INITIAL_INTERVAL_MS: int(10, 3_600_000).default(1_000),
    MAX_INTERVAL_MS: int(10, 86_400_000).default(30_000),
    MAX_ELAPSED_MS: int(1_000, 30 * 86_400_000).default(3_600_000),
  };
  return Object.fromEntries(Object.entries(variables).map(([name, schema]) => [`${step}_RETRY_${name}`, schema])) as {
    [Name in keyof typeof variables as `${Step}_RETRY_${Name}`]: (typeof variables)[Name];
  };
}

/** Raw schema: one key per environment variable, each validated on its own so errors name it. */
export const envSchema = z.object({
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

  KAFKA_BOOTSTRAP_SERVERS: commaList(
    'brokers',
    'localhost:9092',
    (s) => hostPort.test(s),
    'expected a comma-separated list of host:port, such as localhost:9092',
  ).default(['localhost:9092']),
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
  ...stepRetry('HOT'),
  ...stepRetry('COLD'),
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
  HOT_RETENTION_DAYS: days.default(0),
  HOT_SWEEP_INTERVAL_MS: int(0, 86_400_000).default(3_600_000),
  EVENT_COUNTS: bool.default(true),
  ARCHIVE_TRANSITION_DAYS: days.default(30),
  ARCHIVE_EXPIRATION_DAYS: days.default(0),
});

/** The variables as the schema parsed them, before shape.ts groups them. */
export type ParsedEnv = z.infer<typeof envSchema>;

/** Every variable the config reads, for env.example and docker-compose checks. */
export const CONFIG_VARIABLES = Object.keys(envSchema.shape) as (keyof typeof envSchema.shape)[];
export type ConfigVariable = (typeof CONFIG_VARIABLES)[number];

/**
 * Variables for which a value of only spaces is a value, read by the schema (and refused): the
 * lists, whose values are arrays, and API_KEYS, refused whenever it is set. Elsewhere such a
 * value counts as unset, like ''.
 */
export const BLANK_IS_A_VALUE: ReadonlySet<ConfigVariable> = new Set([
  'API_KEYS',
  ...CONFIG_VARIABLES.filter((name) => Array.isArray(envSchema.parse({})[name])),
]);
