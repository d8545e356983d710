/**
 * Reads events from the hot table with Query and GetItem only (never Scan), newest first, using
 * the indexes described in src/store/hot/layout.ts. A cursor is the `time_id` of the last event seen;
 * "older than the cursor" is a key condition, so pages cost the same at any depth.
 *
 * Paging guarantee: a page holds the `limit` newest events older than the cursor, or all of them
 * when fewer exist. A DynamoDB Query stops at 1 MB (or at its Limit) and says so with
 * LastEvaluatedKey; every source is followed until it gave `limit` items or ran out, so a page
 * is short only at the end, and the next cursor never jumps over unread events.
 */
import { GetItemCommand, QueryCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { unmarshallItem, type Item } from './itemCodec';
import { INDEX, INDEX_HASH_KEY, INDEX_SORT_KEY, itemKey, retentionCutoff, timeBucket, type EventItem } from './layout';

export interface EventRecord {
  eventId: string;
  eventType: string;
  userId: string;
  timestamp: string;
  receivedAt: string;
  payload: unknown;
  cursor: string;
}

export class CursorError extends Error {
  override name = 'CursorError';
}

const TIME_ID = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)#[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function encodeCursor(timeId: string): string {
  return Buffer.from(timeId, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  const timeId = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = TIME_ID.exec(timeId);
  // The date must exist as written (2026-13-45 matches the pattern but is no time of any event).
  const time = match ? new Date(match[1]!) : undefined;
  if (!match || !time || Number.isNaN(time.getTime()) || time.toISOString() !== match[1]) {
    throw new CursorError('not a cursor returned by this API (use the `cursor` field of an event)');
  }
  return timeId;
}

/** A request's allowance of DynamoDB calls: the last guard against a query that fans out. */
export class StorageBudget {
  private used = 0;
  constructor(readonly max: number) {}
  get calls(): number {
    return this.used;
  }
  spend(): void {
    if (this.used >= this.max) throw new StorageBudgetExceededError(this.max);
    this.used++;
  }
}

export class StorageBudgetExceededError extends Error {
  override name = 'StorageBudgetExceededError';
  constructor(readonly max: number) {
    super(`this request needs more than ${max} storage reads; ask for fewer events or fewer fields`);
  }
}

function toRecord(item: EventItem): EventRecord {
  return {
    eventId: item.event_id,
    eventType: item.event_type,
    userId: item.user_id,
    timestamp: item.timestamp,
    receivedAt: item.received_at,
    payload: item.payload,
    cursor: encodeCursor(item.time_id),
  };
}

const newestFirst = (a: EventItem, b: EventItem) => (a.time_id < b.time_id ? 1 : a.time_id > b.time_id ? -1 : 0);

export interface EventReaderDeps {
  dynamo: Pick<DynamoDBClient, 'send'>;
  table: string;
  /** Partitions of the latest-events index (LATEST_INDEX_SHARDS); writers use the same number. */
  shards: number;
  /** HOT_RETENTION_DAYS: older events are never served, deleted yet or not; 0 or absent = all. */
  retentionDays?: number;
  now?: () => number;
}

export function createEventReader(deps: EventReaderDeps) {
  const cutoff = () => retentionCutoff(deps.retentionDays ?? 0, (deps.now ?? Date.now)());

  /**
   * The `want` newest items of one index partition older than `before` and not older than
   * `from` (the retention cutoff of this request), following LastEvaluatedKey: fewer than `want`
   * only when the partition has no more.
   */
  async function newest(
    index: keyof typeof INDEX,
    keyValue: string,
    want: number,
    before: string | undefined,
    from: string | undefined,
    budget?: StorageBudget,
  ): Promise<EventItem[]> {
    const items: EventItem[] = [];
    let startKey: Item | undefined;
    // Retention is a lower bound on the sort key, so expired items cost no reads at all. A key
    // condition has one sort-key clause: with a cursor too it is BETWEEN (inclusive), and the
    // cursor's own item is dropped below.
    const t = INDEX_SORT_KEY;
    const sortKey = before && from ? ` AND ${t} BETWEEN :from AND :before` : before ? ` AND ${t} < :before` : from ? ` AND ${t} >= :from` : '';
    do {
      budget?.spend();
      const out = await deps.dynamo.send(
        new QueryCommand({
          TableName: deps.table,
          IndexName: INDEX[index],
          KeyConditionExpression: `#k = :k${sortKey}`,
          ExpressionAttributeNames: { '#k': INDEX_HASH_KEY[index] },
          ExpressionAttributeValues: { ':k': { S: keyValue }, ...(before ? { ':before': { S: before } } : {}), ...(from ? { ':from': { S: from } } : {}) },
          ScanIndexForward: false,
          Limit: want - items.length,
          ExclusiveStartKey: startKey,
        }),
      );
      items.push(...(out.Items ?? []).map((i) => unmarshallItem<EventItem>(i)).filter((i) => i.time_id !== before));
      startKey = out.LastEvaluatedKey;
    } while (startKey && items.length < want);
    return items;
  }

  return {
    async byType(eventType: string, limit: number, after?: string, budget?: StorageBudget): Promise<EventRecord[]> {
      return (await newest('byType', eventType, limit, after && decodeCursor(after), cutoff(), budget)).map(toRecord);
    },

    async byUser(userId: string, limit: number, after?: string, budget?: StorageBudget): Promise<EventRecord[]> {
      return (await newest('byUser', userId, limit, after && decodeCursor(after), cutoff(), budget)).map(toRecord);
    },

    /**
     * Reads every shard's partition in parallel. Each shard gives its `limit` newest (or all it
     * has), so the `limit` newest of their union are exactly the table's `limit` newest: one
     * Query per shard per page on any table, empty or full.
     */
    async latest(limit: number, after?: string, budget?: StorageBudget): Promise<EventRecord[]> {
      const before = after ? decodeCursor(after) : undefined;
      // One cutoff for every shard, so the merged page has one retention bound.
      const from = cutoff();
      const perShard = await Promise.all(Array.from({ length: deps.shards }, (_, shard) => newest('byTime', timeBucket(shard), limit, before, from, budget)));
      return perShard.flat().sort(newestFirst).slice(0, limit).map(toRecord);
    },

    async byId(eventId: string, budget?: StorageBudget): Promise<EventRecord | null> {
      budget?.spend();
      const out = await deps.dynamo.send(new GetItemCommand({ TableName: deps.table, Key: itemKey(eventId.toLowerCase()) }));
      if (!out.Item) return null;
      const item = unmarshallItem<EventItem>(out.Item);
      const from = cutoff();
      return from && item.timestamp < from ? null : toRecord(item);
    },
  };
}

export type EventReader = ReturnType<typeof createEventReader>;
