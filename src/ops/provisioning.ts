/**
 * Creates what the platform needs (topics, table, bucket, Temporal search attributes) once each
 * server answers its own API. Idempotent: what exists is reported and left alone. Used by
 * `infra/provision.ts` (the stack and docker-compose) and by the integration tests, which
 * provision a private copy of every resource per run and remove it afterwards.
 */
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  ResourceNotFoundException,
  UpdateTimeToLiveCommand,
  type CreateTableCommandInput,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import {
  type BucketLocationConstraint,
  CreateBucketCommand,
  type CreateBucketCommandInput,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  GetBucketLifecycleConfigurationCommand,
  HeadBucketCommand,
  type LifecycleRule,
  ListObjectsV2Command,
  PutBucketLifecycleConfigurationCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { status as grpcStatus } from '@grpc/grpc-js';
import { ConfigResourceTypes, type Admin } from 'kafkajs';
import { temporal as proto } from '@temporalio/proto';
import type { Logger } from 'pino';
import type { Config } from '../platform/config';
import { createDynamoClient, createS3Client } from '../platform/aws';
import { tableDefinition } from '../store/hot/layout';
import { countsTableDefinition } from '../store/counts/buckets';
import { countsGroupId } from '../store/counts/consumer';
import { createKafka } from '../platform/kafka/client';
import { createTemporalClient } from '../platform/temporal/connection';
import { SEARCH_ATTRIBUTES } from '../../workflows/contract';

export const RAW_TOPIC_PARTITIONS = 4;
/** events.stored: announcements of stored events, read by every GraphQL instance (subscriptions) and by the counter. */
export const STORED_TOPIC_PARTITIONS = 4;
/**
 * The counter (src/store/counts/) must read every announcement: a week covers any outage of the counts
 * table or the workers that an operator would let run unattended. Subscribers read only the end.
 */
export const STORED_TOPIC_RETENTION_MS = 7 * 86_400_000;

export interface ProvisionOptions {
  checkOnly?: boolean;
  /** How long to wait for each server to answer. */
  deadlineMs?: number;
  logger: Logger;
}

/** Retries `attempt` with backoff until it resolves or the deadline passes. */
export async function retryUntilReady<T>(what: string, deadlineMs: number, attempt: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  let delay = 100;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what} not ready after ${Math.round(deadlineMs / 1000)}s: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 2_000);
    }
  }
}

const httpStatus = (err: unknown) => (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

export async function provisionKafka(cfg: Config, opts: ProvisionOptions): Promise<string> {
  const admin = createKafka(cfg.kafka, opts.logger, '-provision').admin();
  try {
    await retryUntilReady('Kafka', opts.deadlineMs ?? 90_000, async () => {
      await admin.connect();
      await admin.describeCluster();
    });
    const existing = new Set(await admin.listTopics());
    const wanted = [
      { topic: cfg.kafka.topic, numPartitions: RAW_TOPIC_PARTITIONS },
      { topic: cfg.kafka.dlqTopic, numPartitions: 1 },
      {
        topic: cfg.kafka.storedTopic,
        numPartitions: STORED_TOPIC_PARTITIONS,
        configEntries: [{ name: 'retention.ms', value: String(STORED_TOPIC_RETENTION_MS) }],
      },
    ];
    const missing = wanted.filter((t) => !existing.has(t.topic));
    if (missing.length > 0 && opts.checkOnly) return `missing topics: ${missing.map((t) => t.topic).join(', ')}`;
    if (missing.length > 0) await admin.createTopics({ topics: missing, waitForLeaders: true });
    const raised = existing.has(cfg.kafka.storedTopic) ? await raiseStoredRetention(admin, cfg.kafka.storedTopic, opts) : '';
    const meta = await admin.fetchTopicMetadata({ topics: wanted.map((t) => t.topic) });
    // Replicas and min.insync.replicas are the brokers' defaults (default.replication.factor,
    // min.insync.replicas): 1 on the single-broker stack, 3 and 2 on the cluster profile or MSK.
    // Kafka refuses to create a topic with more replicas than live brokers, so none is made short.
    const parts = meta.topics.map((t) => `${t.name} (${t.partitions.length} partitions × ${t.partitions[0]?.replicas.length ?? 0} replicas)`).join(', ');
    return (missing.length === 0 ? `topics exist: ${parts}` : `created topics: ${parts}`) + raised;
  } finally {
    await admin.disconnect();
  }
}

/** A stored topic made with the old hour of retention gets STORED_TOPIC_RETENTION_MS (never lowered). */
async function raiseStoredRetention(admin: Admin, topic: string, opts: ProvisionOptions): Promise<string> {
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms'] }],
  });
  const current = Number(described.resources[0]?.configEntries.find((e) => e.configName === 'retention.ms')?.configValue ?? -1);
  if (current === -1 || current >= STORED_TOPIC_RETENTION_MS) return '';
  if (opts.checkOnly) return `; ${topic} keeps ${current} ms, under the ${STORED_TOPIC_RETENTION_MS} ms counting needs`;
  // AlterConfigs replaces the topic's overrides as a set: retention.ms is the only one provisioning sets.
  await admin.alterConfigs({
    validateOnly: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'retention.ms', value: String(STORED_TOPIC_RETENTION_MS) }] }],
  });
  return `; ${topic} retention raised to ${STORED_TOPIC_RETENTION_MS} ms`;
}

