/**
 * The GraphQL reader on a real DynamoDB API (dynalite): ordering, pagination across days and
 * shards of the latest-events index, and the limits, on a private table removed afterwards.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { DeleteTableCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities';
import { createDynamoClient } from '../../src/platform/aws';
import { marshallItem } from '../../src/store/hot/itemCodec';
import { shardOf, toItem } from '../../src/store/hot/layout';
import type { EventEnvelope } from '../../src/events/event';
import { buildGraphqlApp } from '../../src/graphql/app';
import { createEventReader } from '../../src/store/hot/reader';
import { provisionTable } from '../../src/ops/provisioning';
import { makeEnvelope } from '../support/events';
import { configFor, isolatedEnv, quietLogger } from '../support/platform';
import { perSuite } from '../support/suite';
import { HANG_TIMEOUT_MS } from '../support/timeouts';

type Row = { eventId: string; timestamp: string; cursor: string };

/** A private hot table, a client on it and the GraphQL app reading it; `remove` closes the app and deletes the table. */
async function privateTable() {
  const config = configFor(await isolatedEnv());
  await provisionTable(config, { logger: quietLogger });
  const client = createDynamoClient(config.aws);
  const app = buildGraphqlApp({
    reader: createEventReader({ dynamo: client, table: config.aws.table, shards: config.latestIndexShards }),
    limits: config.graphql,
  });
  const remove = async () => {
    await app.close();
    await client.send(new DeleteTableCommand({ TableName: config.aws.table }));
    client.destroy();
  };
  return { config, client, app, remove };
}

/** A private table for the describe it is called in: made before its tests, removed after them. */
const privateTablePerSuite = () => perSuite('the private table', privateTable, (t) => t.remove());

/** Event ids newest first, as every list field orders them (the id breaks a tie in timestamps). */
const newestFirst = (list: EventEnvelope[]) =>
  [...list].sort((a, b) => (a.timestamp === b.timestamp ? (a.event_id < b.event_id ? 1 : -1) : a.timestamp < b.timestamp ? 1 : -1)).map((e) => e.event_id);

describe('GraphQL on the real table', { timeout: HANG_TIMEOUT_MS }, () => {
  const table = privateTablePerSuite();
  const events: EventEnvelope[] = [];
  const NOW = Date.parse('2026-11-25T12:00:00.000Z');

  before(async () => {
    const { config, client } = table();
    // 30 events over 5 days, two types, three users; some share a timestamp.
    for (let i = 0; i < 30; i++) {
      const ts = new Date(NOW - Math.floor(i / 2) * 7 * 3_600_000).toISOString();
      events.push(makeEnvelope({ event_type: i % 2 ? 'click' : 'page_view', user_id: `u${i % 3}`, timestamp: ts, payload: { i } }));
    }
    await Promise.all(
      events.map((e) => client.send(new PutItemCommand({ TableName: config.aws.table, Item: marshallItem(toItem(e, config.latestIndexShards)) }))),
    );
  });

  const query = async <T>(q: string) => {
    const res = await table().app.inject({ method: 'POST', url: '/graphql', payload: { query: q } });
    return res.json<{ data?: T; errors?: { message: string }[] }>();
  };

  /** Follows cursors page by page until a short page. */
  async function allPages(field: string, args: string, pageSize: number): Promise<string[]> {
    const ids: string[] = [];
    let after = '';
    for (let page = 0; page < 50; page++) {
      const r = await query<Record<string, Row[]>>(
        `{ ${field}(${args} limit: ${pageSize}${after ? `, after: "${after}"` : ''}) { eventId timestamp cursor } }`,
      );
      assert.equal(r.errors, undefined, JSON.stringify(r.errors));
      const rows = r.data![field]!;
      ids.push(...rows.map((x) => x.eventId));
      if (rows.length < pageSize) return ids;
      after = rows[rows.length - 1]!.cursor;
    }
    assert.fail('pagination did not end');
  }

  it('latestEvents: newest first across days and shards, pages neither overlap nor skip', async () => {
    const first = await query<{ latestEvents: Row[] }>('{ latestEvents(limit: 5) { eventId timestamp cursor } }');
    assert.deepEqual(
      first.data?.latestEvents.map((e) => e.eventId),
      newestFirst(events).slice(0, 5),
    );
    assert.deepEqual(await allPages('latestEvents', '', 7), newestFirst(events));
  });

  it('eventsByType and eventsByUser: only their events, newest first, paginated', async () => {
    assert.deepEqual(await allPages('eventsByType', 'eventType: "click",', 4), newestFirst(events.filter((e) => e.event_type === 'click')));
    assert.deepEqual(await allPages('eventsByUser', 'userId: "u1",', 3), newestFirst(events.filter((e) => e.user_id === 'u1')));
    const none = await query<{ eventsByUser: Row[] }>(`{ eventsByUser(userId: "${randomUUID()}") { eventId } }`);
    assert.deepEqual(none.data?.eventsByUser, []);
  });

  it('the default limit is 10 and the payload comes back as JSON', async () => {
    const r = await query<{ latestEvents: { payload: { i: number } }[] }>('{ latestEvents { payload } }');
    assert.equal(r.data?.latestEvents.length, 10);
    assert.equal(typeof r.data?.latestEvents[0]?.payload.i, 'number');
  });

  it('event(eventId) reads one event, null when absent', async () => {
    const target = events[7]!;
    const r = await query<{ a: { userId: string } | null; b: null }>(
      `{ a: event(eventId: "${target.event_id}") { userId } b: event(eventId: "${randomUUID()}") { userId } }`,
    );
    assert.deepEqual(r.data, { a: { userId: target.user_id }, b: null });
  });

  it('bad arguments are GraphQL errors that say what is wrong', async () => {
    for (const limit of [0, 10_000]) {
      const r = await query(`{ latestEvents(limit: ${limit}) { eventId } }`);
      assert.match(r.errors?.[0]?.message ?? '', /limit: must be between 1 and 100/);
    }
    const r = await query('{ eventsByType(eventType: "click", after: "bm9wZQ") { eventId } }');
    assert.match(r.errors?.[0]?.message ?? '', /after: not a cursor/);
  });
});

