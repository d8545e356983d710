/**
 * Hot-table retention where DynamoDB's TTL does not run (the local server has none) or has not run
 * yet (TTL deletes within days of expiry): each shard's partition of the time index is read from
 * its oldest item up to the cutoff, and those items are deleted in batches. Deleting is
 * idempotent, so several workers may sweep at once. Reads stop at the cutoff: a sweep costs what it
 * deletes, plus one empty Query per shard.
 */
import { BatchWriteItemCommand, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { HOT_KEY, itemKey, retentionCutoff } from './layout';
import { timeIndexPages, type TimeIndex } from './timeIndex';

export interface SweepDeps extends TimeIndex {
  retentionDays: number;
  now?: () => number;
}

/** Deletes every item whose timestamp is older than the retention; returns how many. */
export async function sweepExpired(deps: SweepDeps): Promise<number> {
  const cutoff = retentionCutoff(deps.retentionDays, (deps.now ?? Date.now)());
  if (!cutoff) return 0;
  let deleted = 0;
  for await (const page of timeIndexPages(deps, { before: cutoff }, { projection: HOT_KEY })) {
    const ids = page.map((item) => item[HOT_KEY]?.S).filter((id): id is string => id !== undefined);
    for (let i = 0; i < ids.length; i += 25) {
      let requests: WriteRequest[] = ids.slice(i, i + 25).map((id) => ({ DeleteRequest: { Key: itemKey(id) } }));
      // A throttled server hands part of a batch back; it is sent again until none is left.
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** attempt, 5_000)));
        const out = await deps.dynamo.send(new BatchWriteItemCommand({ RequestItems: { [deps.table]: requests } }));
        requests = out.UnprocessedItems?.[deps.table] ?? [];
      }
    }
    deleted += ids.length;
  }
  return deleted;
}
