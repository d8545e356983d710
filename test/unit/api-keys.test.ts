/**
 * Write keys and read keys on both APIs, bound to routes rather than URL text: what a scanner
 * tries (percent-encoding, slashes, letter case, query strings, every method) never reaches data
 * without a key, a key used on the wrong API gets 403, routes added later are protected, and keys
 * never show up in logs or config errors.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, loadConfig } from '../../src/platform/config';
import { createGate, warnIfOpen } from '../../src/platform/http/access';
import { accessRouter } from '../../src/platform/http/express';
import { createKeyRing, presentedKey } from '../../src/platform/http/keys';
import { createLogger } from '../../src/platform/logger';
import { basic, EVENT, graphqlApp, raw, READ_KEY, startProducer, WRITE_KEY, WRITE_KEY_2, type ProducerUnderTest } from '../support/httpFixtures';

const KEYS = { writeKeys: [WRITE_KEY, WRITE_KEY_2], readKeys: [READ_KEY] };
const JSON_TYPE = { 'content-type': 'application/json' };
const METHODS = ['GET', 'POST', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'PATCH'];

function errorField(body: string): string | undefined {
  const parsed = JSON.parse(body) as { error?: unknown; errors?: { field: string }[] };
  assert.equal(typeof parsed.error, 'string', `an error message in ${body}`);
  return parsed.errors?.[0]?.field;
}

describe('key extraction', () => {
  it('reads Bearer, X-API-Key and HTTP Basic with the key as user name; Authorization wins', () => {
    assert.equal(presentedKey({ authorization: `Bearer ${WRITE_KEY}` }), WRITE_KEY);
    assert.equal(presentedKey({ authorization: `bearer   ${WRITE_KEY}` }), WRITE_KEY);
    assert.equal(presentedKey({ 'x-api-key': ` ${WRITE_KEY} ` }), WRITE_KEY);
    assert.equal(presentedKey({ authorization: basic(WRITE_KEY) }), WRITE_KEY);
    assert.equal(presentedKey({ authorization: basic(WRITE_KEY, 'ignored') }), WRITE_KEY);
    assert.equal(presentedKey({ authorization: `Bearer ${READ_KEY}`, 'x-api-key': WRITE_KEY }), READ_KEY);
    assert.equal(presentedKey({}), undefined);
    assert.equal(presentedKey({ authorization: 'Bearer ' }), undefined);
  });

  it('tells write keys, read keys and unknown keys apart, with an id that is not the key', () => {
    const ring = createKeyRing({ write: [WRITE_KEY], read: [READ_KEY] });
    assert.equal(ring.identify(WRITE_KEY)?.kind, 'write');
    assert.equal(ring.identify(READ_KEY)?.kind, 'read');
    assert.equal(ring.identify(`${WRITE_KEY}x`), undefined);
    assert.equal(ring.identify(WRITE_KEY.slice(0, -1)), undefined);
    assert.equal(ring.identify(''), undefined);
    assert.ok(!ring.identify(WRITE_KEY)!.id.includes(WRITE_KEY));
    assert.equal(ring.protects('write'), true);
    assert.equal(createKeyRing({ write: [], read: [READ_KEY] }).protects('write'), false);
  });
});

describe('producer with write and read keys', () => {
  let p: ProducerUnderTest;
  before(async () => (p = await startProducer(KEYS)));
  after(() => p.close());
  const postEvent = (headers: Record<string, string>, path = '/events') =>
    raw(p.base, 'POST', path, { ...JSON_TYPE, ...headers }, path.includes('batch') ? JSON.stringify({ events: [JSON.parse(EVENT)] }) : EVENT);

  it('refuses a missing, unknown or malformed key with 401 naming the header; nothing is published', async () => {
    const attempts: Record<string, string>[] = [
      {},
      { authorization: 'Bearer wrong-key-0000000000' },
      { 'x-api-key': `${WRITE_KEY}x` },
      { authorization: WRITE_KEY },
      { authorization: `Token ${WRITE_KEY}` },
      { authorization: basic('nobody-0000000000000') },
    ];
    for (const headers of attempts) {
      for (const path of ['/events', '/events/batch']) {
        const res = await postEvent(headers, path);
        assert.equal(res.status, 401, `${path} ${JSON.stringify(headers)}`);
        assert.equal(errorField(res.body), 'authorization');
        assert.equal(res.headers['www-authenticate'], 'Bearer');
      }
    }
    assert.equal(p.published.length, 0);
  });

  it('accepts every configured write key (rotation) as Bearer, X-API-Key or Basic user name', async () => {
    const forms: Record<string, string>[] = [
      { authorization: `Bearer ${WRITE_KEY}` },
      { 'x-api-key': WRITE_KEY_2 },
      { authorization: basic(WRITE_KEY) },
      { authorization: basic(WRITE_KEY_2, 'x') },
    ];
    for (const headers of forms) {
      assert.equal((await postEvent(headers)).status, 202, JSON.stringify(headers));
    }
    assert.equal((await postEvent({ authorization: `Bearer ${WRITE_KEY}` }, '/events/batch')).status, 202);
    assert.equal(p.published.length, 5);
  });

  it('a read key cannot post events and a write key cannot read /metrics: 403 with the JSON error shape', async () => {
    const before = p.published.length;
    for (const path of ['/events', '/events/batch']) {
      const res = await postEvent({ authorization: `Bearer ${READ_KEY}` }, path);
      assert.equal(res.status, 403, path);
      assert.equal(errorField(res.body), 'authorization');
      assert.match(res.body, /WRITE_KEYS/);
    }
    assert.equal(p.published.length, before);
    const metrics = await raw(p.base, 'GET', '/metrics', { 'x-api-key': WRITE_KEY });
    assert.equal(metrics.status, 403);
    assert.match(metrics.body, /READ_KEYS/);
    assert.equal((await raw(p.base, 'GET', '/metrics')).status, 401);
    assert.equal((await raw(p.base, 'GET', '/metrics', { authorization: `Bearer ${READ_KEY}` })).status, 200);
  });

  it('probes stay open, in every spelling Express routes to them', async () => {
    for (const path of ['/health', '/ready', '/HEALTH', '/health/', '/ready?x=1']) {
      assert.equal((await raw(p.base, 'GET', path)).status, 200, path);
      assert.equal((await raw(p.base, 'HEAD', path)).status, 200, `HEAD ${path}`);
    }
  });

  it('what a scanner tries never gets past the gate without a key', async () => {
    const paths = [
      '/events',
      '/EVENTS',
      '/Events/',
      '/events/',
      '//events',
      '/events//',
      '/%65vents',
      '/%65%76%65%6e%74%73',
      '/events?x=1',
      '/events;x',
      '/events/batch',
      '/events/batch/',
      '/EVENTS/BATCH',
      '//events//batch',
      '/events/%62atch',
      '/events/batch?debug=1',
      '/metrics',
      '/METRICS',
      '/metrics/',
      '//metrics',
      '/%6detrics',
      '/metrics?format=json',
      '/',
      '/admin',
      '/.env',
      '/health/../metrics',
      '/%2e%2e/metrics',
      '/graphql',
    ];
    for (const path of paths) {
      for (const method of METHODS) {
        const res = await raw(p.base, method, path, JSON_TYPE, method === 'POST' || method === 'PUT' ? EVENT : undefined);
        assert.equal(res.status, 401, `${method} ${path} answered ${res.status} ${res.body.slice(0, 120)}`);
      }
    }
    assert.equal(p.published.length, 5 /* from the rotation test */);
  });
});

