/** The bridge's probes and metrics over real HTTP (node:http on a free port). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHealthServer, type HealthServer } from '../../src/bridge/health';
import { BridgeStatus } from '../../src/bridge/status';

describe('bridge health server', () => {
  const status = new BridgeStatus();
  const key = 'read-key-0123456789abcdef';
  let server: HealthServer;
  let url: string;

  before(async () => {
    server = await startHealthServer({ host: '127.0.0.1', port: 0, apiKeys: [key], status });
    url = `http://127.0.0.1:${server.port}`;
  });
  after(() => server.close());

  it('GET /health answers 200 whatever the consumer does', async () => {
    const res = await fetch(`${url}/health`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok' });
  });

  it('GET /ready: 503 until the consumer runs, 200 then, 503 naming the partition while it backs off, and after a crash', async () => {
    const ready = async () => {
      const res = await fetch(`${url}/ready`);
      return { status: res.status, body: (await res.json()) as { status: string; problems: string[]; lastCrash?: { error: string } } };
    };
    assert.equal((await ready()).status, 503);
    assert.deepEqual((await ready()).body.problems, ['Kafka consumer is starting']);
    status.setConsumer('running');
    const running = await ready();
    assert.equal(running.status, 200);
    assert.deepEqual(running.body, { status: 'ready', ready: true, consumer: 'running', problems: [], backoff: [] });

    status.setBackoff(2, {
      kind: 'systemic',
      since: Date.now(),
      step: 3,
      retryInMs: 4_000,
      waiting: 32,
      code: 'INVALID_ARGUMENT',
      reason: 'Namespace default has no mapping defined for search attribute EventType',
    });
    const backingOff = await ready();
    assert.equal(backingOff.status, 503);
    assert.deepEqual(backingOff.body.problems, [
      'partition 2: Temporal rejects every workflow start (fix the namespace setup): INVALID_ARGUMENT Namespace default has no mapping defined for search attribute EventType',
    ]);
    status.clearBackoff(2);
    assert.equal((await ready()).status, 200);

    status.setConsumer('crashed', Object.assign(new Error('Broker: Message size too large'), { name: 'KafkaJSProtocolError' }));
    const crashed = await ready();
    assert.equal(crashed.status, 503);
    assert.deepEqual(crashed.body.problems, ['Kafka consumer is crashed']);
    assert.equal(crashed.body.lastCrash?.error, 'KafkaJSProtocolError: Broker: Message size too large');
    status.setConsumer('running');
    assert.equal(status.stats.consumerRestarts, 1);
  });

  it('GET /metrics needs a read key when keys are set, and is Prometheus text', async () => {
    const denied = await fetch(`${url}/metrics`);
    assert.equal(denied.status, 401);
    assert.equal(((await denied.json()) as { errors: { field: string }[] }).errors[0]!.field, 'authorization');
    const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    for (const name of [
      'records_started_total',
      'records_already_started_total',
      'records_dead_lettered_total',
      'start_transient_failures_total',
      'start_systemic_failures_total',
      'consumer_crashes_total',
      'consumer_restarts_total',
      'consumer_running',
      'ready',
    ]) {
      assert.match(text, new RegExp(`^# TYPE bridge_${name} (counter|gauge)$`, 'm'), name);
    }
    assert.match(text, /^bridge_partitions_backing_off\{kind="systemic"\} 0$/m);
    assert.match(text, /^bridge_consumer_crashes_total 1$/m);
  });

  it('anything else is a JSON 404 or 405', async () => {
    assert.equal((await fetch(`${url}/nope`)).status, 404);
    const post = await fetch(`${url}/ready`, { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
  });
});
