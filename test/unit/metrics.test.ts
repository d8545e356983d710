/**
 * What each process's /metrics says, from what an operator would scrape: HTTP histograms labelled
 * by route pattern (never the URL a client sent), the producer's Kafka histograms and gauges, the
 * GraphQL operation and DynamoDB-call histograms, the process metrics of a process registry, and
 * the worker's exporter settings. The bridge's are in bridge-consumer.test.ts and bridge-health.test.ts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse } from 'graphql';
import { pino } from 'pino';
import type { Registry } from 'prom-client';
import { buildGraphqlApp } from '../../src/graphql/app';
import type { EventReader } from '../../src/store/hot/reader';
import { GraphqlMetrics, operationLabel } from '../../src/graphql/metrics';
import { createProcessRegistry, sampleNames } from '../../src/platform/metrics/registry';
import { createProducerApp } from '../../src/producer/app';
import { ProducerMetrics } from '../../src/producer/metrics';
import { bindAddress, workerTelemetry } from '../../workers/sdkMetrics';
import { LIMITS } from '../support/limits';

const EVENT = JSON.stringify({ event_type: 'page_view', user_id: '123', payload: { page: '/home' } });
const READ_KEY = 'rk-0123456789abcdef';

/** The samples of one metric: labels and value, histograms as their _count series. */
async function samples(registry: Registry, name: string): Promise<{ labels: Record<string, string | number>; value: number }[]> {
  const metric = registry.getSingleMetric(name);
  assert.ok(metric, `${name} is registered`);
  const { values } = await metric.get();
  return values
    .filter((v) => !('metricName' in v) || v.metricName === undefined || v.metricName === `${name}_count`)
    .map((v) => ({ labels: v.labels as Record<string, string | number>, value: v.value }));
}

