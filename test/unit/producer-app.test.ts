/**
 * The producer HTTP API over a real loopback socket, with Kafka replaced by a fake `publish`:
 * what a client gets back for good and bad input, what reaches Kafka, and what /metrics counts.
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import type { Server } from 'node:http';
import type { Message } from 'kafkajs';
import { pino } from 'pino';
import { KafkaUnavailableError, ProducerOverloadedError } from '../../src/producer/batcher';
import { createProducerApp } from '../../src/producer/app';
import { ProducerMetrics } from '../../src/producer/metrics';
import { LIMITS } from '../support/limits';

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
const NOW_ISO = '2026-11-25T12:00:00.000Z';
const SEED_CURL_BODY = `{
       "event_type": "page_view",
       "user_id": "123",
       "payload": {"page": "/home", "referrer": "google.com"}
     }`;

type PublishMode = 'ack' | 'kafka-down' | 'other-error' | 'overloaded' | 'even-written';

const published: Message[][] = [];
let publishMode: PublishMode = 'ack';
let ready: boolean | 'throw' = true;
let room = true;
const roomAsked: number[] = [];
let idCounter = 0;
const idFor = (n: number): string => `00000000-0000-7000-8000-${n.toString(16).padStart(12, '0')}`;

let server: Server;
let base: string;

interface ErrorBody {
  error: string;
  errors?: { field: string; message: string }[];
}

/** fetch against the app; a response that never comes fails the test instead of hanging it. */
function http(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(10_000) });
}

