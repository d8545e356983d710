/**
 * The one write of an event's DynamoDB item: a conditional put (`attribute_not_exists(event_id)`),
 * so the first write wins and any later one (a redelivery, a replay, a restore from the archive)
 * is a duplicate that changes nothing. Used by the storeHot activity and by `events archive replay`.
 */
import { ConditionalCheckFailedException, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EventEnvelope } from '../events/event';
import { marshallItem } from './itemCodec';
import { toItem } from './layout';

export async function putEventItem(
  dynamo: Pick<DynamoDBClient, 'send'>,
  table: string,
  event: EventEnvelope,
  layout: { latestIndexShards: number; hotRetentionDays?: number },
): Promise<'stored' | 'duplicate'> {
  try {
    await dynamo.send(
      new PutItemCommand({
        TableName: table,
        Item: marshallItem(toItem(event, layout.latestIndexShards, layout.hotRetentionDays)),
        ConditionExpression: 'attribute_not_exists(event_id)',
      }),
    );
    return 'stored';
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return 'duplicate';
    throw err;
  }
}
