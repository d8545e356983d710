/**
 * Reads a range of counts: one Query on the counter's partition, whose sort key is the bucket
 * start, so a day of hourly counts is one request for at most 24 small items, however many
 * events they count. Buckets without an item had no events and come back as 0.
 *
 * Retention: with HOT_RETENTION_DAYS set, a bucket that starts before the cutoff may count events
 * that have expired, so it is left out; the series starts at the first bucket wholly within
 * retention, as the queries never serve an expired event.
 */
import { QueryCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { retentionCutoff } from '../hot/layout';
import type { StorageBudget } from '../hot/reader';
import { bucketStarts, COUNT_ATTRIBUTE, counterKey, COUNTS_KEY, dimensionKey, type CountFilter, type Interval } from './buckets';

export interface BucketCount {
  /** Bucket start, ISO-8601 UTC. */
  start: string;
  count: number;
}

export interface CountsReaderDeps {
  dynamo: Pick<DynamoDBClient, 'send'>;
  /** DYNAMODB_COUNTS_TABLE. */
  table: string;
  retentionDays?: number;
  now?: () => number;
}

export function createCountsReader(deps: CountsReaderDeps) {
  return {
    async counts(filter: CountFilter, fromMs: number, toMs: number, interval: Interval, budget?: StorageBudget): Promise<BucketCount[]> {
      const cutoff = retentionCutoff(deps.retentionDays ?? 0, (deps.now ?? Date.now)());
      const starts = bucketStarts(fromMs, toMs, interval)
        .map((start) => new Date(start).toISOString())
        .filter((start) => cutoff === undefined || start >= cutoff);
      if (starts.length === 0) return [];
      const found = new Map<string, number>();
      let startKey: Record<string, never> | undefined;
      do {
        budget?.spend();
        const page = await deps.dynamo.send(
          new QueryCommand({
            TableName: deps.table,
            KeyConditionExpression: `${COUNTS_KEY.partition} = :pk AND ${COUNTS_KEY.sort} BETWEEN :first AND :last`,
            ExpressionAttributeValues: {
              ':pk': { S: counterKey(interval, dimensionKey(filter)) },
              ':first': { S: starts[0]! },
              ':last': { S: starts[starts.length - 1]! },
            },
            ProjectionExpression: `${COUNTS_KEY.sort}, ${COUNT_ATTRIBUTE}`,
            ExclusiveStartKey: startKey,
          }),
        );
        for (const item of page.Items ?? []) found.set(item[COUNTS_KEY.sort]!.S!, Number(item[COUNT_ATTRIBUTE]?.N ?? 0));
        startKey = page.LastEvaluatedKey as typeof startKey;
      } while (startKey);
      return starts.map((start) => ({ start, count: found.get(start) ?? 0 }));
    },
  };
}

export type CountsReader = ReturnType<typeof createCountsReader>;
