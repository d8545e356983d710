/**
 * Reads events from the hot table with Query and GetItem only (never Scan), newest first, using
 * the indexes described in src/aws/layout.ts. A cursor is the `time_id` of the last event seen;
 * "older than the cursor" is a key condition, so pages cost the same at any depth.
 */
import { GetItemCommand, QueryCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { INDEX, timeBucket, utcDay, type EventItem } from '../aws/layout';

export interface EventRecord {
  eventId: string;
  eventType: string;
  userId: string;
  timestamp: string;
  receivedAt: string;
  payload: unknown;
  cursor: string;
}

export class CursorError extends Error {}

const TIME_ID = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z#[0-9a-f-]{36}$/;

export function encodeCursor(timeId: string): string {
  return Buffer.from(timeId, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  const timeId = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!TIME_ID.test(timeId)) throw new CursorError('not a cursor returned by this API (use the `cursor` field of an event)');
  return timeId;
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

export interface EventReaderDeps {
  dynamo: Pick<DynamoDBClient, 'send'>;
  table: string;
  shards: number;
  /** How many UTC days latestEvents walks back before it stops looking. */
  lookbackDays: number;
  /** The newest timestamp an event may have (now + the allowed future skew). */
  horizon: () => Date;
}

const DAY_MS = 86_400_000;

export function createEventReader(deps: EventReaderDeps) {
  async function queryIndex(index: string, keyName: string, keyValue: string, limit: number, before?: string): Promise<EventItem[]> {
    const out = await deps.dynamo.send(
      new QueryCommand({
        TableName: deps.table,
        IndexName: index,
        KeyConditionExpression: before ? '#k = :k AND time_id < :before' : '#k = :k',
        ExpressionAttributeNames: { '#k': keyName },
        ExpressionAttributeValues: { ':k': { S: keyValue }, ...(before ? { ':before': { S: before } } : {}) },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return (out.Items ?? []).map((i) => unmarshall(i) as EventItem);
  }

  return {
    async byType(eventType: string, limit: number, after?: string): Promise<EventRecord[]> {
      return (await queryIndex(INDEX.byType, 'event_type', eventType, limit, after && decodeCursor(after))).map(toRecord);
    },

    async byUser(userId: string, limit: number, after?: string): Promise<EventRecord[]> {
      return (await queryIndex(INDEX.byUser, 'user_id', userId, limit, after && decodeCursor(after))).map(toRecord);
    },

    /**
     * Walks UTC days backwards from the cursor (or the horizon), querying every shard of a day in
     * parallel and merging, until `limit` events are found or the lookback is exhausted.
     */
    async latest(limit: number, after?: string): Promise<EventRecord[]> {
      const before = after ? decodeCursor(after) : undefined;
      const start = before ? new Date(before.slice(0, 24)) : deps.horizon();
      const found: EventItem[] = [];
      for (let d = 0; d < deps.lookbackDays && found.length < limit; d++) {
        const day = utcDay(new Date(start.getTime() - d * DAY_MS).toISOString());
        const need = limit - found.length;
        const perShard = await Promise.all(
          Array.from({ length: deps.shards }, (_, shard) => queryIndex(INDEX.byTime, 'time_bucket', timeBucket(day, shard), need, before)),
        );
        found.push(...perShard.flat().sort((a, b) => (a.time_id < b.time_id ? 1 : -1)).slice(0, need));
      }
      return found.map(toRecord);
    },

    async byId(eventId: string): Promise<EventRecord | null> {
      const out = await deps.dynamo.send(new GetItemCommand({ TableName: deps.table, Key: { event_id: { S: eventId.toLowerCase() } } }));
      return out.Item ? toRecord(unmarshall(out.Item) as EventItem) : null;
    },
  };
}

export type EventReader = ReturnType<typeof createEventReader>;