export async function provisionTable(cfg: Config, opts: ProvisionOptions): Promise<string> {
  const client = createDynamoClient(cfg.aws);
  try {
    const hot = await ensureTable(client, tableDefinition(cfg.aws.table), cfg, opts);
    // The counts table (eventCounts) is created even with EVENT_COUNTS=false, so turning counting on later needs no step.
    const counts = await ensureTable(client, countsTableDefinition(cfg.aws.countsTable), cfg, opts);
    return `${hot}; ${counts}`;
  } finally {
    client.destroy();
  }
}

async function ensureTable(client: DynamoDBClient, definition: CreateTableCommandInput, cfg: Config, opts: ProvisionOptions): Promise<string> {
  const name = definition.TableName!;
  const deadlineMs = opts.deadlineMs ?? 90_000;
  const describe = () => client.send(new DescribeTableCommand({ TableName: name }));
  const found = await retryUntilReady('DynamoDB', deadlineMs, async () => {
    try {
      return await describe();
    } catch (err) {
      if (err instanceof ResourceNotFoundException) return undefined;
      throw err;
    }
  });
  if (found) {
    const indexes = found.Table?.GlobalSecondaryIndexes?.map((i) => i.IndexName).join(', ');
    return `table ${name} exists (${found.Table?.TableStatus}${indexes ? `, indexes: ${indexes}` : ''})${await tableTtl(client, name, cfg, opts)}`;
  }
  if (opts.checkOnly) return `table ${name} missing`;
  await client.send(new CreateTableCommand(definition));
  await retryUntilReady(`table ${name}`, deadlineMs, async () => {
    const t = await describe();
    if (t.Table?.TableStatus !== 'ACTIVE') throw new Error(`status ${t.Table?.TableStatus}`);
  });
  return `created table ${name}${await tableTtl(client, name, cfg, opts)}`;
}

/** The attribute DynamoDB's TTL reads (src/store/hot/layout.ts writes it with HOT_RETENTION_DAYS). */
export const TTL_ATTRIBUTE = 'expires_at';

/** With HOT_RETENTION_DAYS set, TTL on expires_at (once); a server without TTL is said so. */
async function tableTtl(client: DynamoDBClient, table: string, cfg: Config, opts: ProvisionOptions): Promise<string> {
  if (cfg.retention.hotDays === 0) return '';
  try {
    const ttl = (await client.send(new DescribeTimeToLiveCommand({ TableName: table }))).TimeToLiveDescription;
    if (ttl?.AttributeName === TTL_ATTRIBUTE && (ttl.TimeToLiveStatus === 'ENABLED' || ttl.TimeToLiveStatus === 'ENABLING')) return `; TTL on ${TTL_ATTRIBUTE}`;
    if (opts.checkOnly) return `; TTL off (HOT_RETENTION_DAYS=${cfg.retention.hotDays} wants it on ${TTL_ATTRIBUTE})`;
    await client.send(new UpdateTimeToLiveCommand({ TableName: table, TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true } }));
    return `; TTL turned on for ${TTL_ATTRIBUTE}`;
  } catch (err) {
    if (/UnknownOperation|UnknownError|NotImplemented/.test((err as Error).name)) {
      return "; this server has no TTL: the workers' sweep deletes expired items (HOT_SWEEP_INTERVAL_MS)";
    }
    throw err;
  }
}