describe('keys a client makes up', () => {
  let p: ProducerUnderTest;
  before(async () => (p = await startProducer(KEYS)));
  after(() => p.close());

  it('another case, a very long key, non-ASCII, broken Basic or a list of keys is no key: 401 naming the header, nothing published', async () => {
    const attempts: Record<string, string>[] = [
      { 'x-api-key': WRITE_KEY.toUpperCase() },
      { authorization: `Bearer ${WRITE_KEY}${'k'.repeat(8_000)}` },
      { 'x-api-key': 'clé-0123456789abcdef' },
      { authorization: basic('ключ-0123456789abcdef') },
      { authorization: 'Basic %%%not-base64%%%' },
      { 'x-api-key': `${WRITE_KEY},${WRITE_KEY_2}` },
      { 'x-api-key': `${WRITE_KEY} ${WRITE_KEY_2}` },
    ];
    for (const headers of attempts) {
      const res = await raw(p.base, 'POST', '/events', { ...JSON_TYPE, ...headers }, EVENT);
      assert.equal(res.status, 401, JSON.stringify(headers).slice(0, 120));
      assert.equal(errorField(res.body), 'authorization');
    }
    assert.equal(p.published.length, 0);
  });

  it('the lookup answers every length and alphabet without throwing, and only for a configured key', () => {
    const ring = createKeyRing({ write: [WRITE_KEY, WRITE_KEY], read: [READ_KEY] });
    for (const presented of ['', 'k'.repeat(1_000_000), 'clé-0123456789abcdef', '\u0000'.repeat(32), `${READ_KEY}\u0000`, '\ud800']) {
      assert.equal(ring.identify(presented), undefined, presented.slice(0, 40));
    }
    assert.equal(ring.identify(WRITE_KEY)?.kind, 'write', 'a key listed twice is still one key');
    assert.equal(ring.identify(WRITE_KEY)?.id, ring.identify(WRITE_KEY)?.id, 'one rate-limit bucket per key');
  });
});

