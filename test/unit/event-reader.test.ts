/**
 * The reader against a fake DynamoDB that cuts Query pages short (as the 1 MB limit does) and
 * returns LastEvaluatedKey: pages must neither skip nor repeat, and are full while more exist.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { GetItemCommand, QueryCommand, type AttributeValue, type QueryCommandInput } from '@aws-sdk/client-dynamodb';
import { marshallItem } from '../../src/store/hot/itemCodec';
import { shardOf, toItem, type EventItem } from '../../src/store/hot/layout';
import { createEventReader, type EventRecord } from '../../src/store/hot/reader';
import { makeEnvelope } from '../support/events';

const SHARDS = 4;
const NOW = Date.parse('2026-11-25T12:00:00.000Z');

/** An id whose latest-index shard is `shard`, so tests can pile events onto one partition. */
function idInShard(shard: number): string {
  for (;;) {
    const id = randomUUID();
    if (shardOf(id, SHARDS) === shard) return id;
  }
}

/**
 * Answers Query like DynamoDB on a GSI (key condition `#k = :k [AND time_id < :before]`, newest
 * first, Limit, ExclusiveStartKey), but returns at most `pageCap(partition)` items per call, with
 * LastEvaluatedKey, as a 1 MB cut does.
 */
export function fakeDynamo(items: EventItem[], pageCap: (partitionValue: string) => number) {
  const calls: QueryCommandInput[] = [];
  return {
    calls,
    async send(command: unknown): Promise<unknown> {
      if (command instanceof GetItemCommand) {
        const id = command.input.Key?.event_id?.S;
        const found = items.find((i) => i.event_id === id);
        return { Item: found && marshallItem(found) };
      }
      if (!(command instanceof QueryCommand)) throw new Error('unexpected command');
      const input = command.input;
      calls.push(input);
      const keyName = input.ExpressionAttributeNames!['#k']!;
      const keyValue = input.ExpressionAttributeValues![':k']!.S!;
      const before = input.ExpressionAttributeValues![':before']?.S;
      const from = input.ExpressionAttributeValues![':from']?.S;
      // `time_id BETWEEN :from AND :before` includes :before; `time_id < :before` does not.
      const upToBefore = / BETWEEN :from AND :before/.test(input.KeyConditionExpression ?? '');
      const start = (input.ExclusiveStartKey as Record<string, AttributeValue> | undefined)?.time_id?.S;
      const matching = items
        .filter((i) => (i as unknown as Record<string, string>)[keyName] === keyValue)
        .filter((i) => (before === undefined || i.time_id < before || (upToBefore && i.time_id === before)) && (start === undefined || i.time_id < start))
        .filter((i) => from === undefined || i.time_id >= from)
        .sort((a, b) => (a.time_id < b.time_id ? 1 : -1));
      const take = Math.min(input.Limit ?? Infinity, pageCap(keyValue));
      const page = matching.slice(0, take);
      const more = matching.length > take;
      const last = page.at(-1);
      return {
        Items: page.map((i) => marshallItem(i)),
        LastEvaluatedKey: more && last ? { event_id: { S: last.event_id }, time_id: { S: last.time_id }, [keyName]: { S: keyValue } } : undefined,
      };
    },
  };
}

function eventsSkewed(count: number): EventItem[] {
  // 90% on shard 0 and one user/type, spread over three days, newest first by index.
  return Array.from({ length: count }, (_, i) => {
    const skewed = i % 10 !== 0;
    return toItem(
      makeEnvelope({
        event_id: idInShard(skewed ? 0 : 1 + (i % 3)),
        event_type: skewed ? 'heavy' : 'light',
        user_id: skewed ? 'u-heavy' : 'u-light',
        timestamp: new Date(NOW - i * 360_000).toISOString(),
        payload: { i },
      }),
      SHARDS,
    );
  });
}

type Read = (limit: number, after?: string) => Promise<EventRecord[]>;

async function readAll(read: Read, limit: number): Promise<{ ids: string[]; pageSizes: number[] }> {
  const ids: string[] = [];
  const pageSizes: number[] = [];
  let after: string | undefined;
  for (let guard = 0; guard < 10_000; guard++) {
    const page = await read(limit, after);
    pageSizes.push(page.length);
    ids.push(...page.map((e) => e.eventId));
    if (page.length === 0) return { ids, pageSizes };
    after = page.at(-1)!.cursor;
  }
  assert.fail('paging did not end');
}

const newestFirst = (items: EventItem[]) => [...items].sort((a, b) => (a.time_id < b.time_id ? 1 : -1)).map((i) => i.event_id);