/**
 * Pages at any payload size: 700 events of ~30 KB, 90% of them on one shard of the latest-events
 * index and on one type and one user, so DynamoDB cuts Query pages at 1 MB. Paging every list
 * with several limits must return each event once, newest first, with every page full but the
 * last.
 */
describe('GraphQL paging with large payloads', { timeout: HANG_TIMEOUT_MS }, () => {
  const table = privateTablePerSuite();
  const events: EventEnvelope[] = [];
  const NOW = Date.parse('2026-11-25T12:00:00.000Z');
  const COUNT = 700;
  const filler = 'x'.repeat(30_000);

  before(async () => {
    const { config, client } = table();
    const shards = config.latestIndexShards;
    const idInShard = (shard: number) => {
      for (;;) {
        const id = randomUUID();
        if (shardOf(id, shards) === shard) return id;
      }
    };
    for (let i = 0; i < COUNT; i++) {
      const heavy = i % 10 !== 0;
      events.push(
        makeEnvelope({
          event_id: idInShard(heavy ? 0 : 1 + (i % (shards - 1))),
          event_type: heavy ? 'heavy' : 'light',
          user_id: heavy ? 'u-heavy' : 'u-light',
          // ~100 s apart: two UTC days; every tenth shares its predecessor's timestamp.
          timestamp: new Date(NOW - (i - (i % 10 === 9 ? 1 : 0)) * 100_000).toISOString(),
          payload: { i, filler },
        }),
      );
    }
    const queue = [...events];
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let e = queue.pop(); e; e = queue.pop()) {
          await client.send(new PutItemCommand({ TableName: config.aws.table, Item: marshallItem(toItem(e, shards)) }));
        }
      }),
    );
  });

  /** Every page of one list field until an empty page; returns the ids and each page's size. */
  async function pageThrough(field: string, args: string, limit: number): Promise<{ ids: string[]; sizes: number[] }> {
    const ids: string[] = [];
    const sizes: number[] = [];
    let after = '';
    for (let page = 0; page < 2 * COUNT; page++) {
      const res = await table().app.inject({
        method: 'POST',
        url: '/graphql',
        payload: { query: `{ ${field}(${args} limit: ${limit}${after ? `, after: "${after}"` : ''}) { eventId cursor } }` },
      });
      const body = res.json<{ data?: Record<string, Row[]>; errors?: unknown[] }>();
      assert.equal(body.errors, undefined, JSON.stringify(body.errors));
      const rows = body.data![field]!;
      sizes.push(rows.length);
      if (rows.length === 0) return { ids, sizes };
      ids.push(...rows.map((r) => r.eventId));
      after = rows.at(-1)!.cursor;
    }
    assert.fail('paging did not end');
  }

  const cases: { field: string; args: string; expected: () => string[]; limits: number[] }[] = [
    { field: 'latestEvents', args: '', expected: () => newestFirst(events), limits: [7, 100] },
    { field: 'eventsByType', args: 'eventType: "heavy",', expected: () => newestFirst(events.filter((e) => e.event_type === 'heavy')), limits: [9, 100] },
    { field: 'eventsByUser', args: 'userId: "u-heavy",', expected: () => newestFirst(events.filter((e) => e.user_id === 'u-heavy')), limits: [50] },
  ];
  for (const c of cases) {
    for (const limit of c.limits) {
      it(`${c.field}, limit ${limit}: each event once, newest first, every page full until the end`, async () => {
        const { ids, sizes } = await pageThrough(c.field, c.args, limit);
        const expected = c.expected();
        const missing = expected.filter((id) => !ids.includes(id));
        assert.equal(missing.length, 0, `${missing.length} of ${expected.length} events never appeared`);
        assert.equal(new Set(ids).size, ids.length, 'no event appears twice');
        assert.deepEqual(ids, expected);
        const nonEmpty = sizes.filter((n) => n > 0);
        assert.ok(
          nonEmpty.slice(0, -1).every((n) => n === limit),
          `pages before the last are full: ${sizes.join(',')}`,
        );
      });
    }
  }
});

