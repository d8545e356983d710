/**
 * Segment-compatible intake: the mapping of each message type onto the event, and the /v1/*
 * routes over a real loopback socket with Kafka replaced by a fake (answers, compressed bodies,
 * a gzip bomb, keys in Basic auth or in the body), plus Segment's own Node SDK against them.
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest, createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, createGzip, deflateSync, gzipSync } from 'node:zlib';
import type { Message } from 'kafkajs';
import { pino } from 'pino';
import { Analytics } from '@segment/analytics-node';
import type { EventEnvelope } from '../../src/events/event';
import { EVENT_TYPE_PATTERN } from '../../src/events/validate';
import { BodyError, readBody } from '../../src/platform/http/body';
import type { AccessOptions } from '../../src/platform/http/access';
import { KafkaUnavailableError } from '../../src/producer/batcher';
import { createProducerApp, type ProducerAppDeps } from '../../src/producer/app';
import { ProducerMetrics } from '../../src/producer/metrics';
import {
  contentEventId,
  eventIdForMessageId,
  eventTypeForTrack,
  mapSegmentMessage,
  SEGMENT_CONTENT_NAMESPACE,
  SEGMENT_NAMESPACE,
  type SegmentMessageContext,
} from '../../src/producer/segment';
import { basic, READ_KEY, WRITE_KEY } from '../support/httpFixtures';
import { LIMITS } from '../support/limits';

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
const V7 = '0192f1c4-8d1e-7c3a-9b2f-5a6d7e8f9a0b';
const UUID_V5 = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ctx = (more: Partial<SegmentMessageContext> = {}): SegmentMessageContext => ({ receivedAtMs: NOW, limits: LIMITS, newEventId: () => V7, ...more });

function mapped(message: unknown, more: Partial<SegmentMessageContext> = {}): EventEnvelope {
  const r = mapSegmentMessage(message, ctx(more));
  assert.ok(r.ok, `maps: ${JSON.stringify(r.ok ? '' : r.errors)}`);
  return r.value;
}
function fields(message: unknown, more: Partial<SegmentMessageContext> = {}): string[] {
  const r = mapSegmentMessage(message, ctx(more));
  assert.ok(!r.ok, 'rejected');
  return r.errors.map((e) => e.field).sort();
}

describe('Segment mapping', () => {
  it('track: the event name becomes the event_type, sanitised, and the payload keeps the original and Segment fields', () => {
    // The Segment fields the payload keeps as sent.
    const kept = {
      type: 'track',
      event: 'Order Completed',
      userId: 'u1',
      anonymousId: 'a1',
      messageId: 'ajs-next-1',
      properties: { revenue: 42.5, currency: 'EUR' },
      context: { ip: '1.2.3.4', library: { name: 'analytics-node' } },
      integrations: { All: true },
    };
    const e = mapped({ ...kept, timestamp: '2026-11-25T11:59:00.000Z', writeKey: 'wk-secret-0123456789', _metadata: { nodeVersion: 'v24' } });
    assert.equal(e.event_type, 'Order_Completed');
    assert.equal(e.user_id, 'u1');
    assert.equal(e.timestamp, '2026-11-25T11:59:00.000Z');
    assert.equal(e.received_at, new Date(NOW).toISOString());
    // The timestamp becomes the event's own, the writeKey is dropped, unknown fields go under extra.
    assert.deepEqual(e.payload, { ...kept, extra: { _metadata: { nodeVersion: 'v24' } } });
    assert.ok(!JSON.stringify(e).includes('wk-secret'), 'the writeKey is never stored');
  });

  it('identify, page, screen, group and alias: event_type is the type, their fields go into the payload', () => {
    const identify = mapped({ type: 'identify', userId: 'u1', traits: { email: 'a@b.c' } });
    assert.equal(identify.event_type, 'identify');
    assert.deepEqual(identify.payload, { type: 'identify', userId: 'u1', traits: { email: 'a@b.c' } });

    const page = mapped({ type: 'page', anonymousId: 'a1', name: 'Pricing', category: 'Docs', properties: { path: '/pricing' } });
    assert.equal(page.event_type, 'page');
    assert.deepEqual(page.payload, { type: 'page', name: 'Pricing', category: 'Docs', anonymousId: 'a1', properties: { path: '/pricing' } });

    const screen = mapped({ type: 'screen', userId: 'u1', name: 'Home' });
    assert.equal(screen.event_type, 'screen');
    assert.equal(screen.payload.name, 'Home');

    const group = mapped({ type: 'group', userId: 'u1', groupId: 'g1', traits: { plan: 'pro' } });
    assert.equal(group.event_type, 'group');
    assert.deepEqual(group.payload, { type: 'group', groupId: 'g1', userId: 'u1', traits: { plan: 'pro' } });

    const alias = mapped({ type: 'alias', userId: 'u2', previousId: 'a1' });
    assert.equal(alias.event_type, 'alias');
    assert.equal(alias.user_id, 'u2');
    assert.deepEqual(alias.payload, { type: 'alias', previousId: 'a1', userId: 'u2' });
  });

  it('the endpoint type wins over the body for /v1/<type>', () => {
    assert.equal(mapped({ type: 'page', userId: 'u', event: 'Signed Up' }, { type: 'track' }).event_type, 'Signed_Up');
  });

  it('a non-UUID messageId maps to the same UUIDv5 every time; a UUID is kept; none gets a new id', () => {
    const first = mapped({ type: 'track', event: 'x', userId: 'u', messageId: 'node-next-1668208232027-743be593' });
    const again = mapped({ type: 'identify', userId: 'other', messageId: 'node-next-1668208232027-743be593' });
    assert.match(first.event_id, UUID_V5);
    assert.equal(again.event_id, first.event_id);
    assert.equal(eventIdForMessageId('node-next-1668208232027-743be593'), first.event_id);
    assert.notEqual(eventIdForMessageId('node-next-1668208232027-743be594'), first.event_id);
    // The namespace is fixed: this value is what every deployment computes, forever.
    assert.equal(SEGMENT_NAMESPACE, '9c538bc5-5d65-42f8-aae9-7a0c3c9d00e5');
    assert.equal(eventIdForMessageId('abc'), eventIdForMessageId('abc'));
    assert.equal(
      mapped({ type: 'track', event: 'x', userId: 'u', messageId: 'F47AC10B-58CC-4372-A567-0E02B2C3D479' }).event_id,
      'f47ac10b-58cc-4372-a567-0e02b2c3d479',
    );
    assert.equal(mapped({ type: 'track', event: 'x', userId: 'u' }).event_id, V7);
  });

  it('user_id is userId, else anonymousId (a number is kept as text); both stay in the payload', () => {
    assert.equal(mapped({ type: 'track', event: 'x', anonymousId: 'anon-1' }).user_id, 'anon-1');
    assert.equal(mapped({ type: 'track', event: 'x', userId: '', anonymousId: 'anon-1' }).user_id, 'anon-1');
    assert.equal(mapped({ type: 'track', event: 'x', userId: null, anonymousId: 'anon-1' }).user_id, 'anon-1');
    const both = mapped({ type: 'track', event: 'x', userId: 42, anonymousId: 'anon-1' });
    assert.equal(both.user_id, '42');
    assert.equal(both.payload.userId, 42);
    assert.equal(both.payload.anonymousId, 'anon-1');
  });

  it('event names: every character outside [A-Za-z0-9_.:-] becomes _, one per code point, cut to 128', () => {
    assert.equal(eventTypeForTrack('Order Completed'), 'Order_Completed');
    assert.equal(eventTypeForTrack('checkout:step-2.done'), 'checkout:step-2.done');
    assert.equal(eventTypeForTrack('Été 🎉/ok'), '_t____ok');
    const long = eventTypeForTrack('Ä'.repeat(300));
    assert.equal(long, '_'.repeat(128));
    for (const name of ['Order Completed', 'ü'.repeat(500), '🎉', 'a\u0000b', 'x'.repeat(129), '\ud83c\udf89'.repeat(100)]) {
      const r = mapped({ type: 'track', event: name, userId: 'u' });
      assert.match(r.event_type, EVENT_TYPE_PATTERN, `${JSON.stringify(name.slice(0, 20))} gives a valid event_type`);
      assert.equal(r.payload.event, name, 'the original name is kept');
    }
  });

  it('sentAt corrects the timestamp like /events/batch sent_at, and keeps the original', () => {
    // The client clock is 1 h ahead: it says it sent at 13:00 an event of 12:58, received at 12:00.
    const e = mapped({ type: 'track', event: 'x', userId: 'u', timestamp: '2026-11-25T12:58:00Z', sentAt: '2026-11-25T13:00:00Z' });
    assert.equal(e.timestamp, '2026-11-25T11:58:00.000Z');
    assert.equal(e.payload.originalTimestamp, '2026-11-25T12:58:00Z');
    assert.equal(e.payload.sentAt, '2026-11-25T13:00:00Z');
    // The batch's sentAt applies when the message has none.
    assert.equal(
      mapped({ type: 'track', event: 'x', userId: 'u', timestamp: '2026-11-25T12:58:00Z' }, { batchClockSkewMs: -3_600_000 }).timestamp,
      '2026-11-25T11:58:00.000Z',
    );
    // Without a timestamp, sentAt changes nothing.
    assert.equal(mapped({ type: 'track', event: 'x', userId: 'u', sentAt: '2026-11-25T13:00:00Z' }).timestamp, new Date(NOW).toISOString());
  });

  it('a sentAt correction that makes the time unstorable is an error naming sentAt; bad times name their field', () => {
    const r = mapSegmentMessage({ type: 'track', event: 'x', userId: 'u', timestamp: '2026-11-25T11:00:00Z', sentAt: '2100-01-01T00:00:00Z' }, ctx());
    assert.ok(!r.ok);
    assert.deepEqual(
      r.errors.map((e) => e.field),
      ['sentAt'],
    );
    assert.match(r.errors[0]!.message, /sentAt/);
    assert.doesNotMatch(r.errors[0]!.message, /sent_at/);
    assert.deepEqual(
      fields({ type: 'track', event: 'x', userId: 'u', timestamp: '2026-11-25T11:00:00Z', sentAt: '2100-01-01T00:00:00Z' }, { fieldPrefix: 'batch[4].' }),
      ['batch[4].sentAt'],
    );
    assert.deepEqual(fields({ type: 'track', event: 'x', userId: 'u', timestamp: '2026-11-25 11:00' }), ['timestamp']);
    assert.deepEqual(fields({ type: 'track', event: 'x', userId: 'u', sentAt: 'yesterday' }), ['sentAt']);
    assert.deepEqual(fields({ type: 'track', event: 'x', userId: 'u', timestamp: '2026-11-27T12:00:00Z' }, { fieldPrefix: 'batch[0].' }), [
      'batch[0].timestamp',
    ]);
  });

  it("bad messages name each field under Segment's names, in a batch with its index", () => {
    assert.deepEqual(fields({ type: 'track', userId: 'u' }), ['event']);
    assert.deepEqual(fields({ type: 'track', event: 'x' }), ['userId']);
    assert.deepEqual(fields({ type: 'fly', userId: 'u' }), ['type']);
    assert.deepEqual(fields({ userId: 'u' }), ['type']);
    assert.deepEqual(fields({ type: 'group', userId: 'u' }), ['groupId']);
    assert.deepEqual(fields({ type: 'alias', userId: 'u' }), ['previousId']);
    assert.deepEqual(fields({ type: 'alias', anonymousId: 'a', previousId: 'p' }), ['userId']);
    assert.deepEqual(fields({ type: 'identify', userId: 'u', traits: [1] }), ['traits']);
    assert.deepEqual(fields({ type: 'track', event: 'x', userId: { id: 1 } }), ['userId', 'userId']);
    assert.deepEqual(fields({ type: 'track', event: 'x', userId: 'u', messageId: 7 }), ['messageId']);
    assert.deepEqual(fields({ type: 'page', userId: 'u', name: 5 }), ['name']);
    assert.deepEqual(fields({ type: 'track', event: 'x', userId: 'u'.repeat(257) }), ['userId']);
    assert.deepEqual(fields({ type: 'track', event: 'x', anonymousId: 'a'.repeat(257) }), ['anonymousId']);
    // The storable-value rules of /events apply, with the path as the client wrote it.
    assert.deepEqual(fields({ type: 'track', event: 'x', userId: 'u', properties: { v: -0, big: 1e126 } }), ['properties.big', 'properties.v']);
    assert.deepEqual(fields({ type: 'track', event: 'x', userId: 'u', context: { a: [1e-200] } }, { fieldPrefix: 'batch[2].' }), ['batch[2].context.a[0]']);
    assert.deepEqual(fields({ type: 'track', event: 'x', userId: 'u', custom: -0 }), ['custom']);
    assert.deepEqual(fields('text', { fieldPrefix: 'batch[1].' }), ['batch[1]']);
  });

  it("a message over 32 KiB is refused; the envelope's own copies of its fields never tip one under the limit over it", () => {
    assert.deepEqual(fields({ type: 'track', event: 'x', userId: 'u', properties: { s: 'x'.repeat(33_000) } }, { fieldPrefix: 'batch[0].' }), ['batch[0]']);
    const base = { type: 'track', event: 'E'.repeat(128), userId: 'u'.repeat(256), messageId: 'm'.repeat(100), properties: { s: '' } };
    const room = LIMITS.maxEventBytes - Buffer.byteLength(JSON.stringify(base));
    const atLimit = { ...base, properties: { s: 'x'.repeat(room) } };
    assert.equal(Buffer.byteLength(JSON.stringify(atLimit)), LIMITS.maxEventBytes);
    assert.equal(mapped(atLimit).user_id, 'u'.repeat(256));
  });

  it("a batch's context and integrations are merged under each message's own", () => {
    const e = mapped(
      { type: 'track', event: 'x', userId: 'u', context: { ip: '9.9.9.9' } },
      { defaults: { context: { ip: '1.1.1.1', app: { name: 'shop' } }, integrations: { All: false } } },
    );
    assert.deepEqual(e.payload.context, { ip: '9.9.9.9', app: { name: 'shop' } });
    assert.deepEqual(e.payload.integrations, { All: false });
  });

  it('keys such as __proto__ and constructor are kept as data', () => {
    const message = JSON.parse('{"type":"track","event":"x","userId":"u","__proto__":{"polluted":1},"properties":{"constructor":1}}') as unknown;
    const e = mapped(message);
    assert.deepEqual(Object.keys(e.payload.extra as object), ['__proto__']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});

// ---------------------------------------------------------------------------------------------

/** 'partial': Kafka acknowledges the first half of a request's records and not the rest (a 503). */
type Mode = 'ack' | 'kafka-down' | 'partial';
let mode: Mode = 'ack';
let published: Message[] = [];

