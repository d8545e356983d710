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
    server = await startHealthServer({ host: '127.0.0.1', port: 0, readKeys: [key], status });
    url = `http://127.0.0.1:${server.port}`;
  });
  after(() => server.close());

  it('GET /health answers 200 whatever the consumer does', async () => {
    const res = await fetch(`${url}/health`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok' });
  });

  it('GET /ready: 503 until the consumer runs, 200 then, 503 naming the partition while it backs off, and after a crash', async () => {
    const texts: string[] = [];
    const ready = async () => {
      const res = await fetch(`${url}/ready`);
      const text = await res.text();
      texts.push(text);
      return { status: res.status, body: JSON.parse(text) as { status: string; problems: string[]; backoff: object[]; lastCrash?: { type: string } } };
    };
    assert.equal((await ready()).status, 503);
    assert.deepEqual((await ready()).body.problems, ['Kafka consumer is starting']);
    status.setConsumer('running');
    const running = await ready();
    assert.equal(running.status, 200);
    assert.deepEqual(running.body, { status: 'ready', ready: true, consumer: 'running', problems: [], backoff: [] });

    const systemic = { kind: 'systemic', since: Date.now(), step: 3, retryInMs: 4_000, waiting: 32, code: 'INVALID_ARGUMENT' } as const;
    status.setBackoff(2, { ...systemic, reason: 'Namespace default has no mapping defined for search attribute EventType' });
    const backingOff = await ready();
    assert.equal(backingOff.status, 503);
    assert.deepEqual(backingOff.body.problems, [
      'partition 2: Temporal rejects every workflow start (fix the namespace setup) (INVALID_ARGUMENT); the bridge log has the error',
    ]);
    // The backoff as set, with its partition and without the reason (the backend's own words).
    assert.deepEqual(backingOff.body.backoff, [{ partition: 2, ...systemic }]);
    status.clearBackoff(2);
    assert.equal((await ready()).status, 200);

    // What a backend's error can say: hosts, ports, paths, a credential in a URL.
    status.setBackoff(1, {
      kind: 'transient',
      since: Date.now(),
      step: 1,
      retryInMs: 500,
      waiting: 1,
      code: 'UNAVAILABLE',
      reason: 'connect ECONNREFUSED 10.1.2.3:7233 (https://svc:s3cret@temporal.internal/api)',
    });
    assert.deepEqual((await ready()).body.problems, ['partition 1: Temporal is unreachable or failing (UNAVAILABLE); the bridge log has the error']);
    status.setBackoff(1, {
      kind: 'dead-letter',
      since: Date.now(),
      step: 1,
      retryInMs: 500,
      waiting: 1,
      reason: 'cannot publish to events.dlq: broker 10.1.2.3:9092 TOPIC_AUTHORIZATION_FAILED',
    });
    assert.deepEqual((await ready()).body.problems, ['partition 1: the dead-letter topic refuses records; the bridge log has the error']);
    status.clearBackoff(1);

    status.setConsumer(
      'crashed',
      Object.assign(new Error('Broker: Message size too large at /srv/app/node_modules/kafkajs'), { name: 'KafkaJSProtocolError' }),
    );
    const crashed = await ready();
    assert.equal(crashed.status, 503);
    assert.deepEqual(crashed.body.problems, ['Kafka consumer is crashed']);
    assert.equal(crashed.body.lastCrash?.type, 'KafkaJSProtocolError');
    const other = new BridgeStatus();
    other.setConsumer('crashed', Object.assign(new Error('x'), { name: 'Error: injected\nline' }));
    assert.equal(other.readiness().lastCrash?.type, 'Error', 'a name that is not a class name is not echoed');
    for (const leak of ['10.1.2.3', 's3cret', 'ECONNREFUSED', 'TOPIC_AUTHORIZATION_FAILED', 'Message size', '/srv/app', 'search attribute']) {
      assert.ok(!texts.some((t) => t.includes(leak)), `/ready never shows "${leak}"`);
    }
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

  it('GET /metrics takes the read key as Bearer, X-API-Key or Basic user name, and answers anything else with 401', async () => {
    const basicOf = (user: string) => `Basic ${Buffer.from(`${user}:`).toString('base64')}`;
    for (const headers of [{ authorization: `Bearer ${key}` }, { 'x-api-key': ` ${key} ` }, { authorization: basicOf(key) }]) {
      assert.equal((await fetch(`${url}/metrics`, { headers })).status, 200, JSON.stringify(headers));
    }
    for (const headers of [
      { authorization: 'Bearer wk-0123456789abcdef' },
      { authorization: `Bearer ${key.toUpperCase()}` },
      { authorization: `Token ${key}` },
      { authorization: key },
      { 'x-api-key': `${key}x` },
      { 'x-api-key': `${key}${'k'.repeat(8_000)}` },
      { authorization: basicOf(`${key.slice(0, -1)}`) },
    ]) {
      const res = await fetch(`${url}/metrics`, { headers });
      assert.equal(res.status, 401, JSON.stringify(headers).slice(0, 120));
      assert.equal(((await res.json()) as { errors: { field: string }[] }).errors[0]!.field, 'authorization');
    }
  });

  it('anything else is a JSON 404 or 405', async () => {
    assert.equal((await fetch(`${url}/nope`)).status, 404);
    const post = await fetch(`${url}/ready`, { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
  });
});
