/**
 * Waits until each server answers its own API, then creates what the platform needs: topics,
 * table, bucket, Temporal search attributes. Idempotent: a second run reports "exists" and
 * changes nothing. `--check` only reports.
 *
 * Uses the platform's own config and client factories, so it works against the local stack and,
 * with the same variables, against real infrastructure.
 */
import { CreateTableCommand, DescribeTableCommand, ResourceNotFoundException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { status as grpcStatus } from '@grpc/grpc-js';
import { temporal as proto } from '@temporalio/proto';
import { loadConfigOrExit, type Config } from '../src/config';
import { createDynamoClient, createS3Client } from '../src/aws/clients';
import { tableDefinition } from '../src/aws/layout';
import { createKafka } from '../src/kafka/client';
import { createLogger } from '../src/logger';
import { createTemporalClient } from '../src/temporal/connection';
import { SEARCH_ATTRIBUTES } from '../src/temporal/constants';

const checkOnly = process.argv.includes('--check');
const DEADLINE_MS = 90_000;
const config = loadConfigOrExit();
const logger = createLogger({ ...config, logLevel: 'error' }, 'provision');

type Outcome = string;

async function retryUntilReady<T>(what: string, attempt: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + DEADLINE_MS;
  let delay = 200;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what} not ready after ${DEADLINE_MS / 1000}s: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 2_000);
    }
  }
}

async function kafka(cfg: Config): Promise<Outcome> {
  const admin = createKafka(cfg.kafka, logger, '-provision').admin();
  try {
    await retryUntilReady('Kafka', async () => {
      await admin.connect();
      await admin.describeCluster();
    });
    const existing = new Set(await admin.listTopics());
    const wanted = [
      { topic: cfg.kafka.topic, numPartitions: 4 },
      { topic: cfg.kafka.dlqTopic, numPartitions: 1 },
    ];
    const missing = wanted.filter((t) => !existing.has(t.topic));
    if (missing.length > 0 && !checkOnly) {
      await admin.createTopics({ topics: missing.map((t) => ({ ...t, replicationFactor: -1 })), waitForLeaders: true });
    }
    const meta = await admin.fetchTopicMetadata({ topics: wanted.map((t) => t.topic).filter((t) => existing.has(t) || !checkOnly) });
    const parts = meta.topics.map((t) => `${t.name} (${t.partitions.length} partitions)`).join(', ');
    return missing.length === 0 ? `topics exist: ${parts}` : checkOnly ? `missing topics: ${missing.map((t) => t.topic).join(', ')}` : `created topics: ${parts}`;
  } finally {
    await admin.disconnect();
  }
}

async function dynamo(cfg: Config, client: DynamoDBClient): Promise<Outcome> {
  const describe = () => client.send(new DescribeTableCommand({ TableName: cfg.aws.table }));
  const found = await retryUntilReady('DynamoDB', async () => {
    try {
      return await describe();
    } catch (err) {
      if (err instanceof ResourceNotFoundException) return undefined;
      throw err;
    }
  });
  if (found) return `table ${cfg.aws.table} exists (${found.Table?.TableStatus}, indexes: ${found.Table?.GlobalSecondaryIndexes?.map((i) => i.IndexName).join(', ')})`;
  if (checkOnly) return `table ${cfg.aws.table} missing`;
  await client.send(new CreateTableCommand(tableDefinition(cfg.aws.table)));
  await retryUntilReady(`table ${cfg.aws.table}`, async () => {
    const t = await describe();
    if (t.Table?.TableStatus !== 'ACTIVE') throw new Error(`status ${t.Table?.TableStatus}`);
  });
  return `created table ${cfg.aws.table}`;
}

async function s3(cfg: Config, client: S3Client): Promise<Outcome> {
  const exists = await retryUntilReady('S3', async () => {
    try {
      await client.send(new HeadBucketCommand({ Bucket: cfg.aws.bucket }));
      return true;
    } catch (err) {
      const code = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (code === 404) return false;
      throw err;
    }
  });
  if (exists) return `bucket ${cfg.aws.bucket} exists`;
  if (checkOnly) return `bucket ${cfg.aws.bucket} missing`;
  await client.send(new CreateBucketCommand({ Bucket: cfg.aws.bucket }));
  return `created bucket ${cfg.aws.bucket}`;
}

async function temporal(cfg: Config): Promise<Outcome> {
  const client = await retryUntilReady('Temporal', async () => {
    const c = await createTemporalClient(cfg.temporal);
    await c.workflowService.describeNamespace({ namespace: cfg.temporal.namespace });
    return c;
  });
  try {
    const { customAttributes } = await client.connection.operatorService.listSearchAttributes({ namespace: cfg.temporal.namespace });
    const keyword = proto.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
    const missing = Object.values(SEARCH_ATTRIBUTES).filter((name) => !customAttributes || !(name in customAttributes));
    if (missing.length === 0) return `namespace ${cfg.temporal.namespace} has search attributes ${Object.values(SEARCH_ATTRIBUTES).join(', ')}`;
    if (checkOnly) return `namespace ${cfg.temporal.namespace} lacks search attributes ${missing.join(', ')}`;
    try {
      await client.connection.operatorService.addSearchAttributes({
        namespace: cfg.temporal.namespace,
        searchAttributes: Object.fromEntries(missing.map((name) => [name, keyword])),
      });
    } catch (err) {
      if ((err as { code?: number }).code !== grpcStatus.ALREADY_EXISTS) throw err;
    }
    return `added search attributes ${missing.join(', ')} to namespace ${cfg.temporal.namespace}`;
  } finally {
    await client.connection.close();
  }
}

async function main(): Promise<void> {
  const dynamoClient = createDynamoClient(config.aws);
  const s3Client = createS3Client(config.aws);
  const checks: [string, Promise<Outcome>][] = [
    ['temporal', temporal(config)],
    ['kafka', kafka(config)],
    ['dynamodb', dynamo(config, dynamoClient)],
    ['s3', s3(config, s3Client)],
  ];
  let failed = false;
  for (const [name, outcome] of checks) {
    try {
      process.stderr.write(`  ${name.padEnd(9)} ready: ${await outcome}\n`);
    } catch (err) {
      failed = true;
      process.stderr.write(`  ${name.padEnd(9)} NOT READY: ${(err as Error).message}\n`);
    }
  }
  dynamoClient.destroy();
  s3Client.destroy();
  process.exitCode = failed ? 1 : 0;
}

void main();
