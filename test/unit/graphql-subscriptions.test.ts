/**
 * Live subscriptions (eventStored) against the GraphQL app on a real socket, with a graphql-ws
 * client: filtering, once per event, the per-key cap, the read key in connection_init or the
 * upgrade headers, the cost checks; and the feed's slow-subscriber cut-off.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { buildGraphqlApp, GRAPHQL_LIMIT_DEFAULTS } from '../../src/graphql/app';
import type { EventReader, EventRecord } from '../../src/store/hot/reader';
import { createLiveFeed, RecentIds, SlowSubscriberError, type LiveFeed } from '../../src/graphql/liveFeed';
import { eventRecord, withinRetention } from '../../src/graphql/storedConsumer';
import { GraphqlMetrics } from '../../src/graphql/metrics';
import { keyHeadersOf } from '../../src/graphql/subscriptionAccess';
import { parseStoredNotice } from '../../src/platform/kafka/storedNotice';
import { serializeEnvelope } from '../../src/events/event';
import { rawNumber } from '../../src/events/exactJson';
import { makeEnvelope } from '../support/events';
import { waitFor } from '../support/wait';
import { READ_KEY, WRITE_KEY } from '../support/httpFixtures';

const FIELDS = 'eventId eventType userId timestamp receivedAt payload cursor';

const record = (overrides: Parameters<typeof makeEnvelope>[0] = {}): EventRecord => eventRecord(makeEnvelope(overrides));

interface Watch {
  events: EventRecord[];
  /** Settles when the subscription ends: with the error or close event, or undefined on complete. */
  ended: Promise<unknown>;
  stop(): void;
}

function watch(client: Client, args = '', variables?: Record<string, unknown>): Watch {
  const events: EventRecord[] = [];
  let stop = () => {};
  const ended = new Promise<unknown>((resolve) => {
    stop = client.subscribe<{ eventStored: EventRecord }>(
      { query: `subscription${variables ? '($t: String)' : ''} { eventStored${args} { ${FIELDS} } }`, variables },
      { next: (r) => (r.data ? events.push(r.data.eventStored) : resolve(r.errors)), error: (e) => resolve(e), complete: () => resolve(undefined) },
    );
  });
  return { events, ended, stop: () => stop() };
}

class HeaderSocket extends WebSocket {
  static headers: Record<string, string> = {};
  constructor(url: string, protocols?: string | string[]) {
    super(url, protocols, { headers: HeaderSocket.headers });
  }
}

