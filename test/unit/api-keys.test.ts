/** With API_KEYS set, the write and read APIs need a key; probes and the GraphiQL page do not. */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../../src/config';
import { buildGraphqlApp } from '../../src/graphql/app';
import type { EventReader } from '../../src/graphql/eventReader';
import { createProducerApp } from '../../src/producer/app';
import { ProducerMetrics } from '../../src/producer/metrics';

const KEY = 'k-0123456789abcdef';
const body = JSON.stringify({ event_type: 'page_view', user_id: '123' });

describe('producer with API keys', () => {
  let url = '';
  let published = 0;
  const server = createProducerApp({
    publish: async (m) => void (published += m.length),
    isReady: async () => true,
    limits: { maxEventBytes: 32_768, maxFutureSkewMs: 86_400_000, maxBatchEvents: 500, maxBatchBytes: 1_048_576 },
    newEventId: () => '0192f1c4-8d1e-7c3a-9b2f-5a6d7e8f9a0b',
    metrics: new ProducerMetrics(),
    logger: pino({ level: 'silent' }),
    apiKeys: [KEY, 'another-key-of-16+'],
  }).listen(0, '127.0.0.1');
  before(async () => {
    await new Promise((r) => server.once('listening', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const post = (path: string, headers: Record<string, string>) =>
    fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

  it('refuses a request without a key or with a wrong one: 401 naming the header, nothing published', async () => {
    const attempts: Record<string, string>[] = [{}, { authorization: 'Bearer wrong-key-0000000000' }, { 'x-api-key': `${KEY}x` }, { authorization: KEY }];
    for (const headers of attempts) {
      const res = await post('/events', headers);
      assert.equal(res.status, 401, JSON.stringify(headers));
      assert.equal(((await res.json()) as { errors: { field: string }[] }).errors[0]!.field, 'authorization');
    }
    assert.equal((await post('/events/batch', {})).status, 401);
    assert.equal((await fetch(`${url}/metrics`)).status, 401);
    assert.equal(published, 0);
  });

  it('accepts either header form with any configured key; probes need none', async () => {
    assert.equal((await post('/events', { authorization: `Bearer ${KEY}` })).status, 202);
    assert.equal((await post('/events', { 'x-api-key': 'another-key-of-16+' })).status, 202);
    assert.equal(published, 2);
    assert.equal((await fetch(`${url}/health`)).status, 200);
    assert.equal((await fetch(`${url}/ready`)).status, 200);
  });
});

describe('GraphQL with API keys', () => {
  const reader: EventReader = { latest: async () => [], byType: async () => [], byUser: async () => [], byId: async () => null };
  const app = buildGraphqlApp({ reader, limits: { defaultLimit: 10, maxLimit: 100, maxDepth: 6 }, apiKeys: [KEY] });
  after(() => app.close());
  const query = (headers: Record<string, string>) =>
    app.inject({ method: 'POST', url: '/graphql', headers, payload: { query: '{ latestEvents { eventId } }' } });

  it('needs a key for /graphql but not for the GraphiQL page or /health', async () => {
    assert.equal((await query({})).statusCode, 401);
    assert.equal((await query({ authorization: `Bearer ${KEY}` })).statusCode, 200);
    assert.equal((await app.inject({ method: 'GET', url: '/graphiql' })).statusCode, 200);
    assert.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200);
  });
});

describe('API_KEYS config', () => {
  it('rejects short keys, naming the variable', () => {
    assert.throws(() => loadConfig({ API_KEYS: 'short' }), /API_KEYS: expected a comma-separated list of keys of at least 16 characters/);
    assert.deepEqual(loadConfig({ API_KEYS: ` ${KEY} , another-key-of-16+ ` }).http.apiKeys, [KEY, 'another-key-of-16+']);
    assert.deepEqual(loadConfig({}).http.apiKeys, []);
  });
});