describe('producer: a route added later needs a key by default', () => {
  it('an app guarded by the same router protects a route it was not told about', async () => {
    const app = express();
    app.use(accessRouter(createGate(KEYS, ['POST']), [{ method: 'get', path: '/health', access: 'public' }], 'read'));
    app.get('/health', (_req, res) => void res.json({ status: 'ok' }));
    app.get('/debug/state', (_req, res) => void res.json({ secret: 'internal' }));
    const server = createServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      for (const path of ['/debug/state', '/DEBUG/state/', '//debug/state', '/%64ebug/state']) {
        const res = await raw(base, 'GET', path);
        assert.equal(res.status, 401, path);
        assert.doesNotMatch(res.body, /internal/);
      }
      assert.equal((await raw(base, 'GET', '/debug/state', { 'x-api-key': WRITE_KEY })).status, 403);
      assert.equal((await raw(base, 'GET', '/debug/state', { 'x-api-key': READ_KEY })).status, 200);
      assert.equal((await raw(base, 'GET', '/health')).status, 200);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe('GraphQL with write and read keys', () => {
  const { app, reads } = graphqlApp(KEYS, {}, (a) => a.get('/debug/state', async () => ({ secret: 'internal' })));
  after(() => app.close());
  const query = encodeURIComponent('{ latestEvents { eventId } }');
  const body = JSON.stringify({ query: '{ latestEvents { eventId } }' });

  it('the %67raphql bypass and every other spelling of /graphql need a key (GET, POST, HEAD, OPTIONS)', async () => {
    const paths = [
      '/graphql',
      '/%67raphql',
      '/%67%72%61%70%68%71%6c',
      '/graphq%6C',
      '/graphql/',
      '//graphql',
      '/GRAPHQL',
      '/GraphQL/',
      '/graphql?x=1',
      '/%67raphql?x=1',
      '/graphql;x',
      '/./graphql',
      '/graphiql/../graphql',
    ];
    for (const path of paths) {
      for (const method of ['GET', 'POST', 'HEAD', 'OPTIONS']) {
        const url = method === 'GET' || method === 'HEAD' ? `${path}${path.includes('?') ? '&' : '?'}query=${query}` : path;
        const res = await app.inject({
          method: method as 'GET',
          url,
          headers: { 'content-type': 'application/json' },
          ...(method === 'POST' ? { payload: body } : {}),
        });
        assert.equal(res.statusCode, 401, `${method} ${url}: ${res.statusCode} ${res.body.slice(0, 100)}`);
        assert.doesNotMatch(res.body, /"data"/, `${method} ${url}`);
      }
    }
    assert.deepEqual(reads, [], 'no storage read without a key');
  });

  it('a read key reads (also through the percent-encoded path); a write key gets 403; none gets 401', async () => {
    const q = (headers: Record<string, string>, url = '/graphql') =>
      app.inject({ method: 'POST', url, headers, payload: { query: '{ latestEvents { eventId } }' } });
    const none = await q({});
    assert.equal(none.statusCode, 401);
    assert.equal(errorField(none.body), 'authorization');
    const wrong = await q({ 'x-api-key': 'rk-not-a-key-0000000' });
    assert.equal(wrong.statusCode, 401);
    const write = await q({ authorization: `Bearer ${WRITE_KEY}` });
    assert.equal(write.statusCode, 403);
    assert.match(write.body, /READ_KEYS/);
    assert.deepEqual(reads, []);
    assert.equal((await q({ authorization: `Bearer ${READ_KEY}` })).statusCode, 200);
    assert.equal((await q({ 'x-api-key': READ_KEY }, '/%67raphql')).statusCode, 200);
    assert.equal((await q({ authorization: basic(READ_KEY) })).statusCode, 200);
    assert.equal(reads.length, 3);
  });

  it('GraphiQL, its assets and /health stay open; a route added later and unknown paths need a key', async () => {
    for (const url of ['/graphiql', '/graphiql/assets/graphiql.min.css', '/health']) {
      assert.equal((await app.inject({ method: 'GET', url })).statusCode, 200, url);
    }
    // '/graphiql/' is no route (Fastify is strict about trailing slashes), so it is guarded too.
    for (const url of ['/debug/state', '/%64ebug/state', '/debug/state/', '/nope', '/graphiql/', '/graphiql/assets/../../debug/state']) {
      const res = await app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 401, `${url}: ${res.body}`);
      assert.doesNotMatch(res.body, /internal/);
    }
    assert.equal((await app.inject({ method: 'GET', url: '/debug/state', headers: { 'x-api-key': WRITE_KEY } })).statusCode, 403);
    assert.equal((await app.inject({ method: 'GET', url: '/debug/state', headers: { 'x-api-key': READ_KEY } })).statusCode, 200);
    assert.equal((await app.inject({ method: 'GET', url: '/nope', headers: { 'x-api-key': READ_KEY } })).statusCode, 404);
  });
});

describe('open sides', () => {
  it('without keys both APIs are open (the local stack), and keys sent anyway are ignored', async () => {
    const p = await startProducer();
    try {
      assert.equal((await raw(p.base, 'POST', '/events', JSON_TYPE, EVENT)).status, 202);
      assert.equal((await raw(p.base, 'POST', '/events', { ...JSON_TYPE, authorization: 'Bearer whatever-000000000000' }, EVENT)).status, 202);
      assert.equal((await raw(p.base, 'GET', '/metrics')).status, 200);
    } finally {
      await p.close();
    }
    const { app } = graphqlApp();
    assert.equal((await app.inject({ method: 'POST', url: '/graphql', payload: { query: '{ latestEvents { eventId } }' } })).statusCode, 200);
    await app.close();
  });

  it('with write keys only, GraphQL stays open and a write key there is not refused', async () => {
    const { app } = graphqlApp({ writeKeys: [WRITE_KEY] });
    assert.equal((await app.inject({ method: 'POST', url: '/graphql', payload: { query: '{ latestEvents { eventId } }' } })).statusCode, 200);
    await app.close();
  });

  it('says loudly at startup when a side runs open outside development, and names the variable', () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
    const logger = createLogger({ logLevel: 'info', environment: 'production' }, 'test', sink);
    const sides = [
      { kind: 'write' as const, keys: [], what: 'posting events' },
      { kind: 'read' as const, keys: [READ_KEY], what: 'GraphQL' },
    ];
    warnIfOpen(logger, 'production', sides);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /"level":40/);
    assert.match(lines[0]!, /WRITE_KEYS is empty in production/);
    warnIfOpen(logger, 'development', sides);
    assert.equal(lines.length, 1, 'quiet in development');
  });
});

describe('keys never reach a log line', () => {
  it('redacts Authorization, X-API-Key and cookies wherever a request or its headers are logged', () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
    const logger = createLogger({ logLevel: 'info', environment: 'production' }, 'test', sink);
    const headers = { authorization: `Bearer ${READ_KEY}`, 'x-api-key': WRITE_KEY, cookie: 'session=s3cr3t-cookie', 'user-agent': 'curl' };
    logger.info({ req: { method: 'POST', url: '/events', headers } }, 'request');
    logger.info({ request: { headers } }, 'request');
    logger.info({ headers }, 'headers');
    assert.equal(lines.length, 3);
    for (const line of lines) {
      for (const secret of [READ_KEY, WRITE_KEY, 's3cr3t-cookie']) assert.ok(!line.includes(secret), `${secret} in ${line}`);
      assert.match(line, /\[redacted\]/);
      assert.match(line, /curl/);
    }
  });
});