async function post(path: string, body: unknown, contentType = 'application/json'): Promise<{ status: number; headers: Headers; json: unknown }> {
  const res = await http(path, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  assert.match(res.headers.get('content-type') ?? '', /application\/json/, `${path} answers JSON (status ${res.status}: ${text.slice(0, 200)})`);
  return { status: res.status, headers: res.headers, json: JSON.parse(text) as unknown };
}

function fieldsOf(json: unknown): string[] {
  const body = json as ErrorBody;
  assert.equal(typeof body.error, 'string', 'an error message');
  assert.ok(Array.isArray(body.errors), `an errors list in ${JSON.stringify(json)}`);
  return body.errors.map((e) => e.field).sort();
}

async function metric(name: string): Promise<number> {
  const res = await http('/metrics');
  assert.equal(res.status, 200);
  const text = await res.text();
  const match = new RegExp(`^producer_${name} (\\S+)$`, 'm').exec(text);
  assert.ok(match?.[1], `producer_${name} in /metrics`);
  return Number(match[1]);
}

before(async () => {
  const app = createProducerApp({
    publish: async (messages) => {
      if (publishMode === 'kafka-down') throw new KafkaUnavailableError('down');
      if (publishMode === 'other-error') throw new Error('something else');
      if (publishMode === 'overloaded') throw new ProducerOverloadedError('at capacity');
      // A request that spanned two produce requests, one of which failed: every other record written.
      if (publishMode === 'even-written') throw new KafkaUnavailableError('second request failed', { acknowledged: messages.map((_, i) => i % 2 === 0) });
      published.push(messages);
    },
    isReady: async () => {
      if (ready === 'throw') throw new Error('admin connect failed');
      return ready;
    },
    hasRoomFor: (bytes) => (roomAsked.push(bytes), room),
    limits: LIMITS,
    newEventId: () => idFor(++idCounter),
    metrics: new ProducerMetrics(),
    logger: pino({ level: 'silent' }),
    now: () => NOW,
    hotRetentionDays: 30,
  });
  server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  published.length = 0;
  publishMode = 'ack';
  ready = true;
  room = true;
  roomAsked.length = 0;
});

void describe('POST /events', () => {
  void it('payload numbers reach Kafka digit for digit, in /events and in /events/batch; beyond DynamoDB 422 naming the field', async () => {
    const payload = '{"order_id":12345678901234567890,"p":0.1000000000000000055511151231257827,"e":1E+5,"l":[1.0,-9223372036854775808]}';
    const single = await post('/events', `{"event_type":"order","user_id":"u","payload":${payload}}`);
    assert.equal(single.status, 202, JSON.stringify(single.json));
    const batch = await post('/events/batch', `{"events":[{"event_type":"order","user_id":"u","payload":${payload}}]}`);
    assert.equal(batch.status, 202, JSON.stringify(batch.json));
    const values = published.flat().map((m) => String(m.value));
    assert.equal(values.length, 2);
    for (const value of values) assert.ok(value.endsWith(`"payload":${payload}}`), value);
    const refused = await post('/events', '{"event_type":"order","user_id":"u","payload":{"a":[1e126]}}');
    assert.equal(refused.status, 422);
    assert.deepEqual(fieldsOf(refused.json), ['payload.a[0]']);
  });

  void it("accepts the seed's curl body: 202 and exactly one Kafka message keyed by user_id", async () => {
    const before = idCounter;
    const { status, json } = await post('/events', SEED_CURL_BODY);
    assert.equal(status, 202);
    const body = json as { event_id: string; status: string; message: string };
    assert.equal(body.event_id, idFor(before + 1));
    assert.equal(body.status, 'accepted');
    assert.equal(typeof body.message, 'string');
    assert.ok(body.message.length > 0);

    assert.equal(published.length, 1);
    assert.equal(published[0]?.length, 1);
    const record = published[0]?.[0];
    assert.ok(record);
    assert.equal(String(record.key), '123');
    assert.deepEqual(JSON.parse(String(record.value)), {
      schema_version: 1,
      event_id: body.event_id,
      event_type: 'page_view',
      user_id: '123',
      timestamp: NOW_ISO,
      received_at: NOW_ISO,
      payload: { page: '/home', referrer: 'google.com' },
    });
  });

  void it('keeps the client event_id and timestamp (normalised to UTC)', async () => {
    const { status, json } = await post('/events', {
      event_type: 'purchase',
      user_id: 'u-9',
      event_id: '0192F1C4-8D1E-7C3A-9B2F-5A6D7E8F9A0B',
      timestamp: '2026-11-25T13:30:00+02:00',
    });
    assert.equal(status, 202);
    assert.equal((json as { event_id: string }).event_id, '0192f1c4-8d1e-7c3a-9b2f-5a6d7e8f9a0b');
    const value = JSON.parse(String(published[0]?.[0]?.value)) as Record<string, unknown>;
    assert.equal(value.timestamp, '2026-11-25T11:30:00.000Z');
    assert.deepEqual(value.payload, {});
  });

  void it('accepts application/json with a charset', async () => {
    const { status } = await post('/events', SEED_CURL_BODY, 'application/json; charset=utf-8');
    assert.equal(status, 202);
    assert.equal(published.length, 1);
  });

  void it('415 naming content-type for text/plain', async () => {
    const { status, json } = await post('/events', SEED_CURL_BODY, 'text/plain');
    assert.equal(status, 415);
    assert.deepEqual(fieldsOf(json), ['content-type']);
    assert.equal(published.length, 0);
  });

  void it('400 naming body for malformed JSON', async () => {
    const { status, json } = await post('/events', '{"event_type": "page_view", "user_id": ');
    assert.equal(status, 400);
    assert.deepEqual(fieldsOf(json), ['body']);
    assert.equal(published.length, 0);
  });

  void it('400 for an empty body', async () => {
    const { status, json } = await post('/events', '');
    assert.equal(status, 400);
    assert.deepEqual(fieldsOf(json), ['body']);
    assert.equal(published.length, 0);
  });

  void it('413 for an event of 40 000 bytes (over 32 KiB)', async () => {
    const filler = 'x'.repeat(40_000 - JSON.stringify({ event_type: 'page_view', user_id: '123', payload: { blob: '' } }).length);
    const raw = JSON.stringify({ event_type: 'page_view', user_id: '123', payload: { blob: filler } });
    assert.equal(Buffer.byteLength(raw), 40_000);
    const { status, json } = await post('/events', raw);
    assert.equal(status, 413);
    assert.deepEqual(fieldsOf(json), ['body']);
    assert.equal(published.length, 0);
  });

  void it('413 with a JSON body for a body over 1 MiB', async () => {
    const raw = JSON.stringify({ event_type: 'page_view', user_id: '123', payload: { blob: 'x'.repeat(1_100_000) } });
    const { status, json } = await post('/events', raw);
    assert.equal(status, 413);
    assert.deepEqual(fieldsOf(json), ['body']);
    assert.equal(published.length, 0);
  });

  const invalid: { name: string; body: unknown; fields: string[] }[] = [
    { name: 'missing event_type and user_id', body: { payload: { page: '/' } }, fields: ['event_type', 'user_id'] },
    { name: 'wrong types', body: { event_type: 1, user_id: 123, payload: 'x' }, fields: ['event_type', 'payload', 'user_id'] },
    { name: 'an unknown field', body: { event_type: 'page_view', user_id: '123', page: '/home' }, fields: ['page'] },
    {
      name: 'a bad timestamp and event_id',
      body: { event_type: 'page_view', user_id: '1', timestamp: '2026-11-25', event_id: 'abc' },
      fields: ['event_id', 'timestamp'],
    },
    { name: 'a body that is an array', body: [{ event_type: 'page_view', user_id: '1' }], fields: ['body'] },
  ];
  for (const c of invalid) {
    void it(`422 listing each bad field, nothing published: ${c.name}`, async () => {
      const { status, json } = await post('/events', c.body);
      assert.equal(status, 422);
      assert.deepEqual(fieldsOf(json), c.fields);
      assert.equal(published.length, 0);
    });
  }

  void it('503 with Retry-After and a JSON error when Kafka is down; nothing counted accepted', async () => {
    const acceptedBefore = await metric('events_accepted_total');
    const unavailableBefore = await metric('requests_unavailable_total');
    publishMode = 'kafka-down';
    const { status, headers, json } = await post('/events', SEED_CURL_BODY);
    assert.equal(status, 503);
    const retryAfter = headers.get('retry-after');
    assert.ok(retryAfter !== null && /^\d+$/.test(retryAfter) && Number(retryAfter) > 0, `Retry-After: ${retryAfter}`);
    assert.equal(typeof (json as ErrorBody).error, 'string');
    assert.equal((json as Record<string, unknown>).status, undefined, 'not an "accepted" answer');
    assert.equal(await metric('events_accepted_total'), acceptedBefore);
    assert.equal(await metric('requests_unavailable_total'), unavailableBefore + 1);
  });

  void it('503 with Retry-After for any other publish failure too', async () => {
    publishMode = 'other-error';
    const { status, headers } = await post('/events', SEED_CURL_BODY);
    assert.equal(status, 503);
    assert.ok(headers.get('retry-after'));
  });

  void it('a 503 carries the event_id the producer assigned, so a retry with it stores the event once', async () => {
    publishMode = 'kafka-down';
    const before = idCounter;
    const generated = await post('/events', SEED_CURL_BODY);
    assert.equal(generated.status, 503);
    assert.equal((generated.json as { event_id?: string }).event_id, idFor(before + 1));
    const own = await post('/events', { ...JSON.parse(SEED_CURL_BODY), event_id: '0192F1C4-8D1E-7C3A-9B2F-5A6D7E8F9A0B' });
    assert.equal((own.json as { event_id?: string }).event_id, '0192f1c4-8d1e-7c3a-9b2f-5a6d7e8f9a0b');
  });

  void it('503 at once when the producer is at capacity, counted in /metrics, with the in-flight gauges shown', async () => {
    const overloaded = await metric('requests_overloaded_total');
    publishMode = 'overloaded';
    const { status, headers, json } = await post('/events', SEED_CURL_BODY);
    assert.equal(status, 503);
    assert.ok(headers.get('retry-after'));
    assert.match((json as ErrorBody).error, /capacity/);
    assert.equal(await metric('requests_overloaded_total'), overloaded + 1);
    assert.equal(await metric('inflight_records'), 0);
    assert.equal(await metric('inflight_bytes'), 0);
  });

  void it('at capacity, refuses single and batch posts before reading them: 503, Retry-After, nothing published, no id assigned', async () => {
    const overloaded = await metric('requests_overloaded_total');
    const ids = idCounter;
    room = false;
    for (const [path, body] of [
      ['/events', SEED_CURL_BODY],
      ['/events/batch', JSON.stringify({ events: [JSON.parse(SEED_CURL_BODY)] })],
    ] as const) {
      const { status, headers, json } = await post(path, body);
      assert.equal(status, 503, path);
      assert.ok(headers.get('retry-after'));
      assert.match((json as ErrorBody).error, /capacity.*nothing was written/);
    }
    assert.deepEqual(
      roomAsked,
      [Buffer.byteLength(SEED_CURL_BODY), Buffer.byteLength(JSON.stringify({ events: [JSON.parse(SEED_CURL_BODY)] }))],
      'asked with the Content-Length',
    );
    assert.equal(published.length, 0);
    assert.equal(idCounter, ids, 'no event_id assigned');
    assert.equal(await metric('requests_overloaded_total'), overloaded + 2);
    room = true;
    assert.equal((await post('/events', SEED_CURL_BODY)).status, 202, 'room again: accepted');
  });

  void it('admission counts a compressed or chunked body as the most it may become, not its bytes on the wire', async () => {
    const batch = JSON.stringify({ events: Array.from({ length: 400 }, () => JSON.parse(SEED_CURL_BODY) as unknown) });
    const routes: [string, string, number, string[]][] = [
      ['/events', SEED_CURL_BODY, LIMITS.maxEventBytes, ['/events']],
      ['/events/batch', batch, LIMITS.maxBatchBytes, ['/events/batch']],
      ['/v1/batch', JSON.stringify({ batch: [{ type: 'page', userId: 'u' }] }), 500 * 1024, ['/v1/batch', '/v1/b']],
      ['/v1/track', JSON.stringify({ event: 'x', userId: 'u' }), LIMITS.maxEventBytes, ['/v1/track', '/v1/t', '/v1/page', '/v1/identify']],
    ];
    for (const [, body, limit, paths] of routes)
      for (const path of paths)
        for (const [encoding, data] of [
          ['gzip', gzipSync(body)],
          ['deflate', deflateSync(body)],
          ['br', brotliCompressSync(body)],
        ] as const) {
          roomAsked.length = 0;
          room = false;
          const res = await http(path, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': encoding }, body: data });
          assert.equal(res.status, 503, `${path} ${encoding}`);
          assert.deepEqual(roomAsked, [limit], `${path} ${encoding}: counted as ${limit} bytes, not the ${data.length} sent`);
        }
    // A chunked body has no Content-Length to go by.
    roomAsked.length = 0;
    const chunked = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode(SEED_CURL_BODY));
        c.close();
      },
    });
    const res = await http('/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: chunked, duplex: 'half' } as RequestInit);
    assert.equal(res.status, 503);
    assert.deepEqual(roomAsked, [LIMITS.maxEventBytes]);
  });

  void it('an event older than HOT_RETENTION_DAYS: 202 accepted, saying it goes to the archive only', async () => {
    const { status, json } = await post('/events', { event_type: 'late', user_id: 'u', timestamp: '2025-01-01T00:00:00Z' });
    assert.equal(status, 202);
    const body = json as { status: string; stored?: string; message: string; event_id: string };
    assert.equal(body.status, 'accepted');
    assert.equal(body.stored, 'archive');
    assert.match(body.message, /timestamp 2025-01-01T00:00:00.000Z is older than HOT_RETENTION_DAYS \(30 days\): archived only/);
    assert.equal(published.length, 1, 'written to Kafka: the archive keeps it');
    // Just inside the retention, and without a timestamp: served as usual.
    for (const event of [
      { event_type: 'ok', user_id: 'u', timestamp: new Date(NOW - 30 * 86_400_000 + 1_000).toISOString() },
      { event_type: 'ok', user_id: 'u' },
    ]) {
      const fresh = (await post('/events', event)).json as { stored?: string; message: string };
      assert.equal(fresh.stored, undefined);
      assert.equal(fresh.message, 'Event accepted for processing');
    }
  });
});

