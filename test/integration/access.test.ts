/**
 * The access rules on the real producer and GraphQL processes, configured only through their
 * environment as in production: write and read keys against real Kafka and DynamoDB, the
 * /%67raphql spelling, oversized bodies answered 413 to fetch, and slow-loris clients cut off.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startPlatform, type Platform } from '../support/platform';
import { EVENT, raw, READ_KEY, slowLoris, WRITE_KEY } from '../support/httpFixtures';
import { HANG_TIMEOUT_MS } from '../support/timeouts';

const JSON_TYPE = { 'content-type': 'application/json' };

describe('access rules on the running servers', { timeout: HANG_TIMEOUT_MS }, () => {
  let p: Platform;
  before(async () => {
    p = await startPlatform({
      bridges: 0,
      workers: 0,
      env: {
        WRITE_KEYS: WRITE_KEY,
        READ_KEYS: READ_KEY,
        HTTP_HEADERS_TIMEOUT_MS: '1500',
        HTTP_REQUEST_TIMEOUT_MS: '3000',
        HTTP_TIMEOUT_CHECK_INTERVAL_MS: '250',
      },
    });
  });
  after(() => p?.stop());

  it('producer: a write key posts (Kafka acknowledged), no key gets 401, a read key 403', async () => {
    assert.equal((await raw(p.producerUrl, 'POST', '/events', { ...JSON_TYPE, authorization: `Bearer ${WRITE_KEY}` }, EVENT)).status, 202);
    assert.equal((await raw(p.producerUrl, 'POST', '/%65vents', JSON_TYPE, EVENT)).status, 401);
    assert.equal((await raw(p.producerUrl, 'POST', '/events', { ...JSON_TYPE, 'x-api-key': READ_KEY }, EVENT)).status, 403);
    assert.equal((await raw(p.producerUrl, 'GET', '/metrics', { 'x-api-key': READ_KEY })).status, 200);
    assert.equal((await raw(p.producerUrl, 'GET', '/ready')).status, 200);
  });

  it('GraphQL: /%67raphql without a key is refused; a read key reads from DynamoDB; a write key gets 403', async () => {
    const body = JSON.stringify({ query: '{ latestEvents(limit: 1) { eventId } }' });
    const q = encodeURIComponent('{ latestEvents(limit: 1) { eventId } }');
    assert.equal((await raw(p.graphqlUrl, 'POST', '/%67raphql', JSON_TYPE, body)).status, 401);
    assert.equal((await raw(p.graphqlUrl, 'GET', `/%67raphql?query=${q}`)).status, 401);
    assert.equal((await raw(p.graphqlUrl, 'POST', '/graphql', { ...JSON_TYPE, 'x-api-key': WRITE_KEY }, body)).status, 403);
    const read = await raw(p.graphqlUrl, 'POST', '/graphql', { ...JSON_TYPE, 'x-api-key': READ_KEY }, body);
    assert.equal(read.status, 200, read.body);
    assert.match(read.body, /"data"/);
    assert.equal((await raw(p.graphqlUrl, 'GET', '/graphiql')).status, 200);
  });

  it("a 5 MiB body gets its 413 and JSON through Node's fetch, as browsers and JS SDKs send it, on both servers", async () => {
    const big = Buffer.alloc(5 * 1024 * 1024, 0x20);
    for (const [url, key] of [
      [`${p.producerUrl}/events`, WRITE_KEY],
      [`${p.producerUrl}/events/batch`, WRITE_KEY],
      [`${p.producerUrl}/v1/batch`, WRITE_KEY],
      [`${p.graphqlUrl}/graphql`, READ_KEY],
    ] as const) {
      for (const body of [big, new Blob([big]).stream()]) {
        const res = await fetch(url, { method: 'POST', headers: { ...JSON_TYPE, 'x-api-key': key }, body, duplex: 'half' } as RequestInit);
        assert.equal(res.status, 413, url);
        const json = (await res.json()) as { errors?: { field: string }[] };
        assert.deepEqual(
          json.errors?.map((e) => e.field),
          ['body'],
          `${url}: ${JSON.stringify(json)}`,
        );
      }
    }
  });

  it('slow-loris clients are cut off by both servers', async () => {
    for (const [base, path] of [
      [p.producerUrl, '/events'],
      [p.graphqlUrl, '/graphql'],
    ] as const) {
      await slowLoris(base, `POST ${path} HTTP/1.1\r\nHost: x\r\nX-Slow: `, 20_000);
      await slowLoris(
        base,
        `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\nX-API-Key: ${path === '/events' ? WRITE_KEY : READ_KEY}\r\n\r\n{`,
        20_000,
      );
    }
  });

  it('the running processes never print a key', () => {
    for (const name of ['producer', 'graphql']) {
      const text = p.output(name).join('\n');
      assert.ok(!text.includes(WRITE_KEY) && !text.includes(READ_KEY), name);
      assert.doesNotMatch(text, /SECURITY/, `${name}: keys are set, so no open-side warning`);
    }
  });
});
