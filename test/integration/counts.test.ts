/**
 * Exact counts on the real DynamoDB API (dynalite), then through the whole platform.
 *
 * The counter is fed what the stored topic can hand it: the same batch twice, overlapping
 * batches after a restart, two consumers on one partition at once, an event announced again
 * (a retry, a DLQ or archive replay) on the same or another partition. Every case must leave
 * each counter equal to the number of distinct events in its bucket.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { DeleteTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { createDynamoClient } from '../../src/platform/aws';
import { bucketOf, type Interval } from '../../src/store/counts/buckets';
import { createEventCounter, type StoredNotice } from '../../src/store/counts/counter';
import { createCountsReader } from '../../src/store/counts/reader';
import type { Config } from '../../src/platform/config';
import { buildGraphqlApp } from '../../src/graphql/app';
import { createEventReader } from '../../src/store/hot/reader';
import { provisionTable } from '../../src/ops/provisioning';
import { provisionKafka, STORED_TOPIC_RETENTION_MS } from '../../src/platform/kafka/topics';
import { createKafka } from '../../src/platform/kafka/client';
import { ConfigResourceTypes } from 'kafkajs';
import { countedEvents, countsCaughtUp, graphql, postJson } from '../support/clients';
import { makeEnvelope } from '../support/events';
import { configFor, isolatedEnv, platformPerSuite, quietLogger, startPlatform } from '../support/platform';
import { REPO_ROOT } from '../support/paths';
import { putEventItem } from '../../src/store/hot/writer';
import { serializeEnvelope } from '../../src/events/event';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitFor, waitUntil } from '../support/wait';
import { HANG_TIMEOUT_MS } from '../support/timeouts';

type Event = StoredNotice['event'];

const HOUR = 3_600_000;
const BASE = Date.parse('2026-11-20T10:00:00.000Z');

/** Ground truth: distinct events per bucket of `interval` matching the filter. */
function expected(events: Iterable<Event>, interval: Interval, filter: { eventType?: string; userId?: string } = {}): Map<string, number> {
  const counts = new Map<string, number>();
  const seen = new Set<string>();
  for (const e of events) {
    if (seen.has(e.event_id)) continue;
    seen.add(e.event_id);
    if (filter.eventType !== undefined && e.event_type !== filter.eventType) continue;
    if (filter.userId !== undefined && e.user_id !== filter.userId) continue;
    const bucket = bucketOf(e.timestamp, interval);
    counts.set(bucket, (counts.get(bucket) ?? 0) + 1);
  }
  return counts;
}

