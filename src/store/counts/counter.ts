/**
 * Exact event counts from the stored topic's announcements, without transactions (the local
 * DynamoDB server has none, and they would double the writes): a mark per event that only its
 * first announcement may write, and on each counter the offset per partition up to which it has
 * counted, so a batch read again adds nothing twice. Why this is exact: docs/graphql.md
 * (## Exact counts over time). Cost: one conditional UpdateItem per counter and batch, plus one
 * consistent GetItem when its condition fails.
 */
import { ConditionalCheckFailedException, GetItemCommand, PutItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EventEnvelope } from '../../events/event';
import { expiresAt, TTL_ATTRIBUTE } from '../hot/layout';
import { inParallel } from '../../platform/inParallel';
import {
  bucketOf,
  COUNT_ATTRIBUTE,
  counterKey,
  COUNTS_KEY,
  countsItemKey,
  dimensionsOf,
  INTERVAL_MS,
  INTERVALS,
  MARK_SORT_KEY,
  markKey,
  type Interval,
} from './buckets';

export interface CountsTable {
  dynamo: Pick<DynamoDBClient, 'send'>;
  /** DYNAMODB_COUNTS_TABLE. */
  table: string;
  /** HOT_RETENTION_DAYS: counters and marks expire with the events they count; 0 or absent = kept. */
  retentionDays?: number;
  /** DynamoDB calls in flight per batch (default 16). */
  concurrency?: number;
}

/** One record of the stored topic: its position and the event it announces. */
export interface StoredNotice {
  offset: number;
  event: Pick<EventEnvelope, 'event_id' | 'event_type' | 'user_id' | 'timestamp'>;
}

export interface ApplyResult {
  /** Notices that count their event (first notice of it, or that same notice read again). */
  counted: number;
  /** Notices of an event another notice counts. */
  duplicates: number;
  /** Counter items written. */
  counterWrites: number;
}

export function createEventCounter(deps: CountsTable) {
  const retentionDays = deps.retentionDays ?? 0;
  const concurrency = deps.concurrency ?? 16;

  /** Step 1: true when this notice is the one that counts its event. */
  async function claim(partition: number, notice: StoredNotice): Promise<boolean> {
    const by = `${partition}:${notice.offset}`;
    const expires = expiresAt(Date.parse(notice.event.timestamp), retentionDays);
    try {
      await deps.dynamo.send(
        new PutItemCommand({
          TableName: deps.table,
          Item: {
            ...countsItemKey(markKey(notice.event.event_id), MARK_SORT_KEY),
            by: { S: by },
            ...(expires === undefined ? {} : { [TTL_ATTRIBUTE]: { N: String(expires) } }),
          },
          ConditionExpression: `attribute_not_exists(${COUNTS_KEY.partition}) OR #by = :by`,
          ExpressionAttributeNames: { '#by': 'by' },
          ExpressionAttributeValues: { ':by': { S: by } },
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  /** Step 2: adds the offsets (ascending) not yet in the counter; returns whether it wrote. */
  async function addToCounter(partition: number, pk: string, sk: string, endMs: number, offsets: number[]): Promise<boolean> {
    const fence = `o${partition}`;
    // A counter expires with the newest event its bucket may hold.
    const expires = expiresAt(endMs, retentionDays);
    const update = (delta: number, condition: string, values: Record<string, { N: string }>) =>
      deps.dynamo.send(
        new UpdateItemCommand({
          TableName: deps.table,
          Key: countsItemKey(pk, sk),
          UpdateExpression: `ADD #n :delta SET #fence = :last${expires === undefined ? '' : `, ${TTL_ATTRIBUTE} = :expires`}`,
          ConditionExpression: condition,
          ExpressionAttributeNames: { '#n': COUNT_ATTRIBUTE, '#fence': fence },
          ExpressionAttributeValues: {
            ':delta': { N: String(delta) },
            ':last': { N: String(offsets[offsets.length - 1]) },
            ...(expires === undefined ? {} : { ':expires': { N: String(expires) } }),
            ...values,
          },
        }),
      );
    // The usual case, one write: nothing of this batch is in the counter yet.
    try {
      await update(offsets.length, 'attribute_not_exists(#fence) OR #fence < :first', { ':first': { N: String(offsets[0]) } });
      return true;
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
    // Part of it is in already (this batch was read before): add what is past the fence, as
    // long as the fence is still what was read; another consumer may be moving it too.
    for (;;) {
      const current = await deps.dynamo.send(
        new GetItemCommand({
          TableName: deps.table,
          Key: countsItemKey(pk, sk),
          ConsistentRead: true,
          ProjectionExpression: '#fence',
          ExpressionAttributeNames: { '#fence': fence },
        }),
      );
      const seen = Number(current.Item?.[fence]?.N ?? -1);
      const delta = offsets.filter((o) => o > seen).length;
      if (delta === 0) return false;
      try {
        await update(delta, seen < 0 ? 'attribute_not_exists(#fence)' : '#fence = :seen', seen < 0 ? {} : { ':seen': { N: String(seen) } });
        return true;
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
      }
    }
  }

  return {
    /**
     * Counts the notices of one partition, in offset order. Safe to call again with any batch
     * that overlaps one applied before, from this process or another.
     */
    async apply(partition: number, notices: readonly StoredNotice[]): Promise<ApplyResult> {
      const claimed = await inParallel(notices, concurrency, (notice) => claim(partition, notice));
      const counters = new Map<string, { pk: string; sk: string; endMs: number; offsets: number[] }>();
      let counted = 0;
      notices.forEach((notice, i) => {
        if (!claimed[i]) return;
        counted++;
        for (const interval of INTERVALS as readonly Interval[]) {
          const sk = bucketOf(notice.event.timestamp, interval);
          const endMs = Date.parse(sk) + INTERVAL_MS[interval];
          for (const dimension of dimensionsOf(notice.event)) {
            const pk = counterKey(interval, dimension);
            const id = `${pk}\n${sk}`;
            let counter = counters.get(id);
            if (!counter) counters.set(id, (counter = { pk, sk, endMs, offsets: [] }));
            counter.offsets.push(notice.offset);
          }
        }
      });
      for (const c of counters.values()) c.offsets.sort((a, b) => a - b);
      const written = await inParallel([...counters.values()], concurrency, (c) => addToCounter(partition, c.pk, c.sk, c.endMs, c.offsets));
      return { counted, duplicates: notices.length - counted, counterWrites: written.filter(Boolean).length };
    },
  };
}

export type EventCounter = ReturnType<typeof createEventCounter>;