async function startApp(access?: AccessOptions, more: Partial<ProducerAppDeps> = {}): Promise<{ base: string; server: Server; close: () => Promise<void> }> {
  const app = createProducerApp({
    publish: async (m) => {
      if (mode === 'kafka-down') throw new KafkaUnavailableError('down');
      if (mode === 'partial') {
        const half = Math.ceil(m.length / 2);
        published.push(...m.slice(0, half));
        throw new KafkaUnavailableError('partly written', { acknowledged: m.map((_, i) => i < half) });
      }
      published.push(...m);
    },
    isReady: async () => true,
    limits: LIMITS,
    newEventId: () => V7,
    metrics: new ProducerMetrics(),
    logger: pino({ level: 'silent' }),
    now: () => NOW,
    access,
    ...more,
  });
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

const envelopes = (): EventEnvelope[] => published.map((m) => JSON.parse(String(m.value)) as EventEnvelope);

async function send(
  base: string,
  path: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: JSON.parse(text) as Record<string, unknown> };
}
const errorFields = (json: Record<string, unknown>): string[] => (json.errors as { field: string }[]).map((e) => e.field).sort();

describe('Segment routes', () => {
  let app: Awaited<ReturnType<typeof startApp>>;
  before(async () => (app = await startApp()));
  after(() => app.close());
  beforeEach(() => {
    mode = 'ack';
    published = [];
  });

  it('each single-message endpoint answers 200 {"success": true} and writes one event', async () => {
    const bodies: Record<string, object> = {
      track: { event: 'Signed Up', userId: 'u1', properties: { plan: 'pro' } },
      identify: { userId: 'u1', traits: { email: 'a@b.c' } },
      page: { anonymousId: 'a1', name: 'Home' },
      screen: { userId: 'u1', name: 'Main' },
      group: { userId: 'u1', groupId: 'g1' },
      alias: { userId: 'u1', previousId: 'a1' },
    };
    for (const [type, body] of Object.entries(bodies)) {
      const r = await send(app.base, `/v1/${type}`, JSON.stringify(body));
      assert.equal(r.status, 200, `${type}: ${JSON.stringify(r.json)}`);
      assert.deepEqual(r.json, { success: true });
    }
    assert.deepEqual(
      envelopes().map((e) => e.event_type),
      ['Signed_Up', 'identify', 'page', 'screen', 'group', 'alias'],
    );
    assert.deepEqual(
      envelopes().map((e) => e.user_id),
      ['u1', 'u1', 'a1', 'u1', 'u1', 'u1'],
    );
    assert.equal(published[0]!.key, 'u1', 'keyed by user_id like /events');
  });

  it('numbers keep their digits: an int64 userId and properties beyond a double reach Kafka as sent', async () => {
    const body =
      '{"type":"track","event":"Paid","userId":12345678901234567890,"properties":{"order_id":-9223372036854775808,"amount":0.1000000000000000055511151231257827,"n":1E+5}}';
    const r = await send(app.base, '/v1/batch', `{"batch":[${body}]}`);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(String(published[0]!.key), '12345678901234567890');
    assert.match(String(published[0]!.value), /"user_id":"12345678901234567890"/);
    assert.match(String(published[0]!.value), /"properties":\{"order_id":-9223372036854775808,"amount":0\.1000000000000000055511151231257827,"n":1E\+5\}/);
  });

  it("analytics.js's one-letter paths (/v1/t, /v1/i, /v1/p, /v1/s, /v1/g, /v1/a, /v1/b) are the same routes", async () => {
    const bodies: Record<string, object> = {
      t: { event: 'Clicked', anonymousId: 'a1' },
      i: { userId: 'u1' },
      p: { anonymousId: 'a1', name: 'Home' },
      s: { userId: 'u1', name: 'Main' },
      g: { userId: 'u1', groupId: 'g1' },
      a: { userId: 'u1', previousId: 'a1' },
      b: { batch: [{ type: 'track', event: 'Batched', userId: 'u1' }] },
    };
    for (const [path, body] of Object.entries(bodies)) {
      const r = await send(app.base, `/v1/${path}`, JSON.stringify({ ...body, writeKey: 'ignored without keys' }), { 'content-type': 'text/plain' });
      assert.equal(r.status, 200, `/v1/${path}: ${JSON.stringify(r.json)}`);
    }
    assert.deepEqual(
      envelopes().map((e) => e.event_type),
      ['Clicked', 'identify', 'page', 'screen', 'group', 'alias', 'Batched'],
    );
  });

  it('a bad single message is 400 {"success": false, "message", "errors"} naming the fields, and nothing is written', async () => {
    const r = await send(app.base, '/v1/track', JSON.stringify({ properties: [] }));
    assert.equal(r.status, 400);
    assert.equal(r.json.success, false);
    assert.equal(typeof r.json.message, 'string');
    assert.deepEqual(errorFields(r.json), ['event', 'properties', 'userId']);
    assert.equal(published.length, 0);
  });

  it('malformed JSON, an empty body, a non-object and a wrong Content-Type are refused naming the field', async () => {
    assert.deepEqual(errorFields((await send(app.base, '/v1/track', '{"event":')).json), ['body']);
    assert.equal((await send(app.base, '/v1/track', '{"event":')).status, 400);
    assert.equal((await send(app.base, '/v1/track', '')).status, 400);
    assert.equal((await send(app.base, '/v1/batch', '[1]')).status, 400);
    const form = await send(app.base, '/v1/track', 'a=b', { 'content-type': 'application/x-www-form-urlencoded' });
    assert.equal(form.status, 415);
    assert.deepEqual(errorFields(form.json), ['content-type']);
    // Browser SDKs send text/plain to skip the CORS preflight.
    assert.equal((await send(app.base, '/v1/track', JSON.stringify({ event: 'x', userId: 'u' }), { 'content-type': 'text/plain' })).status, 200);
  });

  it('/v1/batch: messages of every type, the batch sentAt, context and integrations; the valid ones are stored when some are not', async () => {
    const r = await send(
      app.base,
      '/v1/batch',
      JSON.stringify({
        batch: [
          { type: 'track', event: 'Order Completed', userId: 'u1', messageId: 'm-1', timestamp: '2026-11-25T12:59:00Z' },
          { type: 'track', userId: 'u1', messageId: 'm-2' },
          { type: 'identify', userId: 'u1', messageId: 'm-3', traits: { name: 'Ada' } },
          { type: 'page', anonymousId: 'a1', messageId: 'm-4', name: 'Home', context: { page: { path: '/' } } },
        ],
        sentAt: '2026-11-25T13:00:00Z',
        context: { library: { name: 'x' } },
        integrations: { All: true },
        writeKey: 'not stored anywhere',
      }),
    );
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.success, true);
    assert.equal(r.json.accepted, 3);
    assert.equal(r.json.rejected, 1);
    assert.deepEqual(errorFields(r.json), ['batch[1].event']);
    const [order, identify, page] = envelopes();
    assert.equal(order!.event_type, 'Order_Completed');
    assert.equal(order!.timestamp, '2026-11-25T11:59:00.000Z', 'corrected by the batch sentAt (client 1 h ahead)');
    assert.equal(order!.event_id, eventIdForMessageId('m-1'));
    assert.deepEqual(order!.payload.context, { library: { name: 'x' } });
    assert.deepEqual(order!.payload.integrations, { All: true });
    assert.equal(identify!.event_type, 'identify');
    assert.deepEqual(page!.payload.context, { library: { name: 'x' }, page: { path: '/' } });
    assert.ok(!published.some((m) => String(m.value).includes('not stored anywhere')));
  });

  it('/v1/batch refuses a batch with no valid message, a missing batch and a bad sentAt with 400', async () => {
    const none = await send(app.base, '/v1/batch', JSON.stringify({ batch: [{ type: 'track' }, 'x'] }));
    assert.equal(none.status, 400);
    assert.deepEqual(errorFields(none.json), ['batch[0].event', 'batch[0].userId', 'batch[1]']);
    assert.deepEqual(errorFields((await send(app.base, '/v1/batch', JSON.stringify({ messages: [] }))).json), ['batch']);
    assert.deepEqual(errorFields((await send(app.base, '/v1/batch', JSON.stringify({ batch: [] }))).json), ['batch']);
    assert.deepEqual(
      errorFields((await send(app.base, '/v1/batch', JSON.stringify({ batch: [{ type: 'track', event: 'x', userId: 'u' }], sentAt: 'now' }))).json),
      ['sentAt'],
    );
    assert.equal(published.length, 0);
  });

  it('Kafka not acknowledging: 503 with Retry-After (Segment SDKs retry it)', async () => {
    mode = 'kafka-down';
    const one = await send(app.base, '/v1/track', JSON.stringify({ event: 'x', userId: 'u' }));
    assert.equal(one.status, 503);
    assert.equal(one.headers.get('retry-after'), '5');
    assert.equal(one.json.success, false);
    const batch = await send(app.base, '/v1/batch', JSON.stringify({ batch: [{ type: 'track', event: 'x', userId: 'u' }] }));
    assert.equal(batch.status, 503);
    assert.deepEqual({ accepted: batch.json.accepted, unavailable: batch.json.unavailable }, { accepted: 0, unavailable: 1 });
  });

  it('gzip, deflate and br bodies are decompressed', async () => {
    const body = JSON.stringify({ batch: [{ type: 'track', event: 'zipped', userId: 'u' }] });
    for (const [encoding, data] of [
      ['gzip', gzipSync(body)],
      ['deflate', deflateSync(body)],
      ['br', brotliCompressSync(body)],
    ] as const) {
      const r = await send(app.base, '/v1/batch', data, { 'content-encoding': encoding });
      assert.equal(r.status, 200, `${encoding}: ${JSON.stringify(r.json)}`);
    }
    assert.deepEqual(
      envelopes().map((e) => e.event_type),
      ['zipped', 'zipped', 'zipped'],
    );
    const bad = await send(app.base, '/v1/batch', Buffer.from('not gzip'), { 'content-encoding': 'gzip' });
    assert.equal(bad.status, 400);
    assert.deepEqual(errorFields(bad.json), ['body']);
    const unknown = await send(app.base, '/v1/batch', body, { 'content-encoding': 'compress' });
    assert.equal(unknown.status, 415);
    assert.deepEqual(errorFields(unknown.json), ['content-encoding']);
  });

  it('limits apply after decompression: a 40 KB track compressed to 100 bytes is 413, a 480 KB batch passes', async () => {
    const big = gzipSync(JSON.stringify({ event: 'x', userId: 'u', properties: { s: ' '.repeat(40_000) } }));
    assert.ok(big.length < 1_000);
    const r = await send(app.base, '/v1/track', big, { 'content-encoding': 'gzip' });
    assert.equal(r.status, 413);
    assert.equal(r.json.success, false);
    assert.match(String(r.json.message), /once decompressed/);
    const messages = Array.from({ length: 16 }, (_, i) => ({
      type: 'track',
      event: 'x',
      userId: 'u',
      messageId: `m${i}`,
      properties: { s: 'y'.repeat(30_000) },
    }));
    const okBatch = JSON.stringify({ batch: messages });
    assert.ok(okBatch.length > 480_000 && okBatch.length < 500 * 1024);
    assert.equal((await send(app.base, '/v1/batch', gzipSync(okBatch), { 'content-encoding': 'gzip' })).status, 200);
    const tooBig = JSON.stringify({ batch: [...messages, ...messages.slice(0, 2)] });
    assert.equal((await send(app.base, '/v1/batch', gzipSync(tooBig), { 'content-encoding': 'gzip' })).status, 413);
    assert.equal((await send(app.base, '/v1/batch', tooBig)).status, 413, 'plain: refused by Content-Length');
  });

  it('a gzip bomb is refused with 413 while it is still being sent, never inflated in full', async () => {
    // A gzip stream of spaces that would inflate to 8 GiB; the client keeps writing until answered.
    const { hostname, port } = new URL(app.base);
    const total = 8 * 1024 ** 3;
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    let written = 0;
    let answered = false;
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(
        { host: hostname, port, method: 'POST', path: '/v1/batch', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } },
        (res) => {
          answered = true;
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on('error', (err) => (answered ? undefined : reject(err)));
      const gzip = createGzip();
      gzip.pipe(req);
      const pump = () => {
        while (!answered && written < total) {
          written += chunk.length;
          if (!gzip.write(chunk)) return void gzip.once('drain', pump);
        }
        gzip.end();
      };
      pump();
    });
    assert.equal(answer.status, 413);
    assert.match(answer.body, /once decompressed/);
    assert.ok(written < total, `answered after ${written} of ${total} bytes were sent`);
  });

  it('readBody stops inflating at the limit: a bomb of GiBs is cut after the limit plus one chunk', async () => {
    const limit = 500 * 1024;
    const gzip = createGzip();
    const zeros = Buffer.alloc(1024 * 1024);
    let fed = 0;
    const feed = () => {
      while (fed < 64 * 1024 ** 3) {
        fed += zeros.length;
        if (!gzip.write(zeros)) return void gzip.once('drain', feed);
      }
      gzip.end();
    };
    feed();
    const req = Object.assign(gzip, { headers: { 'content-encoding': 'gzip' }, complete: false });
    const err = await readBody(req as never, limit).then(
      () => assert.fail('resolved'),
      (e: unknown) => e,
    );
    gzip.destroy();
    assert.ok(err instanceof BodyError);
    assert.equal(err.status, 413);
    assert.ok(err.bytesRead > limit && err.bytesRead <= limit + 64 * 1024, `stopped after inflating ${err.bytesRead} bytes`);
  });
});

