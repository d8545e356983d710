/**
 * The one write of an event's DynamoDB item: a conditional put (`attribute_not_exists(event_id)`),
 * so the first write wins and any later one (a redelivery, a replay, a restore from the archive)
 * is a duplicate that changes nothing. Used by the storeHot activity and by `events archive replay`.
 */
import { ConditionalCheckFailedException, GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EventEnvelope } from '../../events/event';
import { marshallItem, unmarshallItem } from './itemCodec';
import { envelopeOf, HOT_KEY, itemKey, toItem, type EventItem } from './layout';

/** Where the hot table's item goes and how long it stays: every writer of items needs both. */
export interface HotTable {
  dynamo: Pick<DynamoDBClient, 'send'>;
  table: string;
  /** Shards of the latest-events index (LATEST_INDEX_SHARDS); readers use the same number. */
  latestIndexShards: number;
  /** HOT_RETENTION_DAYS: items get expires_at for DynamoDB's TTL; 0 or absent = kept. */
  hotRetentionDays?: number;
}

export async function putEventItem(hot: HotTable, event: EventEnvelope): Promise<'stored' | 'duplicate'> {
  try {
    await hot.dynamo.send(
      new PutItemCommand({
        TableName: hot.table,
        Item: marshallItem(toItem(event, hot.latestIndexShards, hot.hotRetentionDays)),
        ConditionExpression: `attribute_not_exists(${HOT_KEY})`,
      }),
    );
    return 'stored';
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return 'duplicate';
    throw err;
  }
}

/**
 * The envelope the table holds for an event id (a consistent read, so a put that just reported
 * 'duplicate' is seen), or undefined when there is no item (deleted since, say by the sweep).
 */
export async function readEventItem(hot: Pick<HotTable, 'dynamo' | 'table'>, eventId: string): Promise<EventEnvelope | undefined> {
  const out = await hot.dynamo.send(new GetItemCommand({ TableName: hot.table, Key: itemKey(eventId), ConsistentRead: true }));
  return out.Item ? envelopeOf(unmarshallItem<EventItem>(out.Item)) : undefined;
}

/** Whether the table holds an item for the event id (a consistent read of its key alone). */
export async function hasEventItem(hot: Pick<HotTable, 'dynamo' | 'table'>, eventId: string): Promise<boolean> {
  const out = await hot.dynamo.send(new GetItemCommand({ TableName: hot.table, Key: itemKey(eventId), ProjectionExpression: HOT_KEY, ConsistentRead: true }));
  return out.Item !== undefined;
}
