/** What a user would look at: the table, the bucket, the DLQ, GraphQL, the Temporal CLI. */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Consumer } from 'kafkajs';
import type { DeadLetterRecord } from '../../src/platform/kafka/deadLetter';
import { readTopicToEnd } from '../../src/platform/kafka/readToEnd';
import { partitionLags } from '../../src/ops/status';
import { countsGroupId } from '../../src/store/counts/consumer';
import { startPlatform, type Platform } from './platform';
import { waitFor } from './wait';
import { temporalCliPath } from './paths';

export async function postJson(url: string, body: unknown): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

export async function graphql<T = Record<string, unknown>>(p: Platform, query: string): Promise<{ data?: T; errors?: { message: string }[] }> {
  const res = await fetch(`${p.graphqlUrl}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
  return (await res.json()) as { data?: T; errors?: { message: string }[] };
}

export async function getItem(p: Platform, eventId: string): Promise<Record<string, unknown> | undefined> {
  const out = await p.dynamo.send(new GetItemCommand({ TableName: p.config.aws.table, Key: { event_id: { S: eventId } }, ConsistentRead: true }));
  return out.Item && unmarshall(out.Item);
}

export async function countByType(p: Platform, eventType: string): Promise<number> {
  let count = 0;
  let start: Record<string, never> | undefined;
  do {
    const out = await p.dynamo.send(
      new QueryCommand({
        TableName: p.config.aws.table,
        IndexName: 'by_type',
        KeyConditionExpression: 'event_type = :t',
        ExpressionAttributeValues: { ':t': { S: eventType } },
        Select: 'COUNT',
        ExclusiveStartKey: start,
      }),
    );
    count += out.Count ?? 0;
    start = out.LastEvaluatedKey as Record<string, never> | undefined;
  } while (start);
  return count;
}

export async function getObject(p: Platform, key: string): Promise<{ body: string; contentType?: string } | undefined> {
  try {
    const out = await p.s3.send(new GetObjectCommand({ Bucket: p.config.aws.bucket, Key: key }));
    return { body: await out.Body!.transformToString(), contentType: out.ContentType };
  } catch (err) {
    if ((err as { name?: string }).name === 'NoSuchKey') return undefined;
    throw err;
  }
}

export async function listKeys(p: Platform, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const out = await p.s3.send(new ListObjectsV2Command({ Bucket: p.config.aws.bucket, Prefix: prefix, ContinuationToken: token }));
    keys.push(...(out.Contents ?? []).map((o) => o.Key!));
    token = out.NextContinuationToken;
  } while (token);
  return keys;
}

/** The parts of `temporal workflow describe -o json` the tests read. */
export interface CliDescription {
  workflowExecutionInfo: { status: string; type: { name: string } };
  result?: unknown;
  pendingActivities?: { activityType?: { name?: string }; attempt?: number; lastFailure?: { message?: string } }[];
}

/** `temporal workflow describe -o json`: the same view an operator gets. */
export async function describeWithCli(p: Platform, workflowId: string): Promise<CliDescription> {
  const { stdout } = await promisify(execFile)(temporalCliPath(), [
    'workflow',
    'describe',
    '--address',
    p.config.temporal.address,
    '--namespace',
    p.config.temporal.namespace,
    '-w',
    workflowId,
    '-o',
    'json',
  ]);
  return JSON.parse(stdout) as CliDescription;
}

/** Collects every record of the DLQ topic from the beginning, for as long as the test runs. */
export async function watchDlq(p: Platform): Promise<{ records: DeadLetterRecord[]; stop: () => Promise<void> }> {
  const records: DeadLetterRecord[] = [];
  const groupId = `dlq-watch-${randomUUID()}`;
  const consumer: Consumer = p.kafka.consumer({ groupId });
  await consumer.connect();
  await consumer.subscribe({ topic: p.config.kafka.dlqTopic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      records.push(JSON.parse(message.value!.toString('utf8')) as DeadLetterRecord);
    },
  });
  return {
    records,
    stop: async () => {
      await consumer.disconnect();
      const admin = p.kafka.admin();
      await admin.connect();
      await admin.deleteGroups([groupId]).catch(() => undefined);
      await admin.disconnect();
    },
  };
}

export type DlqWatch = Awaited<ReturnType<typeof watchDlq>>;

/** A platform whose DLQ is watched from its start; `stop` ends the watch, then the platform. */
export interface WatchedPlatform extends Platform {
  dlq: DlqWatch;
}

export async function startWatchedPlatform(opts: Parameters<typeof startPlatform>[0]): Promise<WatchedPlatform> {
  const p = await startPlatform(opts);
  try {
    const dlq = await watchDlq(p);
    return {
      ...p,
      dlq,
      async stop() {
        await dlq.stop();
        await p.stop();
      },
    };
  } catch (err) {
    await p.stop();
    throw err;
  }
}

/** The event_ids of every record on `topic` whose key is `key`, read from the beginning to the current end. */
export async function readKeys(p: Platform, topic: string, key: string): Promise<string[]> {
  const ids: string[] = [];
  await readTopicToEnd(p.kafka, topic, (message) => {
    if (message.key?.toString() === key) ids.push((JSON.parse(message.value!.toString()) as { event_id: string }).event_id);
  });
  return ids;
}

/** Waits until the counter's group has committed up to the end of every partition of the stored topic. */
export async function countsCaughtUp(p: Platform): Promise<void> {
  const topic = p.config.kafka.storedTopic;
  const groupId = countsGroupId(p.config.kafka.consumerGroup);
  const admin = p.kafka.admin();
  await admin.connect();
  try {
    await waitFor(
      `the counter (${groupId}) to reach the end of ${topic}`,
      async () => {
        const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
        return partitionLags(ends, committed[0]?.partitions ?? []).every((p) => p.lag === 0);
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
  } finally {
    await admin.disconnect();
  }
}

/** The sum of eventCounts over [from, to) by day, as a user would total them. */
export async function countedEvents(p: Platform, filter: string, from: string, to: string): Promise<number> {
  const out = await graphql<{ eventCounts: { count: number }[] }>(p, `{ eventCounts(${filter} from: "${from}", to: "${to}", interval: DAY) { count } }`);
  if (out.errors) throw new Error(`eventCounts: ${JSON.stringify(out.errors)}`);
  return out.data!.eventCounts.reduce((sum, b) => sum + b.count, 0);
}