describe('Segment routes with keys', () => {
  let app: Awaited<ReturnType<typeof startApp>>;
  before(async () => (app = await startApp({ writeKeys: [WRITE_KEY], readKeys: [READ_KEY] })));
  after(() => app.close());
  beforeEach(() => {
    mode = 'ack';
    published = [];
  });
  const track = (more: object = {}) => JSON.stringify({ event: 'x', userId: 'u', ...more });

  it('the write key as Basic user name (empty password) or as writeKey in the body is accepted', async () => {
    assert.equal((await send(app.base, '/v1/track', track(), { authorization: basic(WRITE_KEY) })).status, 200);
    assert.equal((await send(app.base, '/v1/track', track({ writeKey: WRITE_KEY }))).status, 200);
    assert.equal((await send(app.base, '/v1/batch', JSON.stringify({ batch: [{ type: 'page', userId: 'u' }], writeKey: WRITE_KEY }))).status, 200);
    assert.equal(
      (
        await send(app.base, '/v1/batch', gzipSync(JSON.stringify({ batch: [{ type: 'page', userId: 'u' }], writeKey: WRITE_KEY })), {
          'content-encoding': 'gzip',
        })
      ).status,
      200,
    );
    assert.equal(published.length, 4);
  });

  it('no key, an unknown key or a read key: 401 / 401 / 403 as on the rest of the API, nothing written', async () => {
    const cases: [string, Record<string, string>, string, number, string][] = [
      ['no key', {}, track(), 401, 'authorization'],
      ['Basic with an empty user', { authorization: basic('') }, track(), 401, 'authorization'],
      ['unknown Basic key', { authorization: basic('wk-not-a-real-key-000') }, track(), 401, 'authorization'],
      ['read key in Basic', { authorization: basic(READ_KEY) }, track(), 403, 'authorization'],
      ['unknown body key', {}, track({ writeKey: 'wk-not-a-real-key-000' }), 401, 'writeKey'],
      ['read key in the body', {}, track({ writeKey: READ_KEY }), 403, 'writeKey'],
      ['body key of the wrong type', {}, track({ writeKey: 12 }), 401, 'authorization'],
      ['no key and a body that is not JSON', {}, '{', 401, 'authorization'],
      // A key in the headers decides; the body's is not a second chance.
      ['read key in Basic, write key in the body', { authorization: basic(READ_KEY) }, track({ writeKey: WRITE_KEY }), 403, 'authorization'],
    ];
    for (const [what, headers, body, status, field] of cases) {
      const r = await send(app.base, '/v1/track', body, headers);
      assert.equal(r.status, status, `${what}: ${JSON.stringify(r.json)}`);
      assert.deepEqual(errorFields(r.json), [field], what);
    }
    assert.equal(published.length, 0);
  });

  it('the one-letter paths take keys the same way', async () => {
    assert.equal((await send(app.base, '/v1/t', track())).status, 401);
    assert.equal((await send(app.base, '/v1/t', track({ writeKey: READ_KEY }))).status, 403);
    assert.equal((await send(app.base, '/v1/b', JSON.stringify({ batch: [{ type: 'track', event: 'x', userId: 'u' }], writeKey: WRITE_KEY }))).status, 200);
  });

  it('GET on a Segment path still needs a read key (only the declared POST routes take write keys)', async () => {
    const res = await fetch(`${app.base}/v1/track`, { headers: { authorization: basic(WRITE_KEY) } });
    assert.equal(res.status, 403);
  });
});

