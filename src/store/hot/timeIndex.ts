/**
 * Walks the latest-events index (by_time) shard by shard, oldest first, one page of items at a
 * time: what the retention sweep deletes and what `events counts backfill` re-announces. A bound
 * on `time_id` is a key condition, so items outside it cost no reads.
 */
import { QueryCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Item } from './itemCodec';
import { INDEX, INDEX_HASH_KEY, INDEX_SORT_KEY, timeBucket } from './layout';

export interface TimeIndex {
  dynamo: Pick<DynamoDBClient, 'send'>;
  table: string;
  shards: number;
}

/** Pages of items with `from` ≤ time_id (when given) or time_id < `before` (when given); at most one bound. */
export async function* timeIndexPages(
  index: TimeIndex,
  bound: { from: string | undefined } | { before: string },
  options: { projection?: string; pageSize?: number } = {},
): AsyncGenerator<Item[]> {
  const [clause, value] =
    'before' in bound
      ? [` AND ${INDEX_SORT_KEY} < :t`, bound.before]
      : bound.from === undefined
        ? ['', undefined]
        : [` AND ${INDEX_SORT_KEY} >= :t`, bound.from];
  for (let shard = 0; shard < index.shards; shard++) {
    let startKey: Item | undefined;
    do {
      const page = await index.dynamo.send(
        new QueryCommand({
          TableName: index.table,
          IndexName: INDEX.byTime,
          KeyConditionExpression: `${INDEX_HASH_KEY.byTime} = :b${clause}`,
          ExpressionAttributeValues: { ':b': { S: timeBucket(shard) }, ...(value === undefined ? {} : { ':t': { S: value } }) },
          ...(options.projection === undefined ? {} : { ProjectionExpression: options.projection }),
          ScanIndexForward: true,
          Limit: options.pageSize ?? 500,
          ExclusiveStartKey: startKey,
        }),
      );
      yield page.Items ?? [];
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }
}