describe('eventStored subscriptions', () => {
  let app: FastifyInstance;
  let feed: LiveFeed;
  let url: string;
  const clients: Client[] = [];
  const client = (params: Record<string, unknown> = { authorization: `Bearer ${READ_KEY}` }, impl: unknown = WebSocket) => {
    const c = createClient({ url, webSocketImpl: impl, connectionParams: params, retryAttempts: 0, lazy: true });
    clients.push(c);
    return c;
  };
  /** Subscriptions start asynchronously: wait until the feed counts them before publishing. */
  const subscribed = (n: number) => waitFor(`${n} open subscriptions`, () => feed.count() === n, { timeoutMs: 5_000, intervalMs: 10 });

  before(async () => {
    feed = createLiveFeed({ queueSize: 50, maxPerPrincipal: 3 });
    app = buildGraphqlApp({
      reader: {} as EventReader,
      limits: { defaultLimit: 10, maxLimit: 100, ...GRAPHQL_LIMIT_DEFAULTS },
      access: { readKeys: [READ_KEY], writeKeys: [WRITE_KEY] },
      live: { feed },
    });
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    url = `${address.replace('http', 'ws')}/graphql`;
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await app.close();
  });

  it('sends each subscriber the events its filters match, once each, with every field', async () => {
    const c = client();
    const byType = watch(c, '(eventType: "signup")');
    const byUser = watch(c, '(userId: "u1")');
    const both = watch(c, '(eventType: $t, userId: "u1")', { t: 'signup' });
    await subscribed(3);
    const e1 = record({ event_type: 'signup', user_id: 'u1', payload: { plan: 'pro', n: rawNumber('12345678901234567890') } });
    const e2 = record({ event_type: 'signup', user_id: 'u2' });
    const e3 = record({ event_type: 'page_view', user_id: 'u1' });
    for (const e of [e1, e2, e3, e1, e2]) feed.publish(e); // the repeats are at-least-once redeliveries
    const last = record({ event_type: 'signup', user_id: 'u1' });
    feed.publish(last);
    await waitFor('every subscriber reached the last event', () => [byType, byUser, both].every((w) => w.events.some((e) => e.eventId === last.eventId)), {
      timeoutMs: 5_000,
      intervalMs: 10,
    });
    assert.deepEqual(
      byType.events.map((e) => e.eventId),
      [e1.eventId, e2.eventId, last.eventId],
    );
    assert.deepEqual(
      byUser.events.map((e) => e.eventId),
      [e1.eventId, e3.eventId, last.eventId],
    );
    assert.deepEqual(
      both.events.map((e) => e.eventId),
      [e1.eventId, last.eventId],
    );
    assert.deepEqual(byType.events[0], JSON.parse(JSON.stringify(e1)));
    for (const w of [byType, byUser, both]) w.stop();
    await subscribed(0);
  });

  it('caps open subscriptions per key, and frees the slot when one ends', async () => {
    const c = client();
    const open = [watch(c), watch(c), watch(c)];
    await subscribed(3);
    const fourth = watch(client());
    const errors = (await fourth.ended) as { message: string; extensions?: { code?: string } }[];
    assert.match(errors[0]!.message, /too many subscriptions: at most 3 open at once per key/);
    assert.equal(errors[0]!.extensions?.code, 'TOO_MANY_SUBSCRIPTIONS');
    open[0]!.stop();
    await subscribed(2);
    const again = watch(c);
    await subscribed(3);
    for (const w of [...open, again]) w.stop();
    await subscribed(0);
  });

  it('refuses a connection without a read key, with an unknown key or with a write key, naming the reason', async () => {
    for (const [params, code, reason] of [
      [{}, 4401, /Missing API key.*connectionParams/],
      [{ authorization: 'Bearer rk-not-a-configured-key' }, 4401, /Invalid API key/],
      [{ 'x-api-key': WRITE_KEY }, 4403, /A write key cannot be used here/],
    ] as const) {
      const w = watch(client(params));
      const closed = (await w.ended) as { code: number; reason: string };
      assert.equal(closed.code, code, JSON.stringify(params));
      assert.match(closed.reason, reason);
    }
    assert.equal(feed.count(), 0);
  });

  it('takes the key from the upgrade request headers too, and refuses a bad one there with 401', async () => {
    HeaderSocket.headers = { authorization: `Bearer ${READ_KEY}` };
    const ok = watch(client({}, HeaderSocket));
    await subscribed(1);
    ok.stop();
    await subscribed(0);
    const refused = new WebSocket(url, 'graphql-transport-ws', { headers: { authorization: 'Bearer rk-not-a-configured-key' } });
    const status = await new Promise<number | undefined>((resolve) => {
      refused.on('unexpected-response', (_req, res) => resolve(res.statusCode));
      refused.on('open', () => resolve(undefined));
      refused.on('error', () => undefined);
    });
    refused.terminate();
    assert.equal(status, 401);
  });

  it('checks a subscription document like a query: unknown fields and oversized documents are refused', async () => {
    const c = client();
    let errors = (await new Promise<unknown>((resolve) => {
      c.subscribe({ query: 'subscription { eventStored { nope } }' }, { next: (r) => resolve(r.errors), error: resolve, complete: () => resolve(undefined) });
    })) as { message: string }[];
    assert.match(errors[0]!.message, /Cannot query field "nope"/);
    const wide = Array.from({ length: 40 }, (_, i) => `a${i}: eventId`).join(' ');
    errors = (await new Promise<unknown>((resolve) => {
      c.subscribe(
        { query: `subscription { eventStored { ${wide} } }` },
        { next: (r) => resolve(r.errors), error: resolve, complete: () => resolve(undefined) },
      );
    })) as { message: string }[];
    assert.match(errors[0]!.message, /query too expensive: the number of aliases/);
    assert.equal(feed.count(), 0);
  });

  it('closes a subscriber that falls behind, saying why', async () => {
    // A subscriber whose socket does not drain: its events wait in its queue until it is cut off.
    const c = client();
    const slow = watch(c);
    await subscribed(1);
    const sockets = [...app.websocketServer.clients];
    assert.equal(sockets.length, 1);
    // Stand-in for a client that stopped reading: sends on the server side never complete.
    const stuck = sockets[0]!;
    stuck.send = (() => undefined) as typeof stuck.send;
    for (let i = 0; i < 60; i++) feed.publish(record());
    const closed = (await slow.ended) as { code: number; reason: string };
    assert.equal(closed.code, 1008);
    assert.match(closed.reason, /slow subscriber: 50 events were waiting/);
    await subscribed(0);
  });
});

