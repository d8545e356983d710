/**
 * Browser senders and hostile clients: CORS on the producer (configured origins, answered
 * preflights, never a wildcard with credentials), CORS off on GraphQL unless configured, the
 * security headers of every answer, and slow-loris clients cut off by the servers' timeouts.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/platform/config';
import { applyServerTimeouts } from '../../src/platform/http/hardening';
import { EVENT, graphqlApp, raw, READ_KEY, slowLoris, startProducer, WRITE_KEY } from '../support/httpFixtures';

const SHOP = 'https://shop.example.com';
const preflight = (origin: string) => ({ origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' });

describe('CORS on the producer', () => {
  it('with a list of origins: preflights answered without a key, the origin echoed, no credentials', async () => {
    const p = await startProducer({ writeKeys: [WRITE_KEY], corsOrigins: [SHOP, 'https://www.example.com'] });
    try {
      for (const path of ['/events', '/events/batch']) {
        const res = await raw(p.base, 'OPTIONS', path, preflight(SHOP));
        assert.equal(res.status, 204, path);
        assert.equal(res.headers['access-control-allow-origin'], SHOP);
        assert.match(String(res.headers['access-control-allow-methods']), /POST/);
        for (const h of ['Authorization', 'Content-Type', 'X-API-Key', 'Content-Encoding'])
          assert.match(String(res.headers['access-control-allow-headers']), new RegExp(h));
        assert.match(String(res.headers.vary), /Origin/);
        assert.equal(res.headers['access-control-allow-credentials'], undefined);
      }
      const other = await raw(p.base, 'OPTIONS', '/events', preflight('https://evil.example'));
      assert.equal(other.headers['access-control-allow-origin'], undefined, 'an origin not listed gets no CORS grant');
      const sent = await raw(p.base, 'POST', '/events', { 'content-type': 'application/json', origin: SHOP, 'x-api-key': WRITE_KEY }, EVENT);
      assert.equal(sent.status, 202);
      assert.equal(sent.headers['access-control-allow-origin'], SHOP);
      assert.match(String(sent.headers['access-control-expose-headers']), /Retry-After/);
      const refused = await raw(p.base, 'POST', '/events', { 'content-type': 'application/json', origin: SHOP }, EVENT);
      assert.equal(refused.status, 401, 'a preflight passes without a key, the request itself does not');
      assert.equal(refused.headers['access-control-allow-origin'], SHOP, 'so the page can read the 401');
      assert.equal(p.published.length, 1);
      // Only the write routes are for browsers: no grant to read /metrics or probe other paths.
      for (const path of ['/metrics', '/health', '/nope']) {
        const pre = await raw(p.base, 'OPTIONS', path, { ...preflight(SHOP), 'access-control-request-method': 'GET' });
        assert.equal(pre.headers['access-control-allow-origin'], undefined, `preflight ${path}`);
        assert.equal((await raw(p.base, 'GET', path, { origin: SHOP })).headers['access-control-allow-origin'], undefined, `GET ${path}`);
      }
    } finally {
      await p.close();
    }
  });

  it('with *: any origin, still never credentials', async () => {
    const p = await startProducer({ corsOrigins: ['*'] });
    try {
      const res = await raw(p.base, 'OPTIONS', '/events', preflight('https://anyone.example'));
      assert.equal(res.status, 204);
      assert.equal(res.headers['access-control-allow-origin'], '*');
      assert.equal(res.headers['access-control-allow-credentials'], undefined);
    } finally {
      await p.close();
    }
  });

  it('not configured: no CORS header at all', async () => {
    const p = await startProducer();
    try {
      const res = await raw(p.base, 'POST', '/events', { 'content-type': 'application/json', origin: SHOP }, EVENT);
      assert.equal(res.status, 202);
      assert.equal(res.headers['access-control-allow-origin'], undefined);
    } finally {
      await p.close();
    }
  });

  it('config: origins validated, naming the variable', () => {
    assert.deepEqual(loadConfig({ CORS_ORIGINS: ` ${SHOP} , http://localhost:3000 ` }).http.corsOrigins, [SHOP, 'http://localhost:3000']);
    assert.deepEqual(loadConfig({}).http.corsOrigins, []);
    assert.throws(() => loadConfig({ CORS_ORIGINS: 'shop.example.com' }), /CORS_ORIGINS: expected \* or a comma-separated list of origins/);
    assert.throws(() => loadConfig({ GRAPHQL_CORS_ORIGINS: `${SHOP}/` }), /GRAPHQL_CORS_ORIGINS/);
  });
});

describe('CORS on GraphQL', () => {
  it('off by default: a preflight gets no grant', async () => {
    const { app } = graphqlApp({ readKeys: [READ_KEY] });
    const res = await app.inject({ method: 'OPTIONS', url: '/graphql', headers: preflight(SHOP) });
    assert.equal(res.headers['access-control-allow-origin'], undefined);
    assert.notEqual(res.statusCode, 204);
    await app.close();
  });

  it('on when configured', async () => {
    const { app } = graphqlApp({ readKeys: [READ_KEY], corsOrigins: [SHOP] });
    const res = await app.inject({ method: 'OPTIONS', url: '/graphql', headers: preflight(SHOP) });
    assert.equal(res.statusCode, 204);
    assert.equal(res.headers['access-control-allow-origin'], SHOP);
    const q = await app.inject({
      method: 'POST',
      url: '/graphql',
      headers: { origin: SHOP, 'x-api-key': READ_KEY },
      payload: { query: '{ latestEvents { eventId } }' },
    });
    assert.equal(q.statusCode, 200);
    assert.equal(q.headers['access-control-allow-origin'], SHOP);
    await app.close();
  });
});

describe('security headers', () => {
  const expectHardened = (headers: Record<string, unknown>, what: string, cache = 'no-store') => {
    assert.equal(headers['x-content-type-options'], 'nosniff', what);
    assert.equal(headers['cache-control'], cache, what);
    assert.equal(headers['x-frame-options'], 'DENY', what);
    assert.match(String(headers['content-security-policy']), /frame-ancestors 'none'/, what);
  };

  it('producer: on accepted, refused, invalid and unknown requests alike', async () => {
    const p = await startProducer({ writeKeys: [WRITE_KEY] });
    try {
      const key = { 'content-type': 'application/json', 'x-api-key': WRITE_KEY };
      expectHardened((await raw(p.base, 'POST', '/events', key, EVENT)).headers, '202');
      expectHardened((await raw(p.base, 'POST', '/events', { 'content-type': 'application/json' }, EVENT)).headers, '401');
      expectHardened((await raw(p.base, 'POST', '/events', key, '{}')).headers, '422');
      expectHardened((await raw(p.base, 'GET', '/health')).headers, 'health');
    } finally {
      await p.close();
    }
  });

  it('GraphQL: on answers, refusals and the GraphiQL page, which no other site may frame', async () => {
    const { app } = graphqlApp({ readKeys: [READ_KEY] });
    expectHardened(
      (await app.inject({ method: 'POST', url: '/graphql', headers: { 'x-api-key': READ_KEY }, payload: { query: '{ latestEvents { eventId } }' } })).headers,
      '200',
    );
    expectHardened((await app.inject({ method: 'POST', url: '/graphql', payload: { query: '{ latestEvents { eventId } }' } })).headers, '401');
    expectHardened((await app.inject({ method: 'GET', url: '/graphiql' })).headers, 'graphiql');
    // Static assets keep their own caching.
    expectHardened((await app.inject({ method: 'GET', url: '/graphiql/assets/graphiql.min.css' })).headers, 'asset', 'public, max-age=86400');
    await app.close();
  });
});

describe('slow clients are cut off', () => {
  // Short limits through the same variables as production; the defaults are 10 s / 30 s.
  const { timeouts } = loadConfig({ HTTP_HEADERS_TIMEOUT_MS: '1500', HTTP_REQUEST_TIMEOUT_MS: '3000', HTTP_TIMEOUT_CHECK_INTERVAL_MS: '250' }).http;
  const DEADLINE_MS = 20_000;
  const trickledHeaders = 'POST /events HTTP/1.1\r\nHost: x\r\nX-Slow: ';
  const trickledBody = (path: string, key: string) =>
    `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-API-Key: ${key}\r\nContent-Length: 1000\r\n\r\n{`;

  it('producer: headers or body at one byte per second get 408 and the connection closed', async () => {
    const p = await startProducer({ writeKeys: [WRITE_KEY] }, (server: Server) => applyServerTimeouts(server, timeouts));
    try {
      assert.match(await slowLoris(p.base, trickledHeaders, DEADLINE_MS), /^HTTP\/1\.1 408|^$/);
      assert.match(await slowLoris(p.base, trickledBody('/events', WRITE_KEY), DEADLINE_MS), /^HTTP\/1\.1 408|^$/);
      assert.equal(p.published.length, 0);
    } finally {
      await p.close();
    }
  });

  it('GraphQL: the same', async () => {
    const { app, reads } = graphqlApp({ readKeys: [READ_KEY] }, { timeouts });
    try {
      const base = await app.listen({ port: 0, host: '127.0.0.1' });
      assert.match(await slowLoris(base, trickledHeaders.replace('/events', '/graphql'), DEADLINE_MS), /^HTTP\/1\.1 408|^$/);
      assert.match(await slowLoris(base, trickledBody('/graphql', READ_KEY), DEADLINE_MS), /^HTTP\/1\.1 408|^$/);
      assert.deepEqual(reads, []);
    } finally {
      await app.close();
    }
  });

  it('a client waiting for a slow answer is not cut off: the deadlines cover receiving the request only', async () => {
    const slow = loadConfig({ HTTP_HEADERS_TIMEOUT_MS: '500', HTTP_REQUEST_TIMEOUT_MS: '1000', HTTP_TIMEOUT_CHECK_INTERVAL_MS: '100' }).http.timeouts;
    const reader = {
      latest: () => new Promise<[]>((resolve) => setTimeout(() => resolve([]), 2_500)),
      byType: async () => [],
      byUser: async () => [],
      byId: async () => null,
    };
    const { app } = graphqlApp({}, { timeouts: slow, reader });
    try {
      const base = await app.listen({ port: 0, host: '127.0.0.1' });
      const res = await raw(base, 'POST', '/graphql', { 'content-type': 'application/json' }, JSON.stringify({ query: '{ latestEvents { eventId } }' }));
      assert.equal(res.status, 200, res.body);
    } finally {
      await app.close();
    }
  });

  it('config: defaults, and the headers deadline may not exceed the request deadline', () => {
    assert.deepEqual(loadConfig({}).http.timeouts, {
      requestTimeoutMs: 30_000,
      headersTimeoutMs: 10_000,
      keepAliveTimeoutMs: 5_000,
      maxRequestsPerSocket: 1_000,
      checkIntervalMs: 2_000,
    });
    assert.throws(
      () => loadConfig({ HTTP_HEADERS_TIMEOUT_MS: '60000', HTTP_REQUEST_TIMEOUT_MS: '30000' }),
      /HTTP_HEADERS_TIMEOUT_MS: must not exceed HTTP_REQUEST_TIMEOUT_MS/,
    );
  });
});
