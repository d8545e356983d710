/**
 * Live subscriptions on the running platform: two GraphQL processes, each reading the stored
 * topic in its own consumer group, subscribers with different filters on each, events posted
 * through the producer with keys on. Every subscriber gets exactly the events its filters match,
 * once each, and each one is already readable through the queries when it arrives.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { EventRecord } from '../../src/store/hot/reader';
import { serializeEnvelope } from '../../src/events/event';
import { makeEnvelope } from '../support/events';
import { startPlatform, type Platform } from '../support/platform';
import { waitFor, waitUntil } from '../support/wait';
import { READ_KEY, WRITE_KEY } from '../support/httpFixtures';
import { HANG_TIMEOUT_MS } from '../support/timeouts';

const FIELDS = 'eventId eventType userId timestamp receivedAt payload cursor';

interface Subscriber {
  name: string;
  events: EventRecord[];
  /** For each event, whether `event(eventId)` found it the moment it arrived. */
  readable: Promise<boolean>[];
  ended: Promise<unknown>;
}

describe('GraphQL subscriptions on two instances', { timeout: HANG_TIMEOUT_MS }, () => {
  let p: Platform;
  const clients: Client[] = [];
  const run = randomBytes(3).toString('hex');
  const [T1, T2, U1, U2] = [`signup_${run}`, `click_${run}`, `u1-${run}`, `u2-${run}`];

  const wsUrl = (base: string) => `${base.replace('http', 'ws')}/graphql`;
  const client = (base: string, connectionParams: Record<string, unknown>) => {
    const c = createClient({ url: wsUrl(base), webSocketImpl: WebSocket, connectionParams, retryAttempts: 0, lazy: true });
    clients.push(c);
    return c;
  };
  const readNow = async (base: string, eventId: string) => {
    const res = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${READ_KEY}` },
      body: JSON.stringify({ query: `{ event(eventId: "${eventId}") { eventId } }` }),
    });
    const body = (await res.json()) as { data?: { event: { eventId: string } | null } };
    return body.data?.event?.eventId === eventId;
  };
  const subscribe = (name: string, base: string, args: string): Subscriber => {
    const sub: Subscriber = { name, events: [], readable: [], ended: Promise.resolve() };
    sub.ended = new Promise((resolve) => {
      client(base, { authorization: `Bearer ${READ_KEY}` }).subscribe<{ eventStored: EventRecord }>(
        { query: `subscription { eventStored${args} { ${FIELDS} } }` },
        {
          next: (r) => {
            if (!r.data) return resolve(r.errors);
            sub.events.push(r.data.eventStored);
            sub.readable.push(readNow(base, r.data.eventStored.eventId));
          },
          error: resolve,
          complete: () => resolve(undefined),
        },
      );
    });
    return sub;
  };
  const post = async (event_type: string, user_id: string, payload: Record<string, unknown>) => {
    const res = await fetch(`${p.producerUrl}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${WRITE_KEY}` },
      body: JSON.stringify({ event_type, user_id, payload }),
    });
    const body = (await res.json()) as { event_id?: string };
    assert.equal(res.status, 202, JSON.stringify(body));
    return body.event_id!;
  };

  before(async () => {
    p = await startPlatform({ processors: 1, graphqls: 2, env: { WRITE_KEYS: WRITE_KEY, READ_KEYS: READ_KEY } });
    // Each instance reads the stored topic from the latest offset once its consumer fetches.
    for (const base of p.graphqlUrls) {
      await waitFor(
        `${base} subscriptions ready`,
        async () => ((await (await fetch(`${base}/health`)).json()) as { subscriptions?: string }).subscriptions === 'ready',
        { timeoutMs: 60_000 },
      );
    }
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await p?.stop();
  });

  it('each subscriber sees exactly the stored events its filters match, once each, already readable', async () => {
    const [g1, g2] = p.graphqlUrls as [string, string];
    const byType = subscribe('byType@1', g1, `(eventType: "${T1}")`);
    const byUser = subscribe('byUser@2', g2, `(userId: "${U1}")`);
    const both = subscribe('both@2', g2, `(eventType: "${T1}", userId: "${U1}")`);
    const subs = [byType, byUser, both];

    // A subscription starts after its connection is acknowledged; probes matching every filter
    // are posted until each subscriber has received one, so the events below all find them open.
    const probes = new Set<string>();
    await waitFor(
      'every subscriber to receive a probe',
      async () => {
        probes.add(await post(T1, U1, { probe: true }));
        return subs.every((s) => s.events.some((e) => probes.has(e.eventId)));
      },
      { timeoutMs: 60_000, intervalMs: 1_000 },
    );
    await waitFor('every probe delivered', () => subs.every((s) => [...probes].every((id) => s.events.some((e) => e.eventId === id))), { timeoutMs: 60_000 });

    const posted: { id: string; type: string; user: string }[] = [];
    for (let i = 0; i < 3; i++) {
      for (const [type, user] of [
        [T1, U1],
        [T1, U2],
        [T2, U1],
        [T2, U2],
      ] as const)
        posted.push({ id: await post(type, user, { i, big: 12 }), type, user });
    }
    const expected = (s: Subscriber) =>
      posted
        .filter((e) => (s === byUser ? e.user === U1 : s === byType ? e.type === T1 : e.type === T1 && e.user === U1))
        .map((e) => e.id)
        .sort();
    const received = (s: Subscriber) =>
      s.events
        .filter((e) => !probes.has(e.eventId))
        .map((e) => e.eventId)
        .sort();
    await waitFor('every subscriber to receive its events', () => subs.every((s) => received(s).length >= expected(s).length), {
      timeoutMs: 120_000,
      intervalMs: 250,
    });

    for (const s of subs) {
      assert.deepEqual(received(s), expected(s), s.name);
      const ids = s.events.map((e) => e.eventId);
      assert.equal(new Set(ids).size, ids.length, `${s.name} got an event twice`);
      assert.deepEqual(
        await Promise.all(s.readable),
        s.events.map(() => true),
        `${s.name}: an event arrived before it was readable`,
      );
    }
    const sample = both.events.find((e) => !probes.has(e.eventId))!;
    assert.equal(sample.eventType, T1);
    assert.equal(sample.userId, U1);
    assert.match(sample.timestamp, /Z$/);
    assert.match(sample.receivedAt, /Z$/);
    assert.ok(sample.cursor.length > 0);
    assert.equal((sample.payload as { big: number }).big, 12);

    // What an operator sees on the second instance: its two subscriptions, the events it read.
    // The instance reads announcements its subscribers do not match too, maybe after the last
    // one they matched: waited for.
    const seen = await waitUntil(
      `${g2} to read every announcement`,
      async () => {
        const metrics = await (await fetch(`${g2}/metrics`, { headers: { authorization: `Bearer ${READ_KEY}` } })).text();
        return {
          open: Number(/^graphql_subscriptions_open (\d+)/m.exec(metrics)?.[1]),
          read: Number(/graphql_stored_events_total\{outcome="new"\} (\d+)/.exec(metrics)?.[1]),
        };
      },
      (m) => m.read >= posted.length + probes.size,
    );
    assert.equal(seen.open, 2);
  });

  it('an announcement sent twice (a retried storeHot) reaches a subscriber once', async () => {
    const [g1] = p.graphqlUrls as [string];
    const type = `dup_${run}`;
    const sub = subscribe('dup@1', g1, `(eventType: "${type}")`);
    const producer = p.kafka.producer();
    await producer.connect();
    try {
      const send = (value: string) => producer.send({ topic: p.config.kafka.storedTopic, messages: [{ key: 'one-partition', value }] });
      // Open when a probe arrives; the repeats and the terminator share its partition, so they arrive in order.
      await waitFor(
        'the subscription to be open',
        async () => (await send(serializeEnvelope(makeEnvelope({ event_type: type, payload: { probe: true } }))), sub.events.length > 0),
        { timeoutMs: 30_000, intervalMs: 500 },
      );
      const twice = makeEnvelope({ event_type: type });
      const last = makeEnvelope({ event_type: type });
      for (const e of [twice, twice, twice, last]) await send(serializeEnvelope(e));
      await waitFor('the terminator', () => sub.events.some((e) => e.eventId === last.event_id), { timeoutMs: 30_000 });
      assert.equal(sub.events.filter((e) => e.eventId === twice.event_id).length, 1);
    } finally {
      await producer.disconnect();
    }
  });

  it('a connection without a read key, or with a write key, is closed with the reason', async () => {
    const [g1, g2] = p.graphqlUrls as [string, string];
    for (const [base, params, code] of [
      [g1, {}, 4401],
      [g2, { authorization: `Bearer ${WRITE_KEY}` }, 4403],
    ] as const) {
      const closed = await new Promise<{ code: number; reason: string }>((resolve) => {
        client(base, params).subscribe(
          { query: 'subscription { eventStored { eventId } }' },
          { next: () => undefined, error: (e) => resolve(e as { code: number; reason: string }), complete: () => resolve({ code: 0, reason: 'completed' }) },
        );
      });
      assert.equal(closed.code, code, closed.reason);
      assert.match(closed.reason, code === 4401 ? /Missing API key/ : /write key cannot be used here/);
    }
  });
});
