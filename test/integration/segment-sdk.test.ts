/**
 * Segment's own Node SDK (@segment/analytics-node from npm), pointed at the producer with its
 * `host` option, against the real platform processes: what it sends comes out of GraphQL with the
 * right types, users and payloads, and a batch the SDK sends again after a network error (the
 * first delivery was written, its answer lost) is stored once per messageId; and, for messages
 * without a messageId, a batch the SDK sends again after a 503 is stored once per message.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { Analytics, type HTTPClient } from '@segment/analytics-node';
import { readTopicToEnd } from '../../src/platform/kafka/readToEnd';
import { eventIdForMessageId } from '../../src/producer/segment';
import { graphql } from '../support/clients';
import { startPlatform, type Platform } from '../support/platform';
import { waitFor, waitUntil } from '../support/wait';
import { HANG_TIMEOUT_MS } from '../support/timeouts';

const WRITE_KEY = 'wk-segment-integration-0123456789';

interface StoredEvent {
  eventId: string;
  eventType: string;
  userId: string;
  timestamp: string;
  payload: Record<string, unknown>;
}

async function eventsOf(p: Platform, userId: string): Promise<StoredEvent[]> {
  const r = await graphql<{ eventsByUser: StoredEvent[] }>(
    p,
    `{ eventsByUser(userId: ${JSON.stringify(userId)}, limit: 100) { eventId eventType userId timestamp payload } }`,
  );
  assert.equal(r.errors, undefined, JSON.stringify(r.errors));
  return r.data!.eventsByUser;
}

/** The user's events in GraphQL once there are `count` of them (each arrives some time after its 200). */
const storedEventsOf = (p: Platform, userId: string, count: number): Promise<StoredEvent[]> =>
  waitUntil(
    `${count} events of ${userId} in GraphQL`,
    () => eventsOf(p, userId),
    (events) => events.length === count,
    { timeoutMs: 60_000 },
  );

/**
 * An HTTP proxy in front of the producer. The first `dropAnswers` requests are forwarded and
 * answered by the producer, but the client's connection is cut before the answer reaches it: the
 * SDK sees a network error after its batch was written, and sends the same batch again.
 */