describe('eventStored subscriptions without keys', () => {
  it('answers a subscription sent as an HTTP request with an error saying where to send it', async () => {
    const app = buildGraphqlApp({ reader: {} as EventReader, limits: { defaultLimit: 10, maxLimit: 100 } });
    try {
      const res = await app.inject({ method: 'POST', url: '/graphql', payload: { query: 'subscription { eventStored { eventId } }' } });
      // 200, as for any GraphQL error in a well-formed request: GraphiQL sends a subscription over
      // HTTP when it runs one before its editor parsed the document, and shows this message.
      assert.equal(res.statusCode, 200);
      assert.match(res.json<{ errors: { message: string }[] }>().errors[0]!.message, /WebSocket to \/graphql \(graphql-ws protocol\)/);
    } finally {
      await app.close();
    }
  });

  it('caps open subscriptions per client address', async () => {
    const feed = createLiveFeed({ queueSize: 10, maxPerPrincipal: 2 });
    const app = buildGraphqlApp({ reader: {} as EventReader, limits: { defaultLimit: 10, maxLimit: 100 }, live: { feed } });
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    const c = createClient({ url: `${address.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
    try {
      const open = [watch(c), watch(c)];
      await waitFor('2 open', () => feed.count('ip:127.0.0.1') === 2, { timeoutMs: 5_000, intervalMs: 10 });
      const errors = (await watch(c).ended) as { message: string }[];
      assert.match(errors[0]!.message, /at most 2 open at once per client address/);
      for (const w of open) w.stop();
      await waitFor('none open', () => feed.count() === 0, { timeoutMs: 5_000, intervalMs: 10 });
    } finally {
      await c.dispose();
      await app.close();
    }
  });
});

describe('live feed', () => {
  it('cuts off a subscriber whose queue is full, and keeps serving the others', async () => {
    const feed = createLiveFeed({ queueSize: 2, maxPerPrincipal: 10 });
    const reasons: string[] = [];
    const slow = feed.subscribe('ip:a', {}, (err) => reasons.push(err.message));
    const fast = feed.subscribe('ip:b', {});
    const got: string[] = [];
    const reading = (async () => {
      for await (const e of fast) if (got.push(e.eventId) === 4) break;
    })();
    const events = [record(), record(), record(), record()];
    for (const e of events) {
      feed.publish(e);
      await new Promise((r) => setImmediate(r));
    }
    await reading;
    assert.deepEqual(
      got,
      events.map((e) => e.eventId),
    );
    assert.deepEqual(reasons, ['slow subscriber: 2 events were waiting to be sent; read faster or narrow the filter']);
    await assert.rejects(slow.next(), SlowSubscriberError);
    assert.deepEqual(await slow.next(), { value: undefined, done: true });
    assert.equal(feed.count(), 0);
  });

  it('passes on only events the queries would serve under HOT_RETENTION_DAYS', () => {
    const now = Date.parse('2026-11-26T00:00:00.000Z');
    assert.equal(withinRetention({ timestamp: '2026-11-20T00:00:00.000Z' }, 7, now), true);
    assert.equal(withinRetention({ timestamp: '2026-11-18T23:59:59.999Z' }, 7, now), false);
    assert.equal(withinRetention({ timestamp: '2001-01-01T00:00:00.000Z' }, 0, now), true);
  });

  it('counts announcements (new, repeat), cut-offs and open subscriptions for /metrics', async () => {
    const metrics = new GraphqlMetrics();
    const feed = createLiveFeed({ queueSize: 1, maxPerPrincipal: 10, observer: metrics.liveObserver() });
    metrics.watchSubscriptions(() => feed.count());
    feed.subscribe('ip:a', {});
    const e = record();
    feed.publish(e);
    feed.publish(e);
    assert.match(await metrics.text(), /graphql_subscriptions_open 1\b/);
    feed.publish(record()); // the subscriber never reads: its queue of 1 is full
    const text = await metrics.text();
    assert.match(text, /graphql_stored_events_total\{outcome="new"\} 2\b/);
    assert.match(text, /graphql_stored_events_total\{outcome="repeat"\} 1\b/);
    assert.match(text, /graphql_subscriptions_cut_off_total 1\b/);
    assert.match(text, /graphql_subscriptions_open 0\b/);
  });

  it('forgets the oldest ids first', () => {
    const ids = new RecentIds(2);
    assert.equal(ids.add('a'), true);
    assert.equal(ids.add('a'), false);
    ids.add('b');
    ids.add('c');
    assert.equal(ids.size, 2);
    assert.equal(ids.add('a'), true, 'a was the oldest and is forgotten');
    assert.equal(ids.add('c'), false);
  });

  it('reads the key from connectionParams in the usual spellings', () => {
    assert.deepEqual(keyHeadersOf({ Authorization: 'Bearer k' }), { authorization: 'Bearer k' });
    assert.deepEqual(keyHeadersOf({ headers: { 'X-API-Key': 'k' } }), { 'x-api-key': 'k' });
    assert.deepEqual(keyHeadersOf({ other: 'x' }), {});
    assert.deepEqual(keyHeadersOf(null), {});
  });

  it('round-trips a stored notice with every digit of the payload', () => {
    const envelope = makeEnvelope({ payload: { big: rawNumber('12345678901234567890') } });
    const text = serializeEnvelope(envelope);
    const parsed = parseStoredNotice(Buffer.from(text));
    assert.ok(parsed);
    assert.match(JSON.stringify(eventRecord(parsed).payload), /12345678901234567890/);
    assert.equal(parseStoredNotice(Buffer.from('not json')), undefined);
    assert.equal(parseStoredNotice(null), undefined);
  });
});
