/**
 * The fault suite's audit: reads what the stores and the Temporal server hold (never the
 * platform's own counters) and checks it against the client's ledger.
 */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { archiveKey } from '../../src/store/archive/layout';
import { bucketOf, bucketStartMs, INTERVAL_MS, INTERVALS, type Interval } from '../../src/store/counts/buckets';
import { MAX_COUNT_BUCKETS } from '../../src/graphql/arguments';
import { inParallel } from '../../src/platform/inParallel';
import { readTopicToEnd } from '../../src/platform/kafka/readToEnd';
import { graphql } from '../support/clients';
import type { Platform } from '../support/platform';
import type { Ledger } from './load';

export interface StoredItem {
  event_id: string;
  event_type: string;
  user_id: string;
  timestamp: string;
  received_at: string;
  payload: { seq?: number; phase?: string } & Record<string, unknown>;
}

/** Every item of the run's table (a Scan is fine here: it is the audit, not the product). */
export async function scanItems(p: Platform): Promise<StoredItem[]> {
  const items: StoredItem[] = [];
  let start: Record<string, never> | undefined;
  do {
    const out = await p.dynamo.send(new ScanCommand({ TableName: p.config.aws.table, ExclusiveStartKey: start, ConsistentRead: true }));
    items.push(...(out.Items ?? []).map((i) => unmarshall(i) as StoredItem));
    start = out.LastEvaluatedKey as Record<string, never> | undefined;
  } while (start);
  return items;
}

export async function countItems(p: Platform): Promise<number> {
  let count = 0;
  let start: Record<string, never> | undefined;
  do {
    const out = await p.dynamo.send(new ScanCommand({ TableName: p.config.aws.table, ExclusiveStartKey: start, Select: 'COUNT', ConsistentRead: true }));
    count += out.Count ?? 0;
    start = out.LastEvaluatedKey as Record<string, never> | undefined;
  } while (start);
  return count;
}

async function listAllKeys(p: Platform): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const out = await p.s3.send(new ListObjectsV2Command({ Bucket: p.config.aws.bucket, Prefix: 'events/', ContinuationToken: token }));
    keys.push(...(out.Contents ?? []).map((o) => o.Key!));
    token = out.NextContinuationToken;
  } while (token);
  return keys;
}

export interface RunCounts {
  completed: number;
  failed: number;
  other: number;
}

/** Every processEvent run of the run's task queue, by workflow ID. */
export async function listRuns(p: Platform): Promise<Map<string, RunCounts>> {
  const runs = new Map<string, RunCounts>();
  for await (const wf of p.temporal.workflow.list({ query: `TaskQueue = '${p.config.temporal.taskQueue}'` })) {
    const r = runs.get(wf.workflowId) ?? { completed: 0, failed: 0, other: 0 };
    if (wf.status.name === 'COMPLETED') r.completed++;
    else if (wf.status.name === 'FAILED') r.failed++;
    else r.other++;
    runs.set(wf.workflowId, r);
  }
  return runs;
}

/** Runs of the run's task queue in one status, as Temporal visibility counts them. */
export async function countRuns(p: Platform, status: 'Running' | 'Completed'): Promise<number> {
  const { count } = await p.temporal.workflow.count(`TaskQueue = '${p.config.temporal.taskQueue}' AND ExecutionStatus = '${status}'`);
  return count;
}

export interface Verdict {
  phase: string;
  eventId: string;
  outcome: 'stored' | 'dead-lettered' | 'lost' | 'doubled' | 'mismatch';
  detail?: string;
}

