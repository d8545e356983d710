/**
 * Hot-table retention where DynamoDB's TTL does not run (the local server has none) or has not run
 * yet (TTL deletes within days of expiry): each shard's partition of the time index is read from
 * its oldest item up to the cutoff, and those items are deleted in batches. Deleting is
 * idempotent, so several workers may sweep at once. Reads stop at the cutoff: a sweep costs what it
 * deletes, plus one empty Query per shard.
 */
import { BatchWriteItemCommand, QueryCommand, type DynamoDBClient, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { INDEX, retentionCutoff, timeBucket } from './layout';

export interface SweepDeps {
  dynamo: Pick<DynamoDBClient, 'send'>;
  table: string;
  shards: number;
  retentionDays: number;
  now?: () => number;
}

/** Deletes every item whose timestamp is older than the retention; returns how many. */
export async function sweepExpired(deps: SweepDeps): Promise<number> {
  const cutoff = retentionCutoff(deps.retentionDays, (deps.now ?? Date.now)());
  if (!cutoff) return 0;
  let deleted = 0;
  for (let shard = 0; shard < deps.shards; shard++) {
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await deps.dynamo.send(
        new QueryCommand({
          TableName: deps.table,
          IndexName: INDEX.byTime,
          KeyConditionExpression: 'time_bucket = :b AND time_id < :cutoff',
          ExpressionAttributeValues: { ':b': { S: timeBucket(shard) }, ':cutoff': { S: cutoff } },
          ProjectionExpression: 'event_id',
          ScanIndexForward: true,
          Limit: 500,
          ExclusiveStartKey: startKey as never,
        }),
      );
      const ids = (page.Items ?? []).map((item) => item.event_id?.S).filter((id): id is string => id !== undefined);
      for (let i = 0; i < ids.length; i += 25) {
        let requests: WriteRequest[] = ids.slice(i, i + 25).map((id) => ({ DeleteRequest: { Key: { event_id: { S: id } } } }));
        // A throttled server hands part of a batch back; it is sent again until none is left.
        for (let attempt = 0; requests.length > 0; attempt++) {
          if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** attempt, 5_000)));
          const out = await deps.dynamo.send(new BatchWriteItemCommand({ RequestItems: { [deps.table]: requests } }));
          requests = out.UnprocessedItems?.[deps.table] ?? [];
        }
      }
      deleted += ids.length;
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }
  return deleted;
}