void describe('POST /events/batch', () => {
  void it('3 events with one bad: 202, per-item results, and the 2 good ones in ONE publish call', async () => {
    const { status, json } = await post('/events/batch', {
      events: [
        { event_type: 'page_view', user_id: 'a', payload: { n: 0 } },
        { event_type: 'page_view', user_id: 42 },
        { event_type: 'click', user_id: 'c', payload: { n: 2 } },
      ],
    });
    assert.equal(status, 202);
    const body = json as {
      accepted: number;
      rejected: number;
      results: { index: number; status: string; event_id?: string; errors?: { field: string }[] }[];
    };
    assert.equal(body.accepted, 2);
    assert.equal(body.rejected, 1);
    assert.deepEqual(
      body.results.map((r) => [r.index, r.status]),
      [
        [0, 'accepted'],
        [1, 'rejected'],
        [2, 'accepted'],
      ],
    );
    assert.deepEqual(
      body.results[1]?.errors?.map((e) => e.field),
      ['events[1].user_id'],
    );
    assert.equal(published.length, 1, 'one publish call for the batch');
    const messages = published[0] ?? [];
    assert.equal(messages.length, 2);
    const values = messages.map((m) => JSON.parse(String(m.value)) as { event_id: string; user_id: string; payload: unknown });
    assert.deepEqual(
      values.map((v) => v.event_id),
      [body.results[0]?.event_id, body.results[2]?.event_id],
    );
    assert.deepEqual(
      messages.map((m) => String(m.key)),
      ['a', 'c'],
    );
    assert.deepEqual(
      values.map((v) => v.payload),
      [{ n: 0 }, { n: 2 }],
    );
  });

  void it('422 when every event is bad, nothing published', async () => {
    const { status, json } = await post('/events/batch', { events: [{ user_id: 'a' }, { event_type: 'x y', user_id: 'b' }] });
    assert.equal(status, 422);
    const body = json as { accepted: number; rejected: number; results: { errors?: { field: string }[] }[] };
    assert.equal(body.accepted, 0);
    assert.equal(body.rejected, 2);
    assert.deepEqual(
      body.results.map((r) => r.errors?.map((e) => e.field)),
      [['events[0].event_type'], ['events[1].event_type']],
    );
    assert.equal(published.length, 0);
  });

  void it('422 naming events for 501 events', async () => {
    const events = Array.from({ length: 501 }, (_, i) => ({ event_type: 'page_view', user_id: `u${i}` }));
    const { status, json } = await post('/events/batch', { events });
    assert.equal(status, 422);
    assert.deepEqual(fieldsOf(json), ['events']);
    assert.equal(published.length, 0);
  });

  void it('accepts exactly 500 events in one publish call', async () => {
    const events = Array.from({ length: 500 }, (_, i) => ({ event_type: 'page_view', user_id: `u${i}` }));
    const { status, json } = await post('/events/batch', { events });
    assert.equal(status, 202);
    assert.equal((json as { accepted: number }).accepted, 500);
    assert.equal(published.length, 1);
    assert.equal(published[0]?.length, 500);
  });

  const badBatches: { name: string; body: unknown; fields: string[] }[] = [
    { name: 'events is an object', body: { events: { event_type: 'page_view', user_id: '1' } }, fields: ['events'] },
    { name: 'events is missing', body: { sent_at: NOW_ISO }, fields: ['events'] },
    { name: 'events is empty', body: { events: [] }, fields: ['events'] },
    { name: 'sent_at is not a timestamp', body: { events: [{ event_type: 'page_view', user_id: '1' }], sent_at: 'an hour ago' }, fields: ['sent_at'] },
    { name: 'an unknown batch field', body: { events: [{ event_type: 'page_view', user_id: '1' }], client: 'ios' }, fields: ['client'] },
    { name: 'the body is an array', body: [{ event_type: 'page_view', user_id: '1' }], fields: ['body'] },
  ];
  for (const c of badBatches) {
    void it(`422 naming ${c.fields.join(', ')}: ${c.name}`, async () => {
      const { status, json } = await post('/events/batch', c.body);
      assert.equal(status, 422);
      assert.deepEqual(fieldsOf(json), c.fields);
      assert.equal(published.length, 0);
    });
  }

  void it('per item: an event older than HOT_RETENTION_DAYS is accepted with stored "archive", the others as usual', async () => {
    const { status, json } = await post('/events/batch', {
      events: [
        { event_type: 'late', user_id: 'u', timestamp: '2025-01-01T00:00:00Z' },
        { event_type: 'fresh', user_id: 'u' },
        // Late only once sent_at's correction is applied (the client clock is a year ahead).
        { event_type: 'late', user_id: 'u', timestamp: '2027-09-01T00:00:00Z' },
      ],
      sent_at: '2027-11-25T12:00:00Z',
    });
    assert.equal(status, 202, JSON.stringify(json));
    const results = (json as { results: { status: string; stored?: string; message?: string }[] }).results;
    assert.deepEqual(
      results.map((r) => [r.status, r.stored]),
      [
        ['accepted', 'archive'],
        ['accepted', undefined],
        ['accepted', 'archive'],
      ],
    );
    assert.match(String(results[0]!.message), /older than HOT_RETENTION_DAYS/);
    assert.equal(published[0]?.length, 3);
  });

  void it('sent_at corrects a client clock that is 1 hour ahead', async () => {
    const hour = 3_600_000;
    const { status } = await post('/events/batch', {
      sent_at: new Date(NOW + hour).toISOString(),
      events: [{ event_type: 'page_view', user_id: '123', timestamp: new Date(NOW + hour - 10_000).toISOString() }],
    });
    assert.equal(status, 202);
    const value = JSON.parse(String(published[0]?.[0]?.value)) as { timestamp: string; received_at: string };
    assert.equal(value.timestamp, new Date(NOW - 10_000).toISOString());
    assert.equal(value.received_at, NOW_ISO);
  });

  void it('503 with Retry-After when Kafka is down for a batch', async () => {
    publishMode = 'kafka-down';
    const { status, headers } = await post('/events/batch', { events: [{ event_type: 'page_view', user_id: '1' }] });
    assert.equal(status, 503);
    assert.ok(headers.get('retry-after'));
  });

  type BatchAnswer = {
    error?: string;
    accepted: number;
    unavailable?: number;
    rejected: number;
    results: { index: number; status: string; event_id?: string; errors?: unknown[] }[];
  };

  void it('a batch nothing of which was written: 503 whose results give every valid item unavailable WITH its event_id', async () => {
    publishMode = 'kafka-down';
    const before = idCounter;
    const { status, headers, json } = await post('/events/batch', {
      events: [{ event_type: 'a', user_id: '1' }, { event_type: 'b' }, { event_type: 'c', user_id: '3', event_id: '0192f1c4-8d1e-7c3a-9b2f-5a6d7e8f9a0b' }],
    });
    assert.equal(status, 503);
    assert.ok(headers.get('retry-after'));
    const body = json as BatchAnswer;
    assert.equal(typeof body.error, 'string');
    assert.deepEqual([body.accepted, body.unavailable, body.rejected], [0, 2, 1]);
    assert.deepEqual(
      body.results.map((r) => [r.index, r.status, r.event_id]),
      [
        [0, 'unavailable', idFor(before + 1)],
        [1, 'rejected', undefined],
        [2, 'unavailable', '0192f1c4-8d1e-7c3a-9b2f-5a6d7e8f9a0b'],
      ],
    );
  });

  void it('a batch partly written (it spanned two produce requests, one failed): 503 saying per item accepted or unavailable', async () => {
    const acceptedBefore = await metric('events_accepted_total');
    publishMode = 'even-written';
    const before = idCounter;
    const { status, headers, json } = await post('/events/batch', {
      events: Array.from({ length: 5 }, (_, i) => ({ event_type: 'page_view', user_id: `u${i}` })),
    });
    assert.equal(status, 503);
    assert.ok(headers.get('retry-after'));
    const body = json as BatchAnswer;
    assert.deepEqual([body.accepted, body.unavailable, body.rejected], [3, 2, 0]);
    assert.deepEqual(
      body.results.map((r) => [r.status, r.event_id]),
      [0, 1, 2, 3, 4].map((i) => [i % 2 === 0 ? 'accepted' : 'unavailable', idFor(before + 1 + i)]),
    );
    assert.equal(await metric('events_accepted_total'), acceptedBefore + 3, 'the written ones count as accepted');
  });
});