function assertComplete(got: { ids: string[]; pageSizes: number[] }, expected: string[], limit: number): void {
  assert.equal(new Set(got.ids).size, got.ids.length, 'no event repeats');
  assert.deepEqual(got.ids, expected, 'every event, newest first, none skipped');
  const full = got.pageSizes.slice(0, -1).filter((n) => n > 0);
  const lastNonEmpty = got.pageSizes.filter((n) => n > 0).at(-1) ?? 0;
  assert.ok(
    got.pageSizes.slice(0, got.pageSizes.lastIndexOf(lastNonEmpty)).every((n) => n === limit),
    `every page but the last is full (limit ${limit}): ${got.pageSizes.join(',')} (${full.length} pages)`,
  );
}

describe('reader paging with Query pages cut short', () => {
  const items = eventsSkewed(300);
  // Shard 0's partition (the skewed one) answers 3 items per call; the others 50.
  const cap = (partition: string) => (partition === '0' || partition === 'heavy' || partition === 'u-heavy' ? 3 : 50);

  for (const limit of [1, 7, 100]) {
    it(`latestEvents, limit ${limit}: no skip, no repeat, full pages`, async () => {
      const dynamo = fakeDynamo(items, cap);
      const reader = createEventReader({ dynamo, table: 't', shards: SHARDS });
      assertComplete(await readAll((l, a) => reader.latest(l, a), limit), newestFirst(items), limit);
    });

    it(`eventsByType and eventsByUser, limit ${limit}: no skip, no repeat, full pages`, async () => {
      const dynamo = fakeDynamo(items, cap);
      const reader = createEventReader({ dynamo, table: 't', shards: SHARDS });
      assertComplete(await readAll((l, a) => reader.byType('heavy', l, a), limit), newestFirst(items.filter((i) => i.event_type === 'heavy')), limit);
      assertComplete(await readAll((l, a) => reader.byUser('u-heavy', l, a), limit), newestFirst(items.filter((i) => i.user_id === 'u-heavy')), limit);
    });
  }
});

describe('latestEvents on an empty or sparse table', () => {
  it('costs one Query per shard, not one per shard and day of a lookback', async () => {
    const dynamo = fakeDynamo([], () => 1000);
    const reader = createEventReader({ dynamo, table: 't', shards: SHARDS });
    assert.deepEqual(await reader.latest(100), []);
    assert.equal(dynamo.calls.length, SHARDS);
  });

  it('finds events months old in one page, still one Query per shard', async () => {
    const old = [400, 200, 100].map((days) => toItem(makeEnvelope({ timestamp: new Date(NOW - days * 86_400_000).toISOString() }), SHARDS));
    const dynamo = fakeDynamo(old, () => 1000);
    const reader = createEventReader({ dynamo, table: 't', shards: SHARDS });
    assert.deepEqual(
      (await reader.latest(10)).map((e) => e.eventId),
      newestFirst(old),
    );
    assert.equal(dynamo.calls.length, SHARDS);
  });
});

describe('retention (HOT_RETENTION_DAYS)', () => {
  // One event every 6 minutes over 3 days, newest first; 2 days of retention keeps the newest 480.
  const items = eventsSkewed(720);
  const kept = items.filter((i) => i.timestamp >= new Date(NOW - 2 * 86_400_000).toISOString());

  it('no list and no lookup serves an event past its retention, and pages through the rest without skips or repeats', async () => {
    const dynamo = fakeDynamo(items, () => 7);
    const reader = createEventReader({ dynamo, table: 't', shards: SHARDS, retentionDays: 2, now: () => NOW });
    const reads: [string, Read, EventItem[]][] = [
      ['latest', (limit, after) => reader.latest(limit, after), kept],
      ['byType heavy', (limit, after) => reader.byType('heavy', limit, after), kept.filter((i) => i.event_type === 'heavy')],
      ['byUser u-light', (limit, after) => reader.byUser('u-light', limit, after), kept.filter((i) => i.user_id === 'u-light')],
    ];
    for (const [name, read, expected] of reads) {
      const seen: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await read(25, after);
        seen.push(...page.map((e) => e.eventId));
        if (page.length < 25) break;
        after = page.at(-1)!.cursor;
      }
      assert.deepEqual(
        seen,
        [...expected].sort((a, b) => (a.time_id < b.time_id ? 1 : -1)).map((i) => i.event_id),
        name,
      );
    }
    const expired = items.find((i) => !kept.includes(i))!;
    assert.equal(await reader.byId(expired.event_id), null, 'an expired item is not served, deleted yet or not');
    assert.equal((await reader.byId(kept[0]!.event_id))?.eventId, kept[0]!.event_id);
    assert.ok(
      dynamo.calls.every((c) => /time_id (>=|BETWEEN) :from/.test(c.KeyConditionExpression ?? '')),
      'expired items are never read (a key condition, not a filter)',
    );
  });

  it('items carry expires_at (epoch seconds) for DynamoDB TTL only when retention is on', () => {
    const event = makeEnvelope({ timestamp: '2026-11-25T12:00:00.000Z' });
    assert.equal(toItem(event, SHARDS, 30).expires_at, Date.parse('2026-12-25T12:00:00.000Z') / 1000);
    assert.equal('expires_at' in toItem(event, SHARDS), false);
  });
});