describe('producer metrics', () => {
  let server: Server;
  let base: string;
  const metrics = new ProducerMetrics();

  before(async () => {
    const app = createProducerApp({
      publish: async () => undefined,
      isReady: async () => true,
      limits: LIMITS,
      newEventId: () => '0192f1c4-8d1e-7c3a-9b2f-5a6d7e8f9a0b',
      metrics,
      logger: pino({ level: 'silent' }),
      access: { readKeys: [READ_KEY] },
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const post = (path: string, body = EVENT) => fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

  it('times each request under its route pattern and status; unknown paths share one label, whatever their URL', async () => {
    assert.equal((await post('/events')).status, 202);
    assert.equal((await post('/events?utm=campaign-1')).status, 202);
    assert.equal((await post('/events', '{"nope": 1}')).status, 422);
    assert.equal((await post('/v1/track', JSON.stringify({ event: 'Signed Up', userId: 'u-1' }))).status, 200);
    for (const path of ['/wp-admin/setup.php', '/events/0192f1c4', '/.env'])
      assert.equal((await fetch(`${base}${path}`, { headers: { 'x-api-key': READ_KEY } })).status, 404);
    assert.equal((await fetch(`${base}/metrics`)).status, 401, '/metrics needs a read key, as before');

    const series = await samples(metrics.registry, 'producer_http_request_duration_seconds');
    const count = (route: string, status: number, method = 'POST') =>
      series.find((s) => s.labels.route === route && s.labels.status_code === String(status) && s.labels.method === method)?.value ?? 0;
    assert.equal(count('/events', 202), 2, 'the query string is not part of the label');
    assert.equal(count('/events', 422), 1);
    assert.equal(count('/v1/track', 200), 1);
    assert.equal(count('unmatched', 404, 'GET'), 3);
    assert.deepEqual([...new Set(series.map((s) => s.labels.route))].sort(), ['/events', '/v1/track', 'unmatched']);
  });

  it('GET /metrics with a read key: the counters the tests and README use, and the histograms', async () => {
    const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${READ_KEY}` } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    assert.match(text, /^producer_events_accepted_total 3$/m);
    assert.match(text, /^producer_events_rejected_total 1$/m);
    for (const name of ['requests_overloaded_total', 'requests_unavailable_total']) assert.match(text, new RegExp(`^# TYPE producer_${name} counter$`, 'm'));
    for (const name of ['inflight_records', 'inflight_bytes']) assert.match(text, new RegExp(`^producer_${name} 0$`, 'm'));
    assert.match(text, /^producer_http_request_duration_seconds_bucket\{le="0.005",method="POST",route="\/events",status_code="202"\} \d+$/m);
  });

  it('a request refused by the access rules counts under the route it asked for', async () => {
    const own = new ProducerMetrics();
    const app = createProducerApp({
      publish: async () => undefined,
      isReady: async () => true,
      limits: LIMITS,
      newEventId: () => '0192f1c4-8d1e-7c3a-9b2f-5a6d7e8f9a0b',
      metrics: own,
      logger: pino({ level: 'silent' }),
      access: { writeKeys: ['wk-0123456789abcdef'], readKeys: [READ_KEY] },
    });
    const guarded = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => guarded.once('listening', resolve));
    try {
      const res = await fetch(`http://127.0.0.1:${(guarded.address() as AddressInfo).port}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: EVENT,
      });
      assert.equal(res.status, 401);
    } finally {
      await new Promise<void>((resolve) => guarded.close(() => resolve()));
    }
    assert.deepEqual(
      (await samples(own.registry, 'producer_http_request_duration_seconds')).map((s) => s.labels),
      [{ method: 'POST', route: '/events', status_code: '401' }],
    );
  });

  it('Kafka produce requests: latency by result and records per request; in-flight gauges read from the batcher', async () => {
    const own = new ProducerMetrics();
    own.recordFlush(40, 12);
    own.recordFlush(1, 3);
    own.recordFlush(7, 5_000, true);
    own.watchInFlight(() => ({ records: 7, bytes: 2048 }));
    const text = await own.text();
    assert.match(text, /^producer_kafka_produce_duration_seconds_count\{result="ok"\} 2$/m);
    assert.match(text, /^producer_kafka_produce_duration_seconds_count\{result="error"\} 1$/m);
    assert.match(text, /^producer_kafka_produce_duration_seconds_bucket\{le="0.025",result="ok"\} 2$/m);
    assert.match(text, /^producer_kafka_batch_records_bucket\{le="1"\} 1$/m);
    assert.match(text, /^producer_kafka_batch_records_sum 48$/m);
    assert.match(text, /^producer_inflight_records 7$/m);
    assert.match(text, /^producer_inflight_bytes 2048$/m);
  });
});

describe('GraphQL metrics', () => {
  const metrics = new GraphqlMetrics();
  const event = {
    eventId: 'e-1',
    eventType: 'page_view',
    userId: '123',
    timestamp: '2026-11-25T10:00:00.000Z',
    receivedAt: '2026-11-25T10:00:00.100Z',
    payload: {},
    cursor: 'c',
  };
  // Spends the request's storage budget like the real reader: one call per shard, one for byId.
  const reader: EventReader = {
    latest: async (_limit, _after, budget) => {
      for (let shard = 0; shard < 4; shard++) budget?.spend();
      return [event];
    },
    byType: async (_type, _limit, _after, budget) => (budget?.spend(), [event]),
    byUser: async (_user, _limit, _after, budget) => (budget?.spend(), [event]),
    byId: async (_id, budget) => (budget?.spend(), null),
  };
  const app = buildGraphqlApp({
    reader,
    limits: { defaultLimit: 10, maxLimit: 100 },
    metrics,
    access: { readKeys: [READ_KEY] },
    logger: pino({ level: 'silent' }),
  });
  after(() => app.close());
  const auth = { 'x-api-key': READ_KEY };
  const graphql = (payload: unknown) => app.inject({ method: 'POST', url: '/graphql', headers: auth, payload: payload as Record<string, unknown> });

  it('latency per operation, labelled by top-level fields (not the client-chosen name), and DynamoDB calls per request', async () => {
    assert.equal((await graphql({ query: 'query Whatever123 { latestEvents { eventId } }', operationName: 'Whatever123' })).statusCode, 200);
    assert.equal(
      (await graphql({ query: '{ a: eventsByUser(userId: "1") { eventId } event(eventId: "0192f1c4-8d1e-7c3a-9b2f-5a6d7e8f9a0b") { eventId } }' })).statusCode,
      200,
    );
    assert.equal((await graphql({ query: '{ latestEvents { eventId' })).statusCode, 400);

    const ops = await samples(metrics.registry, 'graphql_operation_duration_seconds');
    const labels = ops.map((s) => `${s.labels.operation}/${s.labels.outcome}=${s.value}`).sort();
    assert.deepEqual(labels, ['event,eventsByUser/ok=1', 'invalid/error=1', 'latestEvents/ok=1']);
    const text = await metrics.text();
    assert.match(text, /^graphql_dynamodb_calls_per_request_sum\{operation="latestEvents"\} 4$/m);
    assert.match(text, /^graphql_dynamodb_calls_per_request_sum\{operation="event,eventsByUser"\} 2$/m);
    assert.match(text, /^graphql_dynamodb_calls_per_request_bucket\{le="4",operation="latestEvents"\} 1$/m);
    assert.doesNotMatch(text, /Whatever123/);
  });

  it('HTTP histogram by route pattern; /metrics needs a read key', async () => {
    assert.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200);
    assert.equal((await app.inject({ method: 'GET', url: '/graphiql/assets/no-such-file.js' })).statusCode, 404);
    assert.equal((await app.inject({ method: 'GET', url: '/no/such/path-42', headers: auth })).statusCode, 404);
    assert.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 401);
    const res = await app.inject({ method: 'GET', url: '/metrics', headers: auth });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const routes = new Set((await samples(metrics.registry, 'graphql_http_request_duration_seconds')).map((s) => s.labels.route));
    assert.deepEqual([...routes].sort(), ['/graphiql/assets/:file', '/graphql', '/health', '/metrics', 'unmatched']);
  });

  it('operationLabel: fragments and inline fragments followed, aliases and duplicates collapsed, the named operation chosen', () => {
    const doc = parse(`
      query A { ...F  ... on Query { event(eventId: "1") { eventId } } x: latestEvents { eventId } }
      query B { __schema { queryType { name } } }
      fragment F on Query { latestEvents { eventId } eventsByType(eventType: "t") { eventId } }`);
    assert.equal(operationLabel(doc, 'A'), 'event,eventsByType,latestEvents');
    assert.equal(operationLabel(doc, 'B'), '__schema');
    assert.equal(operationLabel(doc, 'C'), 'invalid');
    assert.equal(operationLabel(doc), 'invalid', 'two operations and no name: none runs');
  });
});

describe('process registry and worker exporter', () => {
  it('a process registry carries the default process metrics', () => {
    const names = sampleNames(createProcessRegistry());
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes'])
      assert.ok(names.includes(name), name);
  });

  it('the worker exporter: off at port 0, seconds with fine buckets otherwise, IPv6 hosts bracketed', () => {
    assert.equal(workerTelemetry('127.0.0.1', 0), undefined);
    const metrics = workerTelemetry('127.0.0.1', 9464)?.metrics as {
      prometheus: { bindAddress: string; useSecondsForDurations: boolean; histogramBucketOverrides: Record<string, number[]> };
    };
    assert.equal(metrics.prometheus.bindAddress, '127.0.0.1:9464');
    assert.equal(metrics.prometheus.useSecondsForDurations, true);
    assert.equal(metrics.prometheus.histogramBucketOverrides.workflow_task_schedule_to_start_latency?.[0], 0.001);
    assert.equal(bindAddress('::1', 9464), '[::1]:9464');
    assert.equal(bindAddress('0.0.0.0', 9465), '0.0.0.0:9465');
  });
});