describe("Segment's Node SDK (@segment/analytics-node) against the routes", () => {
  let app: Awaited<ReturnType<typeof startApp>>;
  before(async () => (app = await startApp({ writeKeys: [WRITE_KEY], readKeys: [READ_KEY] })));
  after(() => app.close());

  it('track, identify, page and group calls arrive with their types, users and payloads', async () => {
    published = [];
    const analytics = new Analytics({ writeKey: WRITE_KEY, host: app.base, flushAt: 4, flushInterval: 60_000, maxRetries: 0 });
    const failures: unknown[] = [];
    analytics.on('error', (e) => failures.push(e));
    analytics.track({ userId: 'u1', event: 'Order Completed', properties: { total: 9.5 } });
    analytics.identify({ userId: 'u1', traits: { email: 'a@b.c' } });
    analytics.page({ anonymousId: 'a1', name: 'Pricing', properties: { path: '/pricing' } });
    analytics.group({ userId: 'u1', groupId: 'g1', traits: { plan: 'pro' } });
    await analytics.closeAndFlush({ timeout: 10_000 });
    assert.deepEqual(failures, []);
    const byType = new Map(envelopes().map((e) => [e.event_type, e]));
    assert.deepEqual([...byType.keys()].sort(), ['Order_Completed', 'group', 'identify', 'page']);
    assert.equal(byType.get('Order_Completed')!.payload.event, 'Order Completed');
    assert.deepEqual(byType.get('Order_Completed')!.payload.properties, { total: 9.5 });
    assert.deepEqual(byType.get('identify')!.payload.traits, { email: 'a@b.c' });
    assert.equal(byType.get('page')!.user_id, 'a1');
    assert.equal(byType.get('page')!.payload.name, 'Pricing');
    assert.equal((byType.get('group')!.payload.context as { library: { name: string } }).library.name, '@segment/analytics-node');
    for (const e of envelopes()) assert.equal(e.event_id, eventIdForMessageId(String(e.payload.messageId)));
  });
});