export interface AuditResult {
  verdicts: Verdict[];
  /** Events answered 4xx that are stored anyway. */
  rejectedButStored: string[];
  /** Items, objects or runs whose event_id no client was told about (and no unknown seq explains). */
  phantoms: string[];
  /** seqs stored under more than one event_id. */
  doubledSeqs: number[];
  items: number;
  objects: number;
  deadLettered: number;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export async function audit(p: Platform, ledger: Ledger): Promise<AuditResult> {
  const [items, keys, runs] = await Promise.all([scanItems(p), listAllKeys(p), listRuns(p)]);
  const dlq = new Map<string, string>();
  await readTopicToEnd(p.kafka, p.config.kafka.dlqTopic, (m) => {
    const record = JSON.parse(m.value!.toString('utf8')) as { original?: { event_id?: string }; error?: { message?: string } };
    if (record.original?.event_id) dlq.set(record.original.event_id, record.error?.message ?? '(no reason)');
  });

  const itemById = new Map(items.map((i) => [i.event_id, i]));
  const keysById = new Map<string, string[]>();
  for (const key of keys) {
    const id = key.slice(key.lastIndexOf('/') + 1).replace(/\.json$/, '');
    keysById.set(id, [...(keysById.get(id) ?? []), key]);
  }
  const objects = new Map<string, unknown>();
  await inParallel([...keysById.entries()], 16, async ([id, ks]) => {
    const out = await p.s3.send(new GetObjectCommand({ Bucket: p.config.aws.bucket, Key: ks[0]! }));
    objects.set(id, JSON.parse(await out.Body!.transformToString()));
  });

  const verdicts: Verdict[] = [];
  for (const [id, e] of ledger.accepted) {
    const item = itemById.get(id);
    const object = objects.get(id) as StoredItem | undefined;
    const run = runs.get(id);
    const v = (outcome: Verdict['outcome'], detail?: string) => verdicts.push({ phase: e.phase, eventId: id, outcome, ...(detail ? { detail } : {}) });
    if ((run?.completed ?? 0) > 1 || (keysById.get(id)?.length ?? 0) > 1) {
      v('doubled', `${run?.completed} completed runs, ${keysById.get(id)?.length} objects`);
    } else if (item && object && run?.completed === 1) {
      const fields = ['event_id', 'event_type', 'user_id', 'timestamp', 'received_at', 'payload'] as const;
      const differs = fields.filter((f) => !same(item[f], object[f]));
      const wrongKey = keysById.get(id)![0] !== archiveKey(item);
      if (differs.length > 0 || wrongKey || !same(item.payload.seq, (e.request.payload as { seq: number }).seq)) {
        v('mismatch', `fields ${differs.join(', ')}${wrongKey ? ', archive key' : ''}`);
      } else {
        v('stored');
      }
    } else if (dlq.has(id) && (run?.failed ?? 0) > 0) {
      v('dead-lettered', dlq.get(id));
    } else {
      v('lost', `item ${item ? 'yes' : 'no'}, object ${object ? 'yes' : 'no'}, runs ${JSON.stringify(run ?? null)}, dlq ${dlq.has(id)}`);
    }
  }

  const knownIds = new Set(ledger.accepted.keys());
  const unknownSeq = (item: StoredItem | undefined) => item?.payload.seq !== undefined && ledger.unknown.has(item.payload.seq);
  const phantoms = [
    ...items.filter((i) => !knownIds.has(i.event_id) && !unknownSeq(i)).map((i) => `item ${i.event_id}`),
    ...[...keysById.keys()].filter((id) => !knownIds.has(id) && !unknownSeq(objects.get(id) as StoredItem)).map((id) => `object ${id}`),
    ...[...runs.keys()].filter((id) => !knownIds.has(id) && !unknownSeq(itemById.get(id)) && !ledger.rejected.has(id)).map((id) => `run ${id}`),
  ];
  const rejectedButStored = [...ledger.rejected].filter((id) => itemById.has(id) || keysById.has(id) || runs.has(id));
  const bySeq = new Map<number, number>();
  for (const i of items) if (typeof i.payload.seq === 'number') bySeq.set(i.payload.seq, (bySeq.get(i.payload.seq) ?? 0) + 1);
  const doubledSeqs = [...bySeq.entries()].filter(([, n]) => n > 1).map(([s]) => s);

  return {
    verdicts,
    rejectedButStored,
    phantoms,
    doubledSeqs,
    items: items.length,
    objects: keys.length,
    deadLettered: verdicts.filter((v) => v.outcome === 'dead-lettered').length,
  };
}

type CountRow = { start: string; count: number };

/** eventCounts over GraphQL for [from, to), in windows of at most MAX_COUNT_BUCKETS buckets; non-zero buckets only. */
async function readCounts(
  p: Platform,
  filter: { eventType?: string; userId?: string },
  interval: Interval,
  fromMs: number,
  toMs: number,
): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  const windowMs = MAX_COUNT_BUCKETS * INTERVAL_MS[interval];
  const args = [
    filter.eventType === undefined ? '' : `eventType: ${JSON.stringify(filter.eventType)}`,
    filter.userId === undefined ? '' : `userId: ${JSON.stringify(filter.userId)}`,
  ].join(' ');
  for (let start = bucketStartMs(fromMs, interval); start < toMs; start += windowMs) {
    const end = Math.min(start + windowMs, toMs);
    const out = await graphql<{ eventCounts: CountRow[] }>(
      p,
      `{ eventCounts(${args} from: "${new Date(start).toISOString()}", to: "${new Date(end).toISOString()}", interval: ${interval}) { start count } }`,
    );
    if (out.errors) throw new Error(`eventCounts: ${JSON.stringify(out.errors)}`);
    for (const row of out.data!.eventCounts) if (row.count > 0) found.set(row.start, row.count);
  }
  return found;
}

/**
 * The counts audit: eventCounts against the stored items themselves, bucket by bucket. Every
 * interval over all events, each event type, and a sample of users and (type, user) pairs.
 * Returns the differences; none when the counts are exact.
 */
export async function auditCounts(p: Platform, sampleSize = 12): Promise<string[]> {
  const items = await scanItems(p);
  if (items.length === 0) return [];
  const times = items.map((i) => Date.parse(i.timestamp));
  const fromMs = Math.min(...times);
  const toMs = Math.max(...times) + 1;
  const checks: { filter: { eventType?: string; userId?: string }; interval: Interval }[] = INTERVALS.map((interval) => ({ filter: {}, interval }));
  for (const eventType of new Set(items.map((i) => i.event_type)))
    checks.push({ filter: { eventType }, interval: 'HOUR' }, { filter: { eventType }, interval: 'MINUTE' });
  const users = [...new Set(items.map((i) => i.user_id))].slice(0, sampleSize);
  for (const userId of users) checks.push({ filter: { userId }, interval: 'DAY' });
  for (const item of items.slice(0, sampleSize)) checks.push({ filter: { eventType: item.event_type, userId: item.user_id }, interval: 'MINUTE' });

  const problems: string[] = [];
  for (const { filter, interval } of checks) {
    const truth = new Map<string, number>();
    for (const i of items) {
      if ((filter.eventType !== undefined && i.event_type !== filter.eventType) || (filter.userId !== undefined && i.user_id !== filter.userId)) continue;
      const bucket = bucketOf(i.timestamp, interval);
      truth.set(bucket, (truth.get(bucket) ?? 0) + 1);
    }
    const counted = await readCounts(p, filter, interval, fromMs, toMs);
    for (const bucket of new Set([...truth.keys(), ...counted.keys()])) {
      const want = truth.get(bucket) ?? 0;
      const got = counted.get(bucket) ?? 0;
      if (want !== got) problems.push(`${interval} ${JSON.stringify(filter)} ${bucket}: ${got} counted, ${want} stored`);
    }
  }
  return problems;
}
