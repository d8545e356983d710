/**
 * The typed `Config` every process receives: the parsed variables grouped by what uses them, with
 * the defaults that depend on other variables (the local stack's endpoints outside production).
 */
import { kafkaSecurity } from '../kafka/security';
import type { TemporalConnectionSettings } from '../temporal/profile';
import type { ParsedEnv, RetryStep } from './schema';

/** Static keys of the local S3 server (versitygw); dynalite accepts any key. */
export const LOCAL_STACK_CREDENTIALS = {
  accessKeyId: 'event-platform-local',
  secretAccessKey: 'event-platform-local-secret',
} as const;

export type RetrySettings = {
  /** 0 = no cap. */
  maximumAttempts: number;
  initialIntervalMs: number;
  maximumIntervalMs: number;
  /** Budget for all attempts of a step together. */
  maxElapsedMs: number;
};

export type Config = ReturnType<typeof shape>;

/** One step's policy from its `<STEP>_RETRY_*` variables. */
function retrySettings(env: ParsedEnv, step: RetryStep): RetrySettings {
  return {
    maximumAttempts: env[`${step}_RETRY_MAX_ATTEMPTS`],
    initialIntervalMs: env[`${step}_RETRY_INITIAL_INTERVAL_MS`],
    maximumIntervalMs: env[`${step}_RETRY_MAX_INTERVAL_MS`],
    maxElapsedMs: env[`${step}_RETRY_MAX_ELAPSED_MS`],
  };
}

/** Optional in the type: a retry policy written by hand (a test, a tool) runs without a fast path. */
function fastPath(timeoutMs: number): { fastPathTimeoutMs?: number } {
  return { fastPathTimeoutMs: timeoutMs };
}

export function shape(env: ParsedEnv, temporal: TemporalConnectionSettings) {
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
      hot: retrySettings(env, 'HOT'),
      cold: retrySettings(env, 'COLD'),
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
