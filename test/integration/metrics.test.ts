/**
 * Every process's /metrics, scraped the way Prometheus does while real events go through npm
 * start's layout (two processors: bridge + worker each, with the Temporal SDK's exporter on a
 * port of its own): after a batch is stored, the counters and histograms moved by what happened,
 * and the keys protect /metrics as they did before.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { TEMPORAL_SDK_METRICS } from '../../workers/sdkMetrics';
import { bridgeUrl } from '../support/bridge';
import { countByType } from '../support/clients';
import { has, scrape, total, type Sample } from '../support/metrics';
import { startPlatform, type Platform } from '../support/platform';
import { waitFor, waitUntil } from '../support/wait';
import { HANG_TIMEOUT_MS } from '../support/timeouts';

const WRITE_KEY = 'wk-metrics-0123456789';
const READ_KEY = 'rk-metrics-0123456789';
const READ = { 'x-api-key': READ_KEY };
const PROCESSORS = ['processor-1', 'processor-2'];
const EVENTS = 24;

describe('metrics of every process', { timeout: HANG_TIMEOUT_MS }, () => {
  let p: Platform;
  const scrapeAll = async (what: (p: Platform, name: string) => string) => (await Promise.all(PROCESSORS.map((name) => scrape(what(p, name), READ)))).flat();
  const bridges = () => scrapeAll((p, name) => `${bridgeUrl(p, name)}/metrics`);
  const workers = () => scrapeAll((p, name) => p.workerMetricsUrl(name));

  before(async () => {
    p = await startPlatform({ processors: 2, env: { WRITE_KEYS: WRITE_KEY, READ_KEYS: READ_KEY } });
  });
  after(() => p?.stop());

  it('a batch goes through: producer, bridges, workers and GraphQL report it', async () => {
    const eventType = `metrics_${randomUUID().slice(0, 8)}`;
    const events = Array.from({ length: EVENTS }, (_, i) => ({ event_type: eventType, user_id: `user-${i % 8}`, payload: { i } }));
    const posted = await fetch(`${p.producerUrl}/events/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${WRITE_KEY}` },
      body: JSON.stringify({ events }),
    });
    assert.equal(posted.status, 202);
    await waitFor(`${EVENTS} items`, async () => (await countByType(p, eventType)) === EVENTS, { timeoutMs: 120_000, intervalMs: 500 });

    // Producer: accepted events, the request under its route, Kafka's histograms, process metrics
    // (a request is timed once its answer is sent, which may come after the client has it).
    const producer = await waitUntil(
      'the producer to count the batch and its request',
      () => scrape(`${p.producerUrl}/metrics`, READ),
      (samples) =>
        total(samples, 'producer_events_accepted_total') >= EVENTS &&
        total(samples, 'producer_http_request_duration_seconds_count', { route: '/events/batch', status_code: '202', method: 'POST' }) >= 1,
    );
    assert.equal(total(producer, 'producer_events_accepted_total'), EVENTS);
    assert.equal(total(producer, 'producer_http_request_duration_seconds_count', { route: '/events/batch', status_code: '202', method: 'POST' }), 1);
    assert.ok(total(producer, 'producer_kafka_batch_records_sum') >= EVENTS);
    assert.ok(total(producer, 'producer_kafka_produce_duration_seconds_count', { result: 'ok' }) >= 1);
    assert.ok(has(producer, 'process_cpu_seconds_total') && has(producer, 'nodejs_eventloop_lag_seconds'));

    // Bridges: every record consumed and started once, and no lag left once all are done. A run
    // can store its item before the bridge has counted its start, and the lag gauge follows the
    // commits: each waited for.
    const bridged = await waitUntil(
      'the bridges to report every record started and no lag',
      bridges,
      (samples) =>
        total(samples, 'bridge_records_consumed_total') >= EVENTS &&
        total(samples, 'bridge_records_started_total') >= EVENTS &&
        samples.some((s) => s.name === 'bridge_consumer_lag') &&
        total(samples, 'bridge_consumer_lag') === 0,
    );
    assert.equal(total(bridged, 'bridge_records_started_total'), EVENTS);
    assert.equal(total(bridged, 'bridge_records_consumed_total'), EVENTS);
    assert.equal(total(bridged, 'bridge_records_dead_lettered_total'), 0);
    const lag = bridged.filter((s) => s.name === 'bridge_consumer_lag');
    assert.ok(lag.length >= 1 && lag.every((s) => s.labels.topic === p.config.kafka.topic && /^[0-3]$/.test(s.labels.partition ?? '')), JSON.stringify(lag));
    assert.equal(total(bridged, 'bridge_consumer_lag'), 0);
    assert.ok(has(bridged, 'process_cpu_seconds_total'), "a processor's bridge serves its process metrics");

    // Workers: the SDK's exporter counted every run it completed, with our second buckets.
    const sdk = await waitUntil(
      'the workers to count every completed run',
      workers,
      (samples) => total(samples, 'temporal_workflow_completed', { workflow_type: 'processEvent', task_queue: p.config.temporal.taskQueue }) >= EVENTS,
    );
    assert.equal(total(sdk, 'temporal_workflow_completed', { workflow_type: 'processEvent' }), EVENTS);
    assert.equal(total(sdk, 'temporal_workflow_failed', { workflow_type: 'processEvent' }), 0);
    assert.ok(total(sdk, 'temporal_worker_task_slots_available', { worker_type: 'WorkflowWorker' }) > 0);
    assert.ok(
      sdk.some((s) => s.name === 'temporal_workflow_task_execution_latency_bucket' && s.labels.le === '0.001'),
      'task latencies in seconds from 1 ms',
    );
    // Eager starts hand the first task over without a poll, so a processor reports no
    // schedule-to-start for healthy events; the first attempts run as local activities.
    const present: string[] = TEMPORAL_SDK_METRICS.filter((name) => has(sdk, name));
    for (const name of [
      'temporal_workflow_completed',
      'temporal_worker_task_slots_available',
      'temporal_worker_task_slots_used',
      'temporal_workflow_task_execution_latency_bucket',
      'temporal_local_activity_execution_latency_bucket',
    ]) {
      assert.ok(present.includes(name), `${name} exported`);
    }

    // GraphQL: the operation by its field, and the DynamoDB calls it made (one per index shard).
    const read = await fetch(`${p.graphqlUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...READ },
      body: JSON.stringify({ query: `{ eventsByType(eventType: "${eventType}", limit: 5) { eventId } }`, operationName: null }),
    });
    assert.equal(read.status, 200);
    // Fastify times a request once its answer is sent: the scrape waits for it.
    const graphql: Sample[] = await waitUntil(
      'GraphQL to count the query',
      () => scrape(`${p.graphqlUrl}/metrics`, READ),
      (samples) =>
        total(samples, 'graphql_operation_duration_seconds_count', { operation: 'eventsByType', outcome: 'ok' }) >= 1 &&
        total(samples, 'graphql_dynamodb_calls_per_request_sum', { operation: 'eventsByType' }) >= 1 &&
        total(samples, 'graphql_http_request_duration_seconds_count', { route: '/graphql', status_code: '200' }) >= 1,
    );
    assert.equal(total(graphql, 'graphql_operation_duration_seconds_count', { operation: 'eventsByType', outcome: 'ok' }), 1);
    assert.equal(total(graphql, 'graphql_dynamodb_calls_per_request_sum', { operation: 'eventsByType' }), 1);
    assert.equal(total(graphql, 'graphql_http_request_duration_seconds_count', { route: '/graphql', status_code: '200' }), 1);
  });

  it('/metrics needs a read key on the producer, GraphQL and the bridges; a write key is refused', async () => {
    for (const url of [`${p.producerUrl}/metrics`, `${p.graphqlUrl}/metrics`, ...PROCESSORS.map((name) => `${bridgeUrl(p, name)}/metrics`)]) {
      assert.equal((await fetch(url)).status, 401, url);
      assert.notEqual((await fetch(url, { headers: { 'x-api-key': WRITE_KEY } })).status, 200, url);
      assert.equal((await fetch(url, { headers: READ })).status, 200, url);
    }
  });
});