/** A seeded generator, so a failing case can be run again (the seed is in the test's name). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 2 ** 32;
  };
}

describe('the counter on the real table', { timeout: HANG_TIMEOUT_MS }, () => {
  let config: Config;
  let dynamo: ReturnType<typeof createDynamoClient>;

  before(async () => {
    config = configFor(await isolatedEnv());
    await provisionTable(config, { logger: quietLogger });
    dynamo = createDynamoClient(config.aws);
  });

  after(async () => {
    for (const table of [config.aws.table, config.aws.countsTable]) await dynamo?.send(new DeleteTableCommand({ TableName: table }));
    dynamo?.destroy();
  });

  const counter = () => createEventCounter({ dynamo, table: config.aws.countsTable });
  const reader = () => createCountsReader({ dynamo, table: config.aws.countsTable });

  /** Counts of the whole [from, to) range as a map of non-zero buckets. */
  async function read(filter: { eventType?: string; userId?: string }, interval: Interval, fromMs: number, toMs: number): Promise<Map<string, number>> {
    const rows = await reader().counts(filter, fromMs, toMs, interval);
    return new Map(rows.filter((r) => r.count > 0).map((r) => [r.start, r.count]));
  }

  it('provisioning creates the counts table beside the hot table', async () => {
    const out = await dynamo.send(new DescribeTableCommand({ TableName: config.aws.countsTable }));
    assert.deepEqual(
      out.Table?.KeySchema?.map((k) => `${k.AttributeName}:${k.KeyType}`),
      ['pk:HASH', 'sk:RANGE'],
    );
  });

  it('a batch read again, a longer batch over it, and an event announced again on another partition each count once', async () => {
    const type = `t-${randomUUID().slice(0, 8)}`;
    const events = Array.from({ length: 6 }, (_, i) =>
      makeEnvelope({ event_type: type, user_id: `u${i % 2}`, timestamp: new Date(BASE + i * 20 * 60_000).toISOString() }),
    );
    const notices = events.map((event, i) => ({ offset: 100 + i, event }));
    const c = counter();
    assert.equal((await c.apply(0, notices.slice(0, 3))).counted, 3);
    // The consumer died before committing: the same records come again, and more after them.
    await c.apply(0, notices.slice(0, 3));
    await c.apply(0, notices);
    // storeHot retried after its announcement was sent: the event is announced again, later on
    // the same partition, and (the topic grew partitions) on another one.
    const again = await c.apply(0, [{ offset: 200, event: events[0]! }]);
    assert.deepEqual({ counted: again.counted, duplicates: again.duplicates }, { counted: 0, duplicates: 1 });
    await c.apply(3, [{ offset: 7, event: events[1]! }]);

    for (const interval of ['MINUTE', 'HOUR', 'DAY'] as const) {
      assert.deepEqual(await read({ eventType: type }, interval, BASE, BASE + 4 * HOUR), expected(events, interval), interval);
    }
    assert.deepEqual(await read({ eventType: type, userId: 'u1' }, 'HOUR', BASE, BASE + 4 * HOUR), expected(events, 'HOUR', { userId: 'u1' }));
  });

  it('two consumers applying the same partition at once (a rebalance mid-batch) count each event once', async () => {
    const type = `t-${randomUUID().slice(0, 8)}`;
    const events = Array.from({ length: 40 }, (_, i) =>
      makeEnvelope({ event_type: type, user_id: `u${i % 5}`, timestamp: new Date(BASE + i * 61_000).toISOString() }),
    );
    const notices = events.map((event, i) => ({ offset: i, event }));
    // Several processes, each with its own view of where the batch starts and ends.
    await Promise.all([
      counter().apply(1, notices),
      counter().apply(1, notices.slice(0, 25)),
      counter().apply(1, notices.slice(10)),
      counter().apply(1, notices),
    ]);
    for (const interval of ['MINUTE', 'HOUR'] as const) {
      assert.deepEqual(await read({ eventType: type }, interval, BASE, BASE + 2 * HOUR), expected(events, interval));
      assert.deepEqual(await read({ eventType: type, userId: 'u3' }, interval, BASE, BASE + 2 * HOUR), expected(events, interval, { userId: 'u3' }));
    }
  });

  for (const seed of [1, 2, 3, 4, 5]) {
    it(`random redeliveries, replays and overlapping consumers (seed ${seed}) leave every counter exact`, async () => {
      const random = rng(seed);
      const type = `t-${randomUUID().slice(0, 8)}`;
      const users = Array.from({ length: 4 }, (_, i) => `user ${i} ${randomUUID().slice(0, 4)}`);
      const events: Event[] = Array.from({ length: 120 }, () =>
        makeEnvelope({
          event_type: random() < 0.5 ? type : `${type}-b`,
          user_id: users[Math.floor(random() * users.length)]!,
          timestamp: new Date(BASE + Math.floor(random() * 3 * HOUR)).toISOString(),
        }),
      );
      // The stored topic: each event announced once, a third of them again later (retries,
      // replays), keyed to a partition by event id as the producer does.
      const partitions: StoredNotice[][] = [[], [], [], []];
      const announce = (event: Event) => {
        const p = partitions[event.event_id.charCodeAt(0) % 4]!;
        p.push({ offset: p.length, event });
      };
      for (const e of events) announce(e);
      for (const e of events) if (random() < 0.33) announce(e);
      // Each partition is read by consumers that crash and restart from an earlier offset, in
      // batches of random sizes, while another consumer reads the same records.
      await Promise.all(
        partitions.map(async (records, partition) => {
          const readers = [0, 1].map(async () => {
            const c = counter();
            let at = 0;
            while (at < records.length) {
              const size = 1 + Math.floor(random() * 20);
              await c.apply(partition, records.slice(at, at + size));
              // A crash before the commit: the next batch starts before this one ended.
              at = random() < 0.3 ? Math.max(0, at + size - Math.floor(random() * 10)) : at + size;
            }
          });
          await Promise.all(readers);
        }),
      );
      for (const interval of ['MINUTE', 'HOUR', 'DAY'] as const) {
        for (const filter of [{ eventType: type }, { eventType: `${type}-b` }, { userId: users[0]! }, { eventType: type, userId: users[1]! }]) {
          assert.deepEqual(await read(filter, interval, BASE, BASE + 3 * HOUR), expected(events, interval, filter), `${interval} ${JSON.stringify(filter)}`);
        }
      }
    });
  }

  it('reads a day of hourly or minute counts with one Query, whether the buckets hold 2 000 events or 2', async () => {
    const busy = `t-${randomUUID().slice(0, 8)}`;
    const quiet = `t-${randomUUID().slice(0, 8)}`;
    const day = Date.parse('2026-11-21T00:00:00.000Z');
    const events = Array.from({ length: 2_000 }, (_, i) =>
      makeEnvelope({ event_type: i < 2 ? quiet : busy, user_id: `u${i % 50}`, timestamp: new Date(day + Math.floor((i * 86_400_000) / 2_000)).toISOString() }),
    );
    for (let i = 0; i < events.length; i += 500) {
      await counter().apply(
        0,
        events.slice(i, i + 500).map((event, j) => ({ offset: 10_000 + i + j, event })),
      );
    }
    let queries = 0;
    const counting = { send: (command: Parameters<typeof dynamo.send>[0]) => (queries++, dynamo.send(command)) } as typeof dynamo;
    const r = createCountsReader({ dynamo: counting, table: config.aws.countsTable });
    for (const [type, interval, buckets, total] of [
      [busy, 'HOUR', 24, 1_998],
      [quiet, 'HOUR', 24, 2],
      [busy, 'MINUTE', 1_440, 1_998],
    ] as const) {
      queries = 0;
      const rows = await r.counts({ eventType: type }, day, day + 86_400_000, interval);
      assert.equal(rows.length, buckets);
      assert.equal(
        rows.reduce((sum, row) => sum + row.count, 0),
        total,
      );
      assert.equal(queries, 1, `${type} by ${interval}: one Query`);
    }
  });

  describe('eventCounts over GraphQL', () => {
    const app = () =>
      buildGraphqlApp({
        reader: createEventReader({ dynamo, table: config.aws.table, shards: config.latestIndexShards }),
        counts: createCountsReader({ dynamo, table: config.aws.countsTable }),
        limits: config.graphql,
      });
    const ask = async (query: string, built = app()) => {
      const res = await built.inject({ method: 'POST', url: '/graphql', payload: { query } });
      await built.close();
      return {
        status: res.statusCode,
        ...res.json<{
          data?: { eventCounts: { start: string; count: number }[] };
          errors?: { message: string; extensions?: { code?: string; argument?: string } }[];
        }>(),
      };
    };

    it('answers every bucket of the range, zeros included, oldest first', async () => {
      const type = `t-${randomUUID().slice(0, 8)}`;
      const events = [0, 1, 1, 3].map((h, i) => makeEnvelope({ event_type: type, timestamp: new Date(BASE + h * HOUR + i * 1000).toISOString() }));
      await counter().apply(
        2,
        events.map((event, i) => ({ offset: i, event })),
      );
      const out = await ask(
        `{ eventCounts(eventType: "${type}", from: "2026-11-20T11:00:00+01:00", to: "2026-11-20T14:30:00Z", interval: HOUR) { start count } }`,
      );
      assert.deepEqual(out.data?.eventCounts, [
        { start: '2026-11-20T10:00:00.000Z', count: 1 },
        { start: '2026-11-20T11:00:00.000Z', count: 2 },
        { start: '2026-11-20T12:00:00.000Z', count: 0 },
        { start: '2026-11-20T13:00:00.000Z', count: 1 },
        { start: '2026-11-20T14:00:00.000Z', count: 0 },
      ]);
    });

    it('never counts a bucket that starts before the retention cutoff', async () => {
      const type = `t-${randomUUID().slice(0, 8)}`;
      const now = Date.now();
      const events = [40, 20, 2].map((daysAgo) => makeEnvelope({ event_type: type, timestamp: new Date(now - daysAgo * 86_400_000).toISOString() }));
      await counter().apply(
        2,
        events.map((event, i) => ({ offset: 1_000 + i, event })),
      );
      const built = buildGraphqlApp({
        reader: createEventReader({ dynamo, table: config.aws.table, shards: config.latestIndexShards }),
        counts: createCountsReader({ dynamo, table: config.aws.countsTable, retentionDays: 30 }),
        limits: config.graphql,
      });
      const from = new Date(now - 60 * 86_400_000).toISOString();
      const out = await ask(
        `{ eventCounts(eventType: "${type}", from: "${from}", to: "${new Date(now).toISOString()}", interval: DAY) { start count } }`,
        built,
      );
      const rows = out.data!.eventCounts;
      assert.equal(
        rows.reduce((sum, r) => sum + r.count, 0),
        2,
        'the event 40 days old is past 30 days of retention',
      );
      assert.ok(
        rows.every((r) => Date.parse(r.start) >= now - 30 * 86_400_000),
        'no bucket starts before the cutoff',
      );
    });

    for (const [args, argument] of [
      ['from: "yesterday", to: "2026-11-20T00:00:00Z"', 'from'],
      ['from: "2026-11-20T00:00:00Z", to: "2026-02-30T00:00:00Z"', 'to'],
      ['from: "2026-11-20T00:00:00", to: "2026-11-21T00:00:00Z"', 'from'],
      ['from: "2026-11-21T00:00:00Z", to: "2026-11-20T00:00:00Z"', 'to'],
      ['from: "2026-11-20T00:00:00Z", to: "2026-11-22T00:00:00Z", interval: MINUTE', 'interval'],
      ['eventType: "bad type!", from: "2026-11-20T00:00:00Z", to: "2026-11-21T00:00:00Z"', 'eventType'],
      ['userId: "", from: "2026-11-20T00:00:00Z", to: "2026-11-21T00:00:00Z"', 'userId'],
    ] as const) {
      it(`refuses ${args} naming ${argument}`, async () => {
        const out = await ask(`{ eventCounts(${args}) { start count } }`);
        assert.equal(out.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', JSON.stringify(out));
        assert.equal(out.errors?.[0]?.extensions?.argument, argument);
      });
    }

    it('says counts are off when the platform does not count', async () => {
      const built = buildGraphqlApp({
        reader: createEventReader({ dynamo, table: config.aws.table, shards: config.latestIndexShards }),
        limits: config.graphql,
      });
      const out = await ask('{ eventCounts(from: "2026-11-20T00:00:00Z", to: "2026-11-21T00:00:00Z") { start count } }', built);
      assert.equal(out.errors?.[0]?.extensions?.code, 'COUNTS_DISABLED');
    });
  });
});

