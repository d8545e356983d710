/**
 * The hot table's layout: the DynamoDB table and its indexes, and the item shape.
 *
 * Table EventsHot, key `event_id` (so the conditional put makes a redelivered event a no-op).
 * Every list query reads a GSI whose sort key is `time_id` = `<timestamp>#<event_id>`: ISO-8601
 * UTC sorts as time, the id breaks ties, and "older than this event" is a key condition, which
 * is also the pagination cursor.
 *   by_type  (event_type, time_id)   eventsByType
 *   by_user  (user_id, time_id)      eventsByUser
 *   by_time  (time_bucket, time_id)  latestEvents: time_bucket = `<shard>` (0 … shards-1).
 *
 * Why the latest-events partition is the shard alone, with no day in it: with day buckets,
 * finding the newest events meant walking back day by day, and an empty or sparse table cost
 * lookback days × shards queries per page (90 × 4 = 360) before answering "nothing". With one
 * partition per shard, a page is one Query per shard (plus one per extra 1 MB of items), on any
 * table, at any depth of paging, and nothing has to track which days have events. The cost is
 * that each shard's partition grows forever; GSIs have no size limit per partition key, and
 * write throughput per partition key (~1,000 writes/s) is what LATEST_INDEX_SHARDS spreads. The
 * attribute and index keep their names so existing tables need no new index; items written with
 * the old day buckets are not in any shard partition (rewrite `time_bucket` to `<shard>` to list
 * them again).
 */
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { SCHEMA_VERSION, type EventEnvelope } from '../../events/event';

/** The table's key attribute: an item per event id. */
export const HOT_KEY = 'event_id';

/** The key of an event's item. */
export const itemKey = (eventId: string) => ({ [HOT_KEY]: { S: eventId } });

export const INDEX = { byType: 'by_type', byUser: 'by_user', byTime: 'by_time' } as const;

/** `time_id` = `<timestamp>#<event_id>` (timeId): the sort key of every index. */
export const INDEX_SORT_KEY = 'time_id';

/** Each index's partition key; every index sorts by INDEX_SORT_KEY. */
export const INDEX_HASH_KEY = { byType: 'event_type', byUser: 'user_id', byTime: 'time_bucket' } as const satisfies Record<keyof typeof INDEX, string>;

export function tableDefinition(tableName: string): CreateTableCommandInput {
  const gsi = (IndexName: string, hashKey: string) => ({
    IndexName,
    KeySchema: [
      { AttributeName: hashKey, KeyType: 'HASH' as const },
      { AttributeName: INDEX_SORT_KEY, KeyType: 'RANGE' as const },
    ],
    Projection: { ProjectionType: 'ALL' as const },
  });
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    KeySchema: [{ AttributeName: HOT_KEY, KeyType: 'HASH' }],
    AttributeDefinitions: [HOT_KEY, INDEX_HASH_KEY.byType, INDEX_HASH_KEY.byUser, INDEX_HASH_KEY.byTime, INDEX_SORT_KEY].map((AttributeName) => ({
      AttributeName,
      AttributeType: 'S' as const,
    })),
    GlobalSecondaryIndexes: (['byType', 'byUser', 'byTime'] as const).map((index) => gsi(INDEX[index], INDEX_HASH_KEY[index])),
  };
}

/** The attribute DynamoDB's TTL reads, on the hot table's items and the counts table's (HOT_RETENTION_DAYS). */
export const TTL_ATTRIBUTE = 'expires_at';

/** The hot table's item: the envelope's fields (less its version) and the index keys. */
export type EventItem = Omit<EventEnvelope, 'schema_version'> & {
  time_id: string;
  time_bucket: string;
} & {
  /** Epoch seconds after which DynamoDB's TTL may delete the item (HOT_RETENTION_DAYS); absent = kept. */
  [TTL_ATTRIBUTE]?: number;
};

export function timeId(timestamp: string, eventId: string): string {
  return `${timestamp}#${eventId}`;
}

/** Partition key of the latest-events index: the shard alone (see the header). */
export function timeBucket(shard: number): string {
  return String(shard);
}

/** Stable shard of an event id (FNV-1a), so retries put the item in the same bucket. */
export function shardOf(eventId: string, shards: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < eventId.length; i++) {
    hash ^= eventId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % shards;
}

const DAY_MS = 86_400_000;

/** The oldest timestamp still served with `retentionDays` of retention (0 = none: no bound). */
export function retentionCutoff(retentionDays: number, nowMs: number): string | undefined {
  return retentionDays > 0 ? new Date(nowMs - retentionDays * DAY_MS).toISOString() : undefined;
}

/**
 * Whether an event is already older than the hot table keeps: no query, subscription or count
 * would ever serve it and the sweep would delete it, so it is not written to the hot table at all
 * (it is archived only). One rule for the producer's answer, storeHot and archive replay; it
 * matches what the readers serve (timestamp >= the cutoff).
 */
export function pastRetention(timestamp: string, retentionDays: number, nowMs: number): boolean {
  const cutoff = retentionCutoff(retentionDays, nowMs);
  // Compared as instants, so a timestamp in another (valid) text form is judged the same.
  return cutoff !== undefined && Date.parse(timestamp) < Date.parse(cutoff);
}

/** Epoch seconds at which something timed `ms` expires with `retentionDays` of retention (DynamoDB's TTL); undefined = kept. */
export function expiresAt(ms: number, retentionDays: number): number | undefined {
  return retentionDays > 0 ? Math.floor((ms + retentionDays * DAY_MS) / 1000) : undefined;
}

export function toItem(event: EventEnvelope, shards: number, retentionDays = 0): EventItem {
  const expires = expiresAt(Date.parse(event.timestamp), retentionDays);
  return {
    event_id: event.event_id,
    event_type: event.event_type,
    user_id: event.user_id,
    timestamp: event.timestamp,
    received_at: event.received_at,
    payload: event.payload,
    time_id: timeId(event.timestamp, event.event_id),
    time_bucket: timeBucket(shardOf(event.event_id, shards)),
    ...(expires === undefined ? {} : { [TTL_ATTRIBUTE]: expires }),
  };
}

/** The envelope an item was written from (the inverse of toItem). */
export function envelopeOf(item: EventItem): EventEnvelope {
  return {
    schema_version: SCHEMA_VERSION,
    event_id: item.event_id,
    event_type: item.event_type,
    user_id: item.user_id,
    timestamp: item.timestamp,
    received_at: item.received_at,
    payload: item.payload,
  };
}