describe('key config', () => {
  const problemsOf = (env: Record<string, string>) => {
    try {
      loadConfig(env);
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
    return [];
  };

  it('reads WRITE_KEYS and READ_KEYS as trimmed comma lists; empty means open', () => {
    const config = loadConfig({ WRITE_KEYS: ` ${WRITE_KEY} , ${WRITE_KEY_2} `, READ_KEYS: READ_KEY });
    assert.deepEqual(config.http.writeKeys, [WRITE_KEY, WRITE_KEY_2]);
    assert.deepEqual(config.http.readKeys, [READ_KEY]);
    assert.deepEqual(loadConfig({}).http.writeKeys, []);
    assert.deepEqual(loadConfig({}).http.readKeys, []);
  });

  it('rejects short keys, odd characters and a key in both lists, naming the variable and never the key', () => {
    for (const [variable, value] of [
      ['WRITE_KEYS', 'short'],
      ['READ_KEYS', `${READ_KEY},has space inside-0000`],
      ['WRITE_KEYS', 'key:with-colon-00000000'],
    ] as const) {
      const problems = problemsOf({ [variable]: value });
      assert.deepEqual(
        problems.map((p) => p.variable),
        [variable],
      );
      assert.match(problems[0]!.message, /16-256 characters/);
      for (const part of value.split(',')) assert.ok(!JSON.stringify(problems).includes(part.trim()), part);
    }
    const both = problemsOf({ WRITE_KEYS: WRITE_KEY, READ_KEYS: `${READ_KEY},${WRITE_KEY}` });
    assert.deepEqual(
      both.map((p) => p.variable),
      ['READ_KEYS'],
    );
    assert.ok(!JSON.stringify(both).includes(WRITE_KEY));
  });

  // A key list of only commas or spaces, or with an empty entry, is refused: the list sweep in config.test.ts.
  it('key lists: spaces around a key are dropped, a duplicate is harmless', () => {
    const config = loadConfig({ WRITE_KEYS: ` ${WRITE_KEY} ,\t${WRITE_KEY_2} `, READ_KEYS: `${READ_KEY},${READ_KEY}` });
    assert.deepEqual(config.http.writeKeys, [WRITE_KEY, WRITE_KEY_2]);
    const ring = createKeyRing({ write: config.http.writeKeys, read: config.http.readKeys });
    assert.equal(ring.identify(READ_KEY)?.kind, 'read');
    assert.equal(ring.identify(WRITE_KEY_2)?.kind, 'write');
  });

  it('refuses a key outside 16-256 token characters (one too short or long, non-ASCII, other separators) without showing it', () => {
    const of = (n: number) => 'k'.repeat(n);
    const edges = loadConfig({ WRITE_KEYS: of(16), READ_KEYS: of(256) });
    assert.deepEqual([edges.http.writeKeys, edges.http.readKeys], [[of(16)], [of(256)]]);
    for (const value of [
      of(15),
      of(257),
      'clé-0123456789abcdef',
      'ключ-0123456789abcdef',
      `${WRITE_KEY}\t${WRITE_KEY_2}`,
      `${WRITE_KEY}\n${WRITE_KEY_2}`,
      `${WRITE_KEY};${WRITE_KEY_2}`,
    ]) {
      const problems = problemsOf({ WRITE_KEYS: value });
      assert.deepEqual(
        problems.map((p) => p.variable),
        ['WRITE_KEYS'],
        JSON.stringify(value),
      );
      assert.match(problems[0]!.message, /16-256 characters/);
      for (const part of value.split(/[\s;]+/)) assert.ok(!JSON.stringify(problems).includes(part), part);
    }
  });

  it('a key in both lists is refused however it is spaced, and wherever it stands in the lists', () => {
    for (const env of [
      { WRITE_KEYS: ` ${WRITE_KEY} `, READ_KEYS: WRITE_KEY },
      { WRITE_KEYS: `${WRITE_KEY_2},${WRITE_KEY}`, READ_KEYS: `${WRITE_KEY}, ${READ_KEY}` },
    ]) {
      const problems = problemsOf(env);
      assert.deepEqual(
        problems.map((p) => p.variable),
        ['READ_KEYS'],
        JSON.stringify(env),
      );
      assert.match(problems[0]!.message, /both WRITE_KEYS and READ_KEYS/);
      assert.ok(!JSON.stringify(problems).includes(WRITE_KEY));
    }
  });

  it('API_KEYS is no longer read: a process with it set refuses to start instead of running open', () => {
    const problems = problemsOf({ API_KEYS: WRITE_KEY });
    assert.deepEqual(
      problems.map((p) => p.variable),
      ['API_KEYS'],
    );
    assert.match(problems[0]!.message, /WRITE_KEYS.*READ_KEYS/);
    assert.ok(!JSON.stringify(problems).includes(WRITE_KEY));
  });
});