async function startLossyProxy(
  target: string,
  dropAnswers: number,
): Promise<{ url: string; requests: { retryCount?: string; status: number; dropped: boolean }[]; close(): Promise<void> }> {
  const requests: { retryCount?: string; status: number; dropped: boolean }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const headers: Record<string, string> = {};
      for (const name of ['authorization', 'content-type', 'content-encoding']) {
        const v = req.headers[name];
        if (typeof v === 'string') headers[name] = v;
      }
      const answer = await fetch(`${target}${req.url}`, { method: req.method, headers, body: Buffer.concat(chunks) });
      const text = await answer.text();
      const dropped = requests.filter((r) => r.dropped).length < dropAnswers;
      requests.push({ retryCount: req.headers['x-retry-count'] as string | undefined, status: answer.status, dropped });
      if (dropped) return void req.socket.destroy();
      res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' }).end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

describe('Segment SDK against the platform', { timeout: HANG_TIMEOUT_MS }, () => {
  let p: Platform;

  before(async () => {
    // Write keys on, so the SDK's Basic auth is what lets it in.
    p = await startPlatform({ processors: 1, env: { WRITE_KEYS: WRITE_KEY } });
  });
  after(async () => {
    await p?.stop();
  });

  it('track, identify and page calls come out of GraphQL with their types, users and payloads', async () => {
    const userId = `user-${randomUUID()}`;
    const anonymousId = `anon-${randomUUID()}`;
    const analytics = new Analytics({ writeKey: WRITE_KEY, host: p.producerUrl, flushAt: 3, flushInterval: 60_000 });
    const errors: unknown[] = [];
    analytics.on('error', (e) => errors.push(e));
    analytics.track({
      userId,
      anonymousId,
      event: 'Order Completed',
      properties: { orderId: 'o-1', total: 42.5, items: [{ sku: 'a', qty: 2 }] },
      timestamp: new Date('2026-11-20T08:00:00Z'),
    });
    analytics.identify({ userId, traits: { email: 'ada@example.com', plan: 'pro' } });
    analytics.page({ anonymousId, category: 'Docs', name: 'Pricing', properties: { path: '/pricing' } });
    await analytics.closeAndFlush({ timeout: 30_000 });
    assert.deepEqual(errors, [], 'the SDK reports no delivery error');

    const byUser = await storedEventsOf(p, userId, 2);
    const track = byUser.find((e) => e.eventType === 'Order_Completed');
    const identify = byUser.find((e) => e.eventType === 'identify');
    assert.ok(track && identify, JSON.stringify(byUser.map((e) => e.eventType)));
    assert.equal(track.userId, userId);
    assert.equal(track.payload.event, 'Order Completed');
    assert.equal(track.payload.anonymousId, anonymousId);
    assert.deepEqual(track.payload.properties, { orderId: 'o-1', total: 42.5, items: [{ sku: 'a', qty: 2 }] });
    assert.equal((track.payload.context as { library: { name: string } }).library.name, '@segment/analytics-node');
    assert.equal(track.eventId, eventIdForMessageId(String(track.payload.messageId)));
    // The SDK stamps sentAt at delivery; the event's own time survives the correction within the
    // few milliseconds the request took.
    assert.ok(Math.abs(Date.parse(track.timestamp) - Date.parse('2026-11-20T08:00:00Z')) < 60_000, track.timestamp);
    assert.deepEqual(identify.payload.traits, { email: 'ada@example.com', plan: 'pro' });
    assert.ok(!JSON.stringify(byUser).includes(WRITE_KEY), 'the write key is not stored');

    const [page] = await storedEventsOf(p, anonymousId, 1);
    assert.equal(page!.eventType, 'page');
    assert.equal(page!.userId, anonymousId);
    assert.equal(page!.payload.name, 'Pricing');
    assert.equal(page!.payload.category, 'Docs');
    assert.deepEqual(page!.payload.properties, { path: '/pricing', category: 'Docs' });
  });

  it('a gzip batch with the key in the body (as browser SDKs send it) is stored', async () => {
    const userId = `user-${randomUUID()}`;
    const messageId = `ajs-next-${randomUUID()}`;
    const body = gzipSync(
      JSON.stringify({ batch: [{ type: 'screen', userId, name: 'Checkout', messageId }], writeKey: WRITE_KEY, sentAt: new Date().toISOString() }),
    );
    const res = await fetch(`${p.producerUrl}/v1/batch`, { method: 'POST', headers: { 'content-type': 'text/plain', 'content-encoding': 'gzip' }, body });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { success: true });
    const [screen] = await storedEventsOf(p, userId, 1);
    assert.equal(screen!.eventType, 'screen');
    assert.equal(screen!.eventId, eventIdForMessageId(messageId));
  });

  it('the SDK sends a batch again after a network error: one item per messageId', async () => {
    const proxy = await startLossyProxy(p.producerUrl, 1);
    const userId = `user-${randomUUID()}`;
    const count = 5;
    try {
      const analytics = new Analytics({ writeKey: WRITE_KEY, host: proxy.url, flushAt: count, flushInterval: 60_000 });
      const errors: unknown[] = [];
      analytics.on('error', (e) => errors.push(e));
      for (let i = 0; i < count; i++) analytics.track({ userId, event: 'Item Viewed', properties: { n: i } });
      await analytics.closeAndFlush({ timeout: 60_000 });
      assert.deepEqual(errors, [], 'delivered in the end');
    } finally {
      await proxy.close();
    }
    // The premise: the first delivery was written (200 from the producer) and its answer lost, and
    // the SDK sent the same batch again.
    assert.equal(proxy.requests.length, 2, JSON.stringify(proxy.requests));
    assert.deepEqual(
      proxy.requests.map((r) => [r.status, r.dropped]),
      [
        [200, true],
        [200, false],
      ],
    );
    assert.equal(proxy.requests[1]!.retryCount, '1');

    // Both deliveries are on Kafka: 2 x 5 records of this user, carrying 5 distinct event_ids.
    const ids: string[] = [];
    await readTopicToEnd(p.kafka, p.config.kafka.topic, (m) => {
      if (String(m.key) === userId) ids.push((JSON.parse(String(m.value)) as { event_id: string }).event_id);
    });
    assert.equal(ids.length, 2 * count, 'both deliveries reached Kafka');
    const distinct = [...new Set(ids)];
    assert.equal(distinct.length, count, 'the retry carries the same event_ids');
    // Every record has become its workflow and every workflow has finished: whatever was going to
    // be stored is stored.
    for (const id of distinct) {
      await waitFor(`workflow ${id} to complete`, async () => (await p.temporal.workflow.getHandle(id).describe()).status.name === 'COMPLETED', {
        timeoutMs: 60_000,
      });
    }
    await waitFor(
      'the bridge to commit past both deliveries',
      async () => {
        const admin = p.kafka.admin();
        await admin.connect();
        try {
          const ends = await admin.fetchTopicOffsets(p.config.kafka.topic);
          const committed = (await admin.fetchOffsets({ groupId: p.config.kafka.consumerGroup, topics: [p.config.kafka.topic] }))[0]!.partitions;
          return ends.every((e) => e.offset === '0' || committed.find((c) => c.partition === e.partition)?.offset === e.offset);
        } finally {
          await admin.disconnect();
        }
      },
      { timeoutMs: 60_000 },
    );

    const events = await eventsOf(p, userId);
    assert.equal(events.length, count, `one item per messageId: ${events.length}`);
    const ns = events.map((e) => (e.payload.properties as { n: number }).n).sort();
    assert.deepEqual(ns, [0, 1, 2, 3, 4]);
    for (const e of events) assert.equal(e.eventId, eventIdForMessageId(String(e.payload.messageId)));
  });

  it('without messageIds, the batch the SDK resends after a 503 is stored once per message, identical messages apart', async () => {
    const userId = `user-${randomUUID()}`;
    // The SDK's own batching and retries, on a transport that sends its batches without the
    // messageIds (as clients without them do) and hands the SDK a 503 for the first delivery,
    // which the producer wrote: what a 503 after a partly written batch leaves behind, at its worst.
    const deliveries: { status: number; sentAt: string }[] = [];
    const transport: HTTPClient = {
      async makeRequest(req) {
        const body = JSON.parse(req.body) as { batch: Record<string, unknown>[]; sentAt: string };
        for (const m of body.batch) delete m.messageId;
        const res = await fetch(req.url, { method: 'POST', headers: req.headers, body: JSON.stringify(body) });
        deliveries.push({ status: res.status, sentAt: body.sentAt });
        await res.text();
        if (deliveries.length === 1) return { status: 503, statusText: 'Service Unavailable', headers: { 'retry-after': '1' } };
        return { status: res.status, statusText: res.statusText, headers: Object.fromEntries(res.headers) };
      },
    };
    const count = 4;
    const analytics = new Analytics({ writeKey: WRITE_KEY, host: p.producerUrl, flushAt: count + 1, flushInterval: 60_000, httpClient: transport });
    const errors: unknown[] = [];
    analytics.on('error', (e) => errors.push(e));
    const at = new Date(Date.now() - 60_000);
    for (let i = 0; i < count; i++) analytics.track({ userId, event: 'Item Viewed', properties: { n: i }, timestamp: at });
    // The same message twice: two events, which the content-derived ids keep apart by position.
    analytics.track({ userId, event: 'Item Viewed', properties: { n: 0 }, timestamp: at });
    await analytics.closeAndFlush({ timeout: 60_000 });
    assert.deepEqual(errors, [], 'delivered in the end');
    assert.equal(deliveries.length, 2, 'the first delivery and the resend');
    assert.deepEqual(
      deliveries.map((d) => d.status),
      [200, 200],
      'both reached the producer and were written',
    );
    assert.notEqual(deliveries[0]!.sentAt, deliveries[1]!.sentAt, 'the SDK stamps sentAt anew on the resend');

    // Both deliveries are on Kafka with the same event_ids.
    const ids: string[] = [];
    await readTopicToEnd(p.kafka, p.config.kafka.topic, (m) => {
      if (String(m.key) === userId) ids.push((JSON.parse(String(m.value)) as { event_id: string }).event_id);
    });
    assert.equal(ids.length, 2 * (count + 1));
    assert.deepEqual(ids.slice(0, count + 1), ids.slice(count + 1), 'the resend maps every message to the id of its first delivery');
    const distinct = [...new Set(ids)];
    assert.equal(distinct.length, count + 1, 'identical messages at two positions are two events');
    for (const id of distinct) {
      await waitFor(`workflow ${id} to complete`, async () => (await p.temporal.workflow.getHandle(id).describe()).status.name === 'COMPLETED', {
        timeoutMs: 60_000,
      });
    }
    const events = await waitFor(
      'the events in GraphQL',
      async () => {
        const found = await eventsOf(p, userId);
        return found.length >= count + 1 && found;
      },
      { timeoutMs: 60_000 },
    );
    assert.equal(events.length, count + 1, `one item per message: ${events.length}`);
    assert.deepEqual(events.map((e) => (e.payload.properties as { n: number }).n).sort(), [0, 0, 1, 2, 3]);
  });
});