/**
 * Payloads read back exactly as stored, whatever their keys: written by the storeHot activity
 * (the workflow's write) on a real table, read through GraphQL, compared with what was sent.
 */
describe('GraphQL payloads round-trip any JSON key', { timeout: HANG_TIMEOUT_MS }, () => {
  const table = privateTablePerSuite();
  // As the producer receives them: JSON text, so `__proto__` is an own key like any other.
  const SENT = [
    '{"__proto__": {"polluted": true}, "constructor": 1, "prototype": "p", "": "empty key", "hasOwnProperty": false, "toString": null}',
    '{"constructor": {"name": "String"}, "nested": {"__proto__": [1, {"__proto__": {"x": 2}}], "constructor": {"name": "Map"}}}',
    '{"~__proto__": "escaped once", "~~__proto__": {"__proto__": "x"}, "é": "accent", "日本": "kanji", "🙂": "emoji", "a\\u0000b": "nul in key", " ": "space", "list": ["__proto__", {"": ""}]}',
    '{"numbers": [0, 1, -1, 0.1, 123456789.123456, 9007199254740991, -9007199254740991, 1e-130, 9.99e125, 1.7976931348623157e125, 5e-7, -2.5e-100]}',
  ];
  const stored: { eventId: string; sent: string }[] = [];

  before(async () => {
    const { config, client } = table();
    const activities = createActivities({
      dynamo: client,
      s3: { send: async () => ({}) },
      producer: { send: async () => [] },
      table: config.aws.table,
      bucket: config.aws.bucket,
      dlqTopic: config.kafka.dlqTopic,
      latestIndexShards: config.latestIndexShards,
    });
    for (const sent of SENT) {
      const envelope = makeEnvelope({ payload: JSON.parse(sent) as EventEnvelope['payload'] });
      // Through JSON, as Temporal hands the activity its input.
      const input = JSON.parse(JSON.stringify(envelope)) as EventEnvelope;
      assert.equal(await new MockActivityEnvironment().run(activities.storeHot, input), 'stored');
      stored.push({ eventId: envelope.event_id, sent });
    }
  });

  /** The answer's JSON text, parsed the way a client parses it. */
  const answer = async (q: string) => {
    const res = await table().app.inject({ method: 'POST', url: '/graphql', payload: { query: q } });
    return JSON.parse(res.body) as { data?: Record<string, unknown>; errors?: unknown[] };
  };

  it('event(eventId) returns each payload equal to the one sent, key for key', async () => {
    for (const { eventId, sent } of stored) {
      const body = await answer(`{ event(eventId: "${eventId}") { payload } }`);
      assert.equal(body.errors, undefined, JSON.stringify(body.errors));
      const payload = (body.data?.event as { payload: unknown }).payload;
      assert.deepEqual(payload, JSON.parse(sent));
      assert.deepEqual(Object.keys(payload as object), Object.keys(JSON.parse(sent) as object), 'same keys in the same order');
    }
  });

  it('latestEvents returns the same payloads', async () => {
    const body = await answer('{ latestEvents(limit: 10) { eventId payload } }');
    const byId = new Map((body.data?.latestEvents as { eventId: string; payload: unknown }[]).map((e) => [e.eventId, e.payload]));
    for (const { eventId, sent } of stored) assert.deepEqual(byId.get(eventId), JSON.parse(sent));
  });
});