describe('Segment batches: batch-level fields, resends and late events', () => {
  let app: Awaited<ReturnType<typeof startApp>>;
  before(async () => (app = await startApp(undefined, { hotRetentionDays: 30 })));
  after(() => app.close());
  beforeEach(() => {
    mode = 'ack';
    published = [];
  });
  const encodings: [string, (body: string) => Buffer | string][] = [
    ['identity', (b) => b],
    ['gzip', (b) => gzipSync(b)],
    ['deflate', (b) => deflateSync(b)],
    ['br', (b) => brotliCompressSync(b)],
  ];
  const post = (path: string, body: string, encoding: string, encode: (b: string) => Buffer | string) =>
    send(app.base, path, encode(body), encoding === 'identity' ? {} : { 'content-encoding': encoding });

  it('a 1 KB gzip batch of 16 664 messages under a 28 KiB context is refused: at most 500 messages, as on /events/batch', async () => {
    const body = JSON.stringify({ context: { big: 'x'.repeat(28 * 1024) }, batch: Array.from({ length: 16_664 }, () => ({ type: 'page', userId: 'u' })) });
    assert.ok(gzipSync(body).length < 2_000 && Buffer.byteLength(body) < 500 * 1024, 'within the body limits, as in the report');
    for (const path of ['/v1/batch', '/v1/b'])
      for (const [encoding, encode] of encodings) {
        const r = await post(path, body, encoding, encode);
        assert.equal(r.status, 400, `${path} ${encoding}: ${JSON.stringify(r.json)}`);
        assert.deepEqual(errorFields(r.json), ['batch']);
        assert.match(JSON.stringify(r.json.errors), /at most 500 messages per batch, got 16664/);
      }
    assert.equal(published.length, 0, 'nothing reached Kafka');
  });

  it('batch-level context or integrations are counted in every message they are merged into: a batch that becomes over 500 KiB is refused naming the field', async () => {
    for (const field of ['context', 'integrations']) {
      const body = JSON.stringify({ [field]: { big: 'x'.repeat(28 * 1024) }, batch: Array.from({ length: 500 }, () => ({ type: 'page', userId: 'u' })) });
      for (const [encoding, encode] of encodings) {
        const r = await post('/v1/batch', body, encoding, encode);
        assert.equal(r.status, 400, `${field} ${encoding}: ${JSON.stringify(r.json)}`);
        assert.deepEqual(errorFields(r.json), [field]);
        assert.match(JSON.stringify(r.json.errors), /merged into each of the 500 messages, the batch is \d+ bytes as stored; at most 512000/);
      }
    }
    assert.equal(published.length, 0);
  });

  it('a message that fits on its own but not with the batch context merged in refuses the whole batch (400), instead of dropping it inside a 200', async () => {
    const near = { type: 'track', event: 'x', userId: 'u', timestamp: '2026-11-25T11:00:00Z', properties: { s: 'y'.repeat(32_000) } };
    const body = JSON.stringify({ context: { library: { name: 'x'.repeat(2_000) } }, batch: [{ type: 'page', userId: 'u' }, near] });
    for (const [encoding, encode] of encodings) {
      const r = await post('/v1/batch', body, encoding, encode);
      assert.equal(r.status, 400, `${encoding}: ${JSON.stringify(r.json)}`);
      assert.equal(r.json.success, false);
      assert.deepEqual(errorFields(r.json), ['context']);
      assert.match(JSON.stringify(r.json.errors), /makes batch\[1\] \d+ bytes; the limit per message is 32768/);
    }
    // Without the context, the same message is stored.
    assert.equal((await send(app.base, '/v1/batch', JSON.stringify({ batch: [near] }))).status, 200);
    assert.equal(published.length, 1);
  });

  it('what an accepted batch puts on Kafka stays within the batch limit plus each envelope, whatever its context', async () => {
    // The most a context can add while the batch stays within 500 KiB as stored.
    const batch = Array.from({ length: 500 }, (_, i) => ({ type: 'track', event: 'e', userId: `u${i}`, timestamp: '2026-11-25T11:00:00Z' }));
    const context = { pad: 'c'.repeat(900) };
    for (const [encoding, encode] of encodings) {
      published = [];
      const r = await post('/v1/batch', JSON.stringify({ context, batch }), encoding, encode);
      assert.equal(r.status, 200, `${encoding}: ${JSON.stringify(r.json)}`);
      const bytes = published.reduce((n, m) => n + Buffer.byteLength(String(m.value)) + Buffer.byteLength(String(m.key)), 0);
      assert.equal(published.length, 500);
      assert.ok(bytes < 500 * 1024 + 500 * 4096, `${bytes} bytes on Kafka`);
    }
  });

  it('without messageIds, the SDK resend of a batch after a partial 503 maps every message to the id it had: each is written once', async () => {
    // Two identical messages in one batch stay two events; sentAt is new on every attempt.
    const batch = [
      { type: 'track', event: 'Viewed', userId: 'u1', timestamp: '2026-11-25T11:00:00Z', properties: { n: 1 } },
      { type: 'track', event: 'Viewed', userId: 'u1', timestamp: '2026-11-25T11:00:00Z', properties: { n: 1 } },
      { type: 'identify', userId: 'u1', timestamp: '2026-11-25T11:00:01Z', traits: { plan: 'pro' } },
      { type: 'page', userId: 'u1', timestamp: '2026-11-25T11:00:02Z', name: 'Home', sentAt: '2026-11-25T11:59:00Z' },
    ];
    const attempt = (sentAt: string, messageSentAt: string) =>
      JSON.stringify({ batch: batch.map((m) => ('sentAt' in m ? { ...m, sentAt: messageSentAt } : m)), sentAt, context: { library: { name: 'raw' } } });
    for (const [encoding, encode] of encodings) {
      published = [];
      mode = 'partial';
      const first = await post('/v1/batch', attempt('2026-11-25T11:59:58Z', '2026-11-25T11:59:58Z'), encoding, encode);
      assert.equal(first.status, 503, JSON.stringify(first.json));
      assert.deepEqual({ accepted: first.json.accepted, unavailable: first.json.unavailable }, { accepted: 2, unavailable: 2 });
      mode = 'ack';
      const resend = await post('/v1/batch', attempt('2026-11-25T11:59:59Z', '2026-11-25T11:59:59Z'), encoding, encode);
      assert.equal(resend.status, 200);
      const ids = envelopes().map((e) => e.event_id);
      assert.equal(ids.length, 6, 'two written by the first attempt, four by the resend');
      assert.deepEqual(ids.slice(0, 2), ids.slice(2, 4), 'the resend carries the ids of the first attempt');
      assert.equal(new Set(ids).size, 4, `${encoding}: four events, each with one id`);
      assert.ok(!ids.includes(V7), 'no new ids');
    }
  });

  it('the content-derived id: fixed namespace, same for the same content and position, different for anything else', () => {
    assert.equal(SEGMENT_CONTENT_NAMESPACE, 'a4f0d1e2-3b5c-4d6e-8f70-91a2b3c4d5e6');
    const m = { type: 'track', event: 'x', userId: 'u', timestamp: '2026-11-25T11:00:00Z', properties: { a: 1, b: 2 } };
    const id = contentEventId(m, 'track', 0, undefined);
    assert.match(id, UUID_V5);
    assert.equal(mapped(m).event_id, id, 'a single-message route is position 0');
    assert.equal(contentEventId({ ...m, properties: { b: 2, a: 1 } }, 'track', 0, undefined), id, 'key order does not matter');
    assert.equal(contentEventId({ ...m, sentAt: '2026-11-25T11:00:05Z', writeKey: 'k' }, 'track', 0, undefined), id, 'sentAt and writeKey do not count');
    for (const other of [
      contentEventId(m, 'track', 1, undefined),
      contentEventId(m, 'page', 0, undefined),
      contentEventId({ ...m, timestamp: '2026-11-25T11:00:00.001Z' }, 'track', 0, undefined),
      contentEventId({ ...m, properties: { a: 1, b: 3 } }, 'track', 0, undefined),
      contentEventId(m, 'track', 0, { context: { ip: '1.1.1.1' } }),
    ])
      assert.notEqual(other, id);
    // Without a timestamp the event's time is its arrival, new on every attempt: a new id.
    assert.equal(mapped({ type: 'track', event: 'x', userId: 'u' }).event_id, V7);
    // A messageId decides when there is one.
    assert.equal(mapped({ ...m, messageId: 'm-1' }).event_id, eventIdForMessageId('m-1'));
  });

  it('the same on a single-message route: a /v1/track resent after a 503 keeps its id', async () => {
    const body = JSON.stringify({ event: 'Paid', userId: 'u1', timestamp: '2026-11-25T11:00:00Z' });
    mode = 'kafka-down';
    assert.equal((await send(app.base, '/v1/track', body)).status, 503);
    mode = 'ack';
    assert.equal((await send(app.base, '/v1/track', body)).status, 200);
    assert.equal((await send(app.base, '/v1/t', body)).status, 200);
    const ids = new Set(envelopes().map((e) => e.event_id));
    assert.equal(ids.size, 1);
    assert.ok(!ids.has(V7), 'derived from the message, not a new id');
  });

  it('an event older than HOT_RETENTION_DAYS: 200 as Segment answers, saying it is archived only, on every route', async () => {
    const late = { userId: 'u1', timestamp: '2025-01-01T00:00:00Z' };
    const single = await send(app.base, '/v1/track', JSON.stringify({ ...late, event: 'Late' }));
    assert.equal(single.status, 200);
    assert.equal(single.json.success, true);
    assert.equal(single.json.stored, 'archive');
    assert.match(String(single.json.message), /older than HOT_RETENTION_DAYS \(30 days\): archived only/);
    for (const path of ['/v1/identify', '/v1/page', '/v1/screen', '/v1/i', '/v1/p', '/v1/s'])
      assert.equal((await send(app.base, path, JSON.stringify(late))).json.stored, 'archive', path);
    const fresh = await send(app.base, '/v1/track', JSON.stringify({ userId: 'u1', event: 'Fresh', timestamp: '2026-11-25T11:00:00Z' }));
    assert.deepEqual(fresh.json, { success: true });

    const batch = await send(
      app.base,
      '/v1/batch',
      JSON.stringify({
        batch: [
          { type: 'track', event: 'Fresh', userId: 'u1', timestamp: '2026-11-25T11:00:00Z' },
          { type: 'track', event: 'Late', ...late },
          { type: 'track', userId: 'u1' },
        ],
      }),
    );
    assert.equal(batch.status, 200, JSON.stringify(batch.json));
    assert.deepEqual(
      (batch.json.archiveOnly as { field: string }[]).map((a) => a.field),
      ['batch[1].timestamp'],
    );
    assert.deepEqual(errorFields(batch.json), ['batch[2].event']);
    // Written to Kafka all the same: the archive keeps it.
    assert.ok(envelopes().some((e) => e.timestamp === '2025-01-01T00:00:00.000Z'));
  });
});