/** The archive's lifecycle rule, replacing only the platform's own rule among the bucket's rules. */
export const LIFECYCLE_RULE_ID = 'event-platform-archive';

export function archiveLifecycleRule(transitionDays: number, expirationDays: number): LifecycleRule | undefined {
  if (transitionDays === 0 && expirationDays === 0) return undefined;
  return {
    ID: LIFECYCLE_RULE_ID,
    Status: 'Enabled',
    Filter: { Prefix: 'events/' },
    ...(transitionDays > 0 ? { Transitions: [{ Days: transitionDays, StorageClass: 'GLACIER_IR' }] } : {}),
    ...(expirationDays > 0 ? { Expiration: { Days: expirationDays } } : {}),
  };
}

async function bucketLifecycle(client: S3Client, cfg: Config, opts: ProvisionOptions): Promise<string> {
  const rule = archiveLifecycleRule(cfg.retention.archiveTransitionDays, cfg.retention.archiveExpirationDays);
  if (!rule) return '';
  try {
    let others: LifecycleRule[] = [];
    try {
      const current = (await client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: cfg.aws.bucket }))).Rules ?? [];
      const ours = current.find((r) => r.ID === LIFECYCLE_RULE_ID);
      if (ours && JSON.stringify(ours.Transitions ?? []) === JSON.stringify(rule.Transitions ?? []) && ours.Expiration?.Days === rule.Expiration?.Days) {
        return `; lifecycle rule ${LIFECYCLE_RULE_ID} in place`;
      }
      others = current.filter((r) => r.ID !== LIFECYCLE_RULE_ID);
    } catch (err) {
      if ((err as Error).name !== 'NoSuchLifecycleConfiguration') throw err;
    }
    if (opts.checkOnly) return `; lifecycle rule ${LIFECYCLE_RULE_ID} missing or different`;
    await client.send(new PutBucketLifecycleConfigurationCommand({ Bucket: cfg.aws.bucket, LifecycleConfiguration: { Rules: [...others, rule] } }));
    return `; lifecycle rule ${LIFECYCLE_RULE_ID} set`;
  } catch (err) {
    if ((err as Error).name === 'NotImplemented') return '; this S3 server has no lifecycle rules (objects stay where they are)';
    throw err;
  }
}

/**
 * S3 creates a bucket in us-east-1 unless the request names another region, and refuses a request
 * sent to another region's endpoint without one (IllegalLocationConstraintException).
 */
export function createBucketInput(bucket: string, region: string): CreateBucketCommandInput {
  return region === 'us-east-1'
    ? { Bucket: bucket }
    : { Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } };
}

export async function provisionBucket(cfg: Config, opts: ProvisionOptions): Promise<string> {
  const client = createS3Client(cfg.aws);
  try {
    const exists = await retryUntilReady('S3', opts.deadlineMs ?? 90_000, async () => {
      try {
        await client.send(new HeadBucketCommand({ Bucket: cfg.aws.bucket }));
        return true;
      } catch (err) {
        if (httpStatus(err) === 404) return false;
        throw err;
      }
    });
    if (exists) return `bucket ${cfg.aws.bucket} exists${await bucketLifecycle(client, cfg, opts)}`;
    if (opts.checkOnly) return `bucket ${cfg.aws.bucket} missing`;
    await client.send(new CreateBucketCommand(createBucketInput(cfg.aws.bucket, cfg.aws.region)));
    return `created bucket ${cfg.aws.bucket} in ${cfg.aws.region}${await bucketLifecycle(client, cfg, opts)}`;
  } finally {
    client.destroy();
  }
}