it('provisioning raises a stored topic made with an hour of retention to the week counting needs, once', { timeout: HANG_TIMEOUT_MS }, async () => {
  const config = configFor(await isolatedEnv());
  const admin = createKafka(config.kafka, quietLogger, '-test').admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [{ topic: config.kafka.storedTopic, numPartitions: 4, configEntries: [{ name: 'retention.ms', value: '3600000' }] }],
      waitForLeaders: true,
    });
    const retention = async () =>
      (
        await admin.describeConfigs({
          includeSynonyms: false,
          resources: [{ type: ConfigResourceTypes.TOPIC, name: config.kafka.storedTopic, configNames: ['retention.ms'] }],
        })
      ).resources[0]!.configEntries[0]!.configValue;
    assert.match(await provisionKafka(config, { logger: quietLogger }), /retention raised to 604800000 ms/);
    assert.equal(await retention(), String(STORED_TOPIC_RETENTION_MS));
    assert.doesNotMatch(await provisionKafka(config, { logger: quietLogger }), /raised/);
  } finally {
    const existing = new Set(await admin.listTopics());
    const topics = [config.kafka.topic, config.kafka.dlqTopic, config.kafka.storedTopic].filter((t) => existing.has(t));
    if (topics.length > 0) await admin.deleteTopics({ topics });
    await admin.disconnect();
  }
});

