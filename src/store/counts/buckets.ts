/**
 * Layout of the counts table (DYNAMODB_COUNTS_TABLE), key `pk` + `sk`, both strings:
 *
 *   counter  pk = `<INTERVAL>|<dimension>`  sk = bucket start (ISO-8601 UTC)
 *            n = stored events in the bucket, o<partition> = the stored topic's offset up to
 *            which that partition's notices are in n (the fence that makes a replay add nothing)
 *   mark     pk = `event|<event_id>`         sk = `counted`
 *            by = `<partition>:<offset>` of the one notice that counts this event
 *
 * A dimension is one of the four filters eventCounts takes: `all`, `t:<type>`, `u:<user>` or
 * `t:<type>|u:<user>`. Event types cannot contain `|` (src/events/validate.ts), and the user comes
 * last, so every key reads back one way. Bucket starts are UTC multiples of the interval; ISO
 * strings of one length sort as time, so a range of buckets is one key condition.
 */
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

export const INTERVALS = ['MINUTE', 'HOUR', 'DAY'] as const;
export type Interval = (typeof INTERVALS)[number];

export const INTERVAL_MS: Record<Interval, number> = { MINUTE: 60_000, HOUR: 3_600_000, DAY: 86_400_000 };

export interface CountFilter {
  eventType?: string | undefined;
  userId?: string | undefined;
}

export function dimensionKey(filter: CountFilter): string {
  const parts = [filter.eventType === undefined ? undefined : `t:${filter.eventType}`, filter.userId === undefined ? undefined : `u:${filter.userId}`];
  const named = parts.filter((p): p is string => p !== undefined);
  return named.length === 0 ? 'all' : named.join('|');
}

/** The four dimensions one event is counted in. */
export function dimensionsOf(event: { event_type: string; user_id: string }): string[] {
  const t = event.event_type;
  const u = event.user_id;
  return [dimensionKey({}), dimensionKey({ eventType: t }), dimensionKey({ userId: u }), dimensionKey({ eventType: t, userId: u })];
}

export function counterKey(interval: Interval, dimension: string): string {
  return `${interval}|${dimension}`;
}

export function markKey(eventId: string): string {
  return `event|${eventId}`;
}

export const MARK_SORT_KEY = 'counted';

/** Start (epoch ms) of the bucket holding `ms`. */
export function bucketStartMs(ms: number, interval: Interval): number {
  const size = INTERVAL_MS[interval];
  return Math.floor(ms / size) * size;
}

export function bucketOf(timestamp: string, interval: Interval): string {
  return new Date(bucketStartMs(Date.parse(timestamp), interval)).toISOString();
}

/** Starts of the buckets that overlap [from, to): from the one holding `from` up to the last starting before `to`. */
export function bucketStarts(fromMs: number, toMs: number, interval: Interval): number[] {
  const starts: number[] = [];
  for (let start = bucketStartMs(fromMs, interval); start < toMs; start += INTERVAL_MS[interval]) starts.push(start);
  return starts;
}

/** How many buckets bucketStarts would give, without building them. */
export function bucketCount(fromMs: number, toMs: number, interval: Interval): number {
  if (!(toMs > fromMs)) return 0;
  return Math.ceil((toMs - bucketStartMs(fromMs, interval)) / INTERVAL_MS[interval]);
}

/** The counts table's key attributes (see the header). */
export const COUNTS_KEY = { partition: 'pk', sort: 'sk' } as const;

/** A counter item's count. */
export const COUNT_ATTRIBUTE = 'n';

/** The key of a counts table item. */
export const countsItemKey = (pk: string, sk: string) => ({ [COUNTS_KEY.partition]: { S: pk }, [COUNTS_KEY.sort]: { S: sk } });

export function countsTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    KeySchema: [
      { AttributeName: COUNTS_KEY.partition, KeyType: 'HASH' },
      { AttributeName: COUNTS_KEY.sort, KeyType: 'RANGE' },
    ],
    AttributeDefinitions: [
      { AttributeName: COUNTS_KEY.partition, AttributeType: 'S' },
      { AttributeName: COUNTS_KEY.sort, AttributeType: 'S' },
    ],
  };
}