void describe('health, readiness, metrics, unknown routes', () => {
  void it('GET /health is 200', async () => {
    const res = await http('/health');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok' });
  });

  void it('GET /ready follows isReady: 200 when ready, 503 when not, 503 when it throws', async () => {
    ready = true;
    const ok = await http('/ready');
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
    ready = false;
    const notReady = await http('/ready');
    assert.equal(notReady.status, 503);
    await notReady.body?.cancel();
    ready = 'throw';
    const broken = await http('/ready');
    assert.equal(broken.status, 503);
    assert.match(broken.headers.get('content-type') ?? '', /json/);
    await broken.body?.cancel();
  });

  void it('GET /metrics counts accepted events (single and batch) and not rejected ones', async () => {
    const accepted = await metric('events_accepted_total');
    const rejected = await metric('events_rejected_total');
    assert.equal((await post('/events', SEED_CURL_BODY)).status, 202);
    assert.equal((await post('/events', { user_id: '1' })).status, 422);
    assert.equal(
      (
        await post('/events/batch', {
          events: [
            { event_type: 'a', user_id: '1' },
            { event_type: 'b', user_id: '2' },
            { event_type: 'c', user_id: 3 },
          ],
        })
      ).status,
      202,
    );
    assert.equal(await metric('events_accepted_total'), accepted + 3);
    assert.equal(await metric('events_rejected_total'), rejected + 2);
    const text = await (await http('/metrics')).text();
    assert.match(text, /^# TYPE producer_events_accepted_total counter$/m);
  });

  void it('unknown routes are 404 JSON', async () => {
    for (const [method, path] of [
      ['GET', '/nope'],
      ['GET', '/events'],
      ['DELETE', '/events'],
    ] as const) {
      const res = await http(path, { method });
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.match(res.headers.get('content-type') ?? '', /application\/json/);
      const body = (await res.json()) as ErrorBody;
      assert.equal(typeof body.error, 'string');
    }
  });
});