export async function provisionSearchAttributes(cfg: Config, opts: ProvisionOptions): Promise<string> {
  const client = await retryUntilReady('Temporal', opts.deadlineMs ?? 90_000, async () => {
    const c = await createTemporalClient(cfg.temporal);
    try {
      await c.workflowService.describeNamespace({ namespace: cfg.temporal.namespace });
      return c;
    } catch (err) {
      await c.connection.close();
      throw err;
    }
  });
  try {
    const { customAttributes } = await client.connection.operatorService.listSearchAttributes({ namespace: cfg.temporal.namespace });
    const names = Object.values(SEARCH_ATTRIBUTES);
    const missing = names.filter((name) => !customAttributes || !(name in customAttributes));
    const ns = `namespace ${cfg.temporal.namespace}`;
    if (missing.length === 0) return `${ns} has search attributes ${names.join(', ')}`;
    if (opts.checkOnly) return `${ns} lacks search attributes ${missing.join(', ')}`;
    const keyword = proto.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
    try {
      await client.connection.operatorService.addSearchAttributes({
        namespace: cfg.temporal.namespace,
        searchAttributes: Object.fromEntries(missing.map((name) => [name, keyword])),
      });
    } catch (err) {
      if ((err as { code?: number }).code !== grpcStatus.ALREADY_EXISTS) throw err;
    }
    return `added search attributes ${missing.join(', ')} to ${ns}`;
  } finally {
    await client.connection.close();
  }
}

/** Runs every step concurrently; returns one line per service, and whether all succeeded. */
export async function provisionAll(cfg: Config, opts: ProvisionOptions): Promise<{ ok: boolean; lines: string[] }> {
  const steps: [string, Promise<string>][] = [
    ['temporal', provisionSearchAttributes(cfg, opts)],
    ['kafka', provisionKafka(cfg, opts)],
    ['dynamodb', provisionTable(cfg, opts)],
    ['s3', provisionBucket(cfg, opts)],
  ];
  const settled = await Promise.allSettled(steps.map(([, p]) => p));
  const lines = settled.map((r, i) => {
    const name = steps[i]![0].padEnd(9);
    return r.status === 'fulfilled' ? `${name} ready: ${r.value}` : `${name} NOT READY: ${(r.reason as Error).message}`;
  });
  return { ok: settled.every((r) => r.status === 'fulfilled'), lines };
}

/** Deletes the topics, table and bucket (with its objects) named in `cfg`. For test teardown. */
export async function deprovision(cfg: Config, logger: Logger): Promise<void> {
  const admin = createKafka(cfg.kafka, logger, '-deprovision').admin();
  const dynamo = createDynamoClient(cfg.aws);
  const s3 = createS3Client(cfg.aws);
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const topics = [cfg.kafka.topic, cfg.kafka.dlqTopic, cfg.kafka.storedTopic].filter((t) => existing.has(t));
    if (topics.length > 0) await admin.deleteTopics({ topics });
    await admin.deleteGroups([cfg.kafka.consumerGroup, countsGroupId(cfg.kafka.consumerGroup)]).catch(() => undefined);
    for (const table of [cfg.aws.table, cfg.aws.countsTable]) {
      await dynamo.send(new DeleteTableCommand({ TableName: table })).catch((err: unknown) => {
        if (!(err instanceof ResourceNotFoundException)) throw err;
      });
    }
    for (;;) {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: cfg.aws.bucket })).catch((err: unknown) => {
        if (httpStatus(err) === 404) return undefined;
        throw err;
      });
      if (!page) return;
      const keys = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
      if (keys.length === 0) break;
      await s3.send(new DeleteObjectsCommand({ Bucket: cfg.aws.bucket, Delete: { Objects: keys } }));
    }
    await s3.send(new DeleteBucketCommand({ Bucket: cfg.aws.bucket }));
  } finally {
    await admin.disconnect();
    dynamo.destroy();
    s3.destroy();
  }
}