describe('counts through the platform', { timeout: HANG_TIMEOUT_MS }, () => {
  const platform = platformPerSuite(() => startPlatform({ processors: 2 }));

  it('events posted twice, in batches and one by one, count once each, in every dimension', async () => {
    const p = platform();
    const type = `counted-${randomUUID().slice(0, 8)}`;
    const now = Date.now();
    const events = Array.from({ length: 30 }, (_, i) => ({
      event_id: randomUUID(),
      event_type: i % 3 === 0 ? `${type}-b` : type,
      user_id: `counts-user-${i % 4}`,
      timestamp: new Date(now - (i % 5) * 60_000).toISOString(),
      payload: { i },
    }));
    const batch = await postJson(`${p.producerUrl}/events/batch`, { events: events.slice(0, 20) });
    assert.equal(batch.status, 202, JSON.stringify(batch.body));
    for (const e of events.slice(10)) assert.equal((await postJson(`${p.producerUrl}/events`, e)).status, 202);

    const truth = events.map((e) => ({ ...e, timestamp: e.timestamp }));
    const from = new Date(now - 3_600_000).toISOString();
    const to = new Date(now + 60_000).toISOString();
    const rows = async (filter: string, interval: Interval) => {
      const out = await graphql<{ eventCounts: { start: string; count: number }[] }>(
        p,
        `{ eventCounts(${filter} from: "${from}", to: "${to}", interval: ${interval}) { start count } }`,
      );
      if (out.errors) throw new Error(JSON.stringify(out.errors));
      return new Map(out.data!.eventCounts.filter((r) => r.count > 0).map((r) => [r.start, r.count]));
    };
    // Each type is counted on its own schedule (events of both types spread over the partitions):
    // both totals are waited for.
    const sum = async (filter: string) => [...(await rows(filter, 'MINUTE')).values()].reduce((a, b) => a + b, 0);
    await waitUntil(
      'the counts of all 30 events',
      async () => ({ [type]: await sum(`eventType: "${type}"`), [`${type}-b`]: await sum(`eventType: "${type}-b"`) }),
      (totals) => totals[type] === 20 && totals[`${type}-b`] === 10,
      { timeoutMs: 60_000 },
    );
    for (const interval of ['MINUTE', 'HOUR', 'DAY'] as const) {
      assert.deepEqual(await rows(`eventType: "${type}"`, interval), expected(truth, interval, { eventType: type }), interval);
      assert.deepEqual(await rows(`eventType: "${type}-b"`, interval), expected(truth, interval, { eventType: `${type}-b` }), interval);
      assert.deepEqual(
        await rows(`eventType: "${type}", userId: "counts-user-1"`, interval),
        expected(truth, interval, { eventType: type, userId: 'counts-user-1' }),
      );
    }
  });
  it('events counts backfill counts items stored without an announcement, once however often it runs, and live subscribers never see them', async () => {
    const p = platform();
    const run = randomUUID().slice(0, 8);
    const type = `backfilled-${run}`;
    const user = `backfill-user-${run}`;
    const hot = { dynamo: p.dynamo, table: p.config.aws.table, latestIndexShards: p.config.latestIndexShards };
    const stored = Array.from({ length: 25 }, (_, i) =>
      makeEnvelope({ event_type: type, user_id: user, timestamp: new Date(Date.now() - i * 3_600_000).toISOString() }),
    );
    // As if stored before counting existed: in the table, never announced.
    for (const e of stored) assert.equal(await putEventItem(hot, e), 'stored');

    const seen: string[] = [];
    const ws = createClient({ url: `${p.graphqlUrl.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
    try {
      ws.subscribe<{ eventStored: { eventId: string; eventType: string } }>(
        { query: `subscription { eventStored(userId: "${user}") { eventId eventType } }` },
        { next: (r) => r.data && seen.push(r.data.eventStored.eventType), error: () => undefined, complete: () => undefined },
      );
      // Announcements written straight to the stored topic, as storeHot writes them.
      const announceLive = async (partitions: number[], eventType: string) => {
        const producer = p.kafka.producer();
        await producer.connect();
        try {
          await producer.send({
            topic: p.config.kafka.storedTopic,
            messages: partitions.map((partition) => {
              const e = makeEnvelope({ event_type: eventType, user_id: user });
              return { partition, key: e.event_id, value: serializeEnvelope(e) };
            }),
          });
        } finally {
          await producer.disconnect();
        }
      };
      // The subscription is live once a first announcement reaches it.
      await waitFor(
        'the subscription to receive a live announcement',
        async () => {
          if (seen.length === 0) await announceLive([0], `probe-${run}`);
          return seen.length > 0;
        },
        { timeoutMs: 30_000, intervalMs: 1_000 },
      );

      const from = new Date(Date.now() - 2 * 86_400_000).toISOString();
      const to = new Date(Date.now() + 86_400_000).toISOString();
      for (const round of [1, 2]) {
        const out = await promisify(execFile)(join(REPO_ROOT, 'bin', 'events'), ['counts', 'backfill'], { cwd: REPO_ROOT, env: { ...process.env, ...p.env } });
        assert.match(out.stdout, /^announced \d+ stored events on \S+ for counting/m);
        await countsCaughtUp(p);
        assert.equal(await countedEvents(p, `eventType: "${type}"`, from, to), stored.length, `after backfill ${round}`);
      }

      // One live announcement per partition, after the backfill's: once the subscriber has all
      // four, every backfilled record before them has been read, and none was sent to it.
      await announceLive([0, 1, 2, 3], `live-${run}`);
      await waitFor('the four live announcements', () => seen.filter((t) => t === `live-${run}`).length >= 4);
      assert.deepEqual(
        seen.filter((t) => t !== `probe-${run}`),
        Array(4).fill(`live-${run}`),
        'no backfilled event reached the subscriber',
      );
    } finally {
      await ws.dispose();
    }
  });
});
