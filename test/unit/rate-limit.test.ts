/**
 * Rate limits and body limits on both APIs: a token bucket per key (per client IP without a
 * valid key), 429 with Retry-After and the IETF draft's RateLimit headers, memory that stays
 * bounded, and bodies over the limit refused from their Content-Length before a byte is read.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/platform/config';
import { DISCARD_LIMIT_BYTES } from '../../src/platform/http/body';
import { clientAddress, normalizeAddress } from '../../src/platform/http/access';
import { createRateLimiter } from '../../src/platform/http/rateLimit';
import { EVENT, graphqlApp, raw, READ_KEY, startProducer, WRITE_KEY, WRITE_KEY_2, type ProducerUnderTest } from '../support/httpFixtures';
import { LIMITS } from '../support/limits';

const JSON_TYPE = { 'content-type': 'application/json' };

describe('token bucket', () => {
  it('lets a burst through, refuses the next with a Retry-After, and refills at the rate', () => {
    let now = 0;
    const limiter = createRateLimiter({ perSecond: 2, burst: 3 }, () => now)!;
    const taken = [1, 2, 3].map(() => limiter.take('a'));
    assert.deepEqual(
      taken.map((d) => [d.allowed, d.remaining]),
      [
        [true, 2],
        [true, 1],
        [true, 0],
      ],
    );
    const refused = limiter.take('a');
    assert.equal(refused.allowed, false);
    assert.equal(refused.retryAfterSeconds, 1);
    assert.equal(refused.limit, 3);
    assert.equal(refused.policy, '3;w=2');
    assert.equal(limiter.take('b').allowed, true, 'another client has its own bucket');
    now = 500; // one token back
    assert.equal(limiter.take('a').allowed, true);
    assert.equal(limiter.take('a').allowed, false);
  });

  it('is off at 0 per second', () => {
    assert.equal(createRateLimiter({ perSecond: 0, burst: 10 }), undefined);
  });

  it('keeps memory bounded: at most maxClients buckets, and refilled (idle) buckets are dropped', () => {
    let now = 0;
    const limiter = createRateLimiter({ perSecond: 10, burst: 5, maxClients: 100 }, () => now)!;
    for (let i = 0; i < 10_000; i++) limiter.take(`ip:10.0.${i >> 8}.${i & 255}`);
    assert.ok(limiter.size() <= 100, `${limiter.size()} buckets`);
    now = 1_000; // every bucket refilled: the same as no bucket
    limiter.take('fresh');
    assert.equal(limiter.size(), 1);
  });

  it('a spent bucket is never dropped to make room: 50 000 other clients do not refill it', () => {
    let now = 0;
    const limiter = createRateLimiter({ perSecond: 1, burst: 2 }, () => now)!;
    assert.deepEqual(
      [1, 2, 3].map(() => limiter.take('key:a').allowed),
      [true, true, false],
    );
    for (let i = 0; i < 50_000; i++) {
      now += 0.01; // all within the 2 s a refill from empty takes
      limiter.take(`ip:2001:db8:${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}::/64`);
    }
    assert.equal(limiter.take('key:a').allowed, false, 'still spent');
  });

  it('while the table is full of buckets in use, newcomers share one overflow bucket; refilled buckets make room again', () => {
    let now = 0;
    const limiter = createRateLimiter({ perSecond: 1, burst: 2, maxClients: 3 }, () => now)!;
    for (const c of ['a', 'b', 'c']) limiter.take(c);
    assert.equal(limiter.size(), 3);
    assert.deepEqual(
      ['d', 'e', 'f'].map((c) => limiter.take(c).allowed),
      [true, true, false],
      'd, e and f share one bucket of 2',
    );
    assert.equal(limiter.size(), 3, 'no bucket dropped, none added');
    assert.equal(limiter.take('a').allowed, true, 'a keeps its own bucket');
    now = 2_500; // b and c refilled (a was used at 0 too, and refilled as well)
    assert.equal(limiter.take('g').allowed, true);
    assert.ok(limiter.size() <= 3);
    assert.deepEqual(
      [1, 2, 3].map(() => limiter.take('g').allowed),
      [true, false, false],
      'g has a bucket of its own now',
    );
  });
});

describe('client addresses: one client, one bucket, however its address is written', () => {
  it('normalises IPv4-mapped, ports, brackets, zones and IPv6 /64s', () => {
    const cases: [string, string][] = [
      ['203.0.113.7', '203.0.113.7'],
      ['::ffff:203.0.113.7', '203.0.113.7'],
      ['::FFFF:cb00:7107', '203.0.113.7'],
      ['203.0.113.7:51000', '203.0.113.7'],
      ['[::ffff:203.0.113.7]:443', '203.0.113.7'],
      [' "203.0.113.7" ', '203.0.113.7'],
      ['2001:db8:0:1::1', '2001:db8:0:1::/64'],
      ['2001:0db8:0000:0001:ffff:ffff:ffff:ffff', '2001:db8:0:1::/64'],
      ['2001:DB8:0:1:a:b:c:d', '2001:db8:0:1::/64'],
      ['[2001:db8:0:1::2]:8080', '2001:db8:0:1::/64'],
      ['[2001:db8:0:1::2]', '2001:db8:0:1::/64'],
      ['fe80::1%eth0', 'fe80:0:0:0::/64'],
      ['[fe80::2%25en0]:80', 'fe80:0:0:0::/64'],
      ['::1', '0:0:0:0::/64'],
      ['2001:db8::1.2.3.4', '2001:db8:0:0::/64'],
      ['unknown', 'unknown'],
      ['x'.repeat(500), 'x'.repeat(64)],
    ];
    for (const [given, expected] of cases) assert.equal(normalizeAddress(given), expected, given);
    assert.notEqual(normalizeAddress('2001:db8:0:1::1'), normalizeAddress('2001:db8:0:2::1'), 'another /64 is another client');
  });

  it('the socket address and the X-Forwarded-For entry are normalised alike', () => {
    assert.equal(clientAddress('::ffff:10.0.0.5', undefined, 0), '10.0.0.5');
    assert.equal(clientAddress('10.0.0.5', 'spoofed, 203.0.113.7:51000', 1), '203.0.113.7');
    assert.equal(clientAddress('10.0.0.5', '1.1.1.1, [2001:db8:0:1::9]:443, 10.0.0.4', 2), '2001:db8:0:1::/64');
    assert.equal(clientAddress('10.0.0.5', ['::ffff:203.0.113.7', '10.0.0.4'], 2), '203.0.113.7');
  });

  it('behind a balancer: every spelling of one client, and every address of one /64, share its bucket', async () => {
    const p = await startProducer({ rateLimit: { perSecond: 0.001, burst: 1 }, trustedProxyHops: 1 });
    try {
      const from = (xff: string) => raw(p.base, 'POST', '/events', { ...JSON_TYPE, 'x-forwarded-for': xff }, EVENT);
      for (const [first, ...others] of [
        ['203.0.113.7', '::ffff:203.0.113.7', '203.0.113.7:51000', '[::ffff:203.0.113.7]:443'],
        ['2001:db8:0:1::1', '2001:db8:0:1::2', '[2001:db8:0:1:ffff::3]:443', '2001:db8:0:1::4%eth0'],
      ] as const) {
        assert.equal((await from(first)).status, 202, first);
        for (const other of others) assert.equal((await from(other)).status, 429, `${other} is ${first}`);
      }
      assert.equal((await from('2001:db8:0:2::1')).status, 202, 'the next /64 is another client');
    } finally {
      await p.close();
    }
  });
});

describe('producer rate limit', () => {
  let p: ProducerUnderTest;
  before(async () => (p = await startProducer({ writeKeys: [WRITE_KEY, WRITE_KEY_2], readKeys: [READ_KEY], rateLimit: { perSecond: 0.001, burst: 3 } })));
  after(() => p.close());
  const post = (headers: Record<string, string>) => raw(p.base, 'POST', '/events', { ...JSON_TYPE, ...headers }, EVENT);

  it('answers 429 with Retry-After and RateLimit headers past the burst of one key; other keys are unaffected', async () => {
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await post({ 'x-api-key': WRITE_KEY }));
    assert.deepEqual(
      answers.map((a) => a.status),
      [202, 202, 202, 429],
    );
    assert.deepEqual(
      answers.map((a) => a.headers['ratelimit-remaining']),
      ['2', '1', '0', '0'],
    );
    const refused = answers[3]!;
    assert.equal(refused.headers['ratelimit-limit'], '3');
    assert.ok(Number(refused.headers['retry-after']) >= 1, `Retry-After ${refused.headers['retry-after']}`);
    assert.ok(Number(refused.headers['ratelimit-reset']) >= 1);
    assert.match(String(refused.headers['ratelimit-policy']), /^3;w=\d+$/);
    assert.match(String(refused.headers['content-type']), /application\/json/);
    assert.equal(typeof (JSON.parse(refused.body) as { error: unknown }).error, 'string');
    assert.equal(p.published.length, 3, 'a refused request publishes nothing');
    assert.equal((await post({ 'x-api-key': WRITE_KEY_2 })).status, 202);
  });

  it('a writeKey in the body is limited per key like one in the headers, from any address', async () => {
    const limited = await startProducer({ writeKeys: [WRITE_KEY], rateLimit: { perSecond: 0.001, burst: 3 }, trustedProxyHops: 1 });
    try {
      const statuses: number[] = [];
      const track = JSON.stringify({ event: 'x', userId: 'u', writeKey: WRITE_KEY });
      const batch = JSON.stringify({ batch: [{ type: 'page', userId: 'u' }], writeKey: WRITE_KEY });
      // Each request from another address, so only the key's bucket can run out.
      const requests: [string, string][] = [
        ['/v1/track', track],
        ['/v1/batch', batch],
        ['/v1/t', track],
        ['/v1/b', batch],
      ];
      for (const [i, [path, body]] of requests.entries())
        statuses.push((await raw(limited.base, 'POST', path, { ...JSON_TYPE, 'x-forwarded-for': `198.51.100.${i}` }, body)).status);
      assert.deepEqual(statuses, [200, 200, 200, 429]);
      const refused = await raw(limited.base, 'POST', '/v1/track', { ...JSON_TYPE, 'x-forwarded-for': '198.51.100.9' }, track);
      assert.equal(refused.status, 429);
      assert.ok(Number(refused.headers['retry-after']) >= 1);
      assert.equal(refused.headers['ratelimit-limit'], '3');
      assert.deepEqual(
        (JSON.parse(refused.body) as { errors: { field: string }[] }).errors.map((e) => e.field),
        ['writeKey'],
      );
      // The same bucket as the key in a header.
      assert.equal(
        (await raw(limited.base, 'POST', '/events', { ...JSON_TYPE, 'x-api-key': WRITE_KEY, 'x-forwarded-for': '198.51.100.10' }, EVENT)).status,
        429,
      );
      assert.equal(limited.published.length, 3, 'a refused request publishes nothing');
    } finally {
      await limited.close();
    }
  });

  it('without a valid key the client address is limited, so made-up keys buy no fresh bucket', async () => {
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await post({ 'x-api-key': `made-up-key-${i}-000000000` })).status);
    assert.deepEqual(statuses, [401, 401, 401, 429]);
  });

  it('probes need no key but count against the address, so /ready cannot be used to flood Kafka', async () => {
    const limited = await startProducer({ writeKeys: [WRITE_KEY], rateLimit: { perSecond: 0.001, burst: 2 } });
    try {
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await raw(limited.base, 'GET', '/ready')).status);
      assert.deepEqual(statuses, [200, 200, 429]);
    } finally {
      await limited.close();
    }
  });
});

describe('client address behind proxies', () => {
  it('takes the entry the trusted proxies appended, never what the client wrote further left', () => {
    assert.equal(clientAddress('10.0.0.5', undefined, 0), '10.0.0.5');
    assert.equal(clientAddress('10.0.0.5', '203.0.113.9', 0), '10.0.0.5', 'no proxy trusted: the header is ignored');
    assert.equal(clientAddress('10.0.0.5', 'spoofed, 203.0.113.9', 1), '203.0.113.9');
    assert.equal(clientAddress('10.0.0.5', 'spoofed, 203.0.113.9, 10.0.0.4', 2), '203.0.113.9');
    assert.equal(clientAddress('10.0.0.5', ['spoofed', '203.0.113.9'], 1), '203.0.113.9');
    assert.equal(clientAddress('10.0.0.5', '', 1), '10.0.0.5');
  });

  it('behind one load balancer, each client has its own bucket', async () => {
    const p = await startProducer({ rateLimit: { perSecond: 0.001, burst: 1 }, trustedProxyHops: 1 });
    try {
      const from = (xff: string) => raw(p.base, 'POST', '/events', { ...JSON_TYPE, 'x-forwarded-for': xff }, EVENT);
      assert.equal((await from('203.0.113.1')).status, 202);
      assert.equal((await from('203.0.113.2')).status, 202);
      assert.equal((await from('1.1.1.1, 203.0.113.1')).status, 429, 'a made-up left entry buys no fresh bucket');
    } finally {
      await p.close();
    }
  });
});

describe('GraphQL rate limit', () => {
  it('answers 429 with the same headers, before any storage read', async () => {
    const { app, reads } = graphqlApp({ readKeys: [READ_KEY], rateLimit: { perSecond: 0.001, burst: 2 } });
    try {
      const q = () => app.inject({ method: 'POST', url: '/graphql', headers: { 'x-api-key': READ_KEY }, payload: { query: '{ latestEvents { eventId } }' } });
      const answers = [await q(), await q(), await q()];
      assert.deepEqual(
        answers.map((a) => a.statusCode),
        [200, 200, 429],
      );
      assert.ok(Number(answers[2]!.headers['retry-after']) >= 1);
      assert.equal(answers[2]!.headers['ratelimit-remaining'], '0');
      assert.equal(reads.length, 2);
    } finally {
      await app.close();
    }
  });

  it('config: limits per side with defaults, 0 disables', () => {
    const config = loadConfig({});
    assert.deepEqual(config.http.rateLimit, { write: { perSecond: 500, burst: 1_000 }, read: { perSecond: 50, burst: 100 } });
    assert.equal(loadConfig({ RATE_LIMIT_READ_PER_SECOND: '0' }).http.rateLimit.read.perSecond, 0);
  });
});

/** Sends only the headers, announcing `length` bytes, and waits for whatever comes back. */
function headersOnly(base: string, path: string, length: number, headers: Record<string, string> = {}): Promise<{ status: number; closed: boolean }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let text = '';
    const deadline = setTimeout(() => (socket.destroy(), reject(new Error(`${path}: no answer within 10 s while the body was not sent`))), 10_000);
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => (text += c));
    const done = (closed: boolean) => {
      clearTimeout(deadline);
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), closed });
      socket.destroy();
    };
    socket.on('data', () => {
      if (text.includes('\r\n\r\n')) setTimeout(() => done(socket.readyState !== 'open'), 100);
    });
    socket.on('close', () => done(true));
    socket.on('error', () => undefined);
    const extra = Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    socket.write(`POST ${path} HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n${extra}\r\n`);
  });
}

describe('bodies over the limit are refused before they are read', () => {
  it('producer: an event or a batch whose Content-Length is over its limit gets 413 before the body is sent; past the discard bound the connection closes', async () => {
    const p = await startProducer({ writeKeys: [WRITE_KEY] });
    try {
      // Within the bound the connection stays open for the body, which is thrown away.
      const event = await headersOnly(p.base, '/events', LIMITS.maxEventBytes + 1, { 'x-api-key': WRITE_KEY });
      assert.deepEqual(event, { status: 413, closed: false });
      const batch = await headersOnly(p.base, '/events/batch', LIMITS.maxBatchBytes + 1, { 'x-api-key': WRITE_KEY });
      assert.deepEqual(batch, { status: 413, closed: false });
      const huge = await headersOnly(p.base, '/events', DISCARD_LIMIT_BYTES + 1, { 'x-api-key': WRITE_KEY });
      assert.deepEqual(huge, { status: 413, closed: true });
      const big = await raw(p.base, 'POST', '/events', { ...JSON_TYPE, 'x-api-key': WRITE_KEY }, 'x'.repeat(LIMITS.maxEventBytes + 1));
      assert.equal(big.status, 413);
      assert.deepEqual(
        (JSON.parse(big.body) as { errors: { field: string }[] }).errors.map((e) => e.field),
        ['body'],
      );
      // Without a key, the key is checked first: nothing about the body is revealed.
      assert.equal((await headersOnly(p.base, '/events', 10_000_000)).status, 401);
      assert.equal(p.published.length, 0);
    } finally {
      await p.close();
    }
  });

  it('GraphQL: a Content-Length over the body limit gets 413 without the body', async () => {
    const { app, reads } = graphqlApp({ readKeys: [READ_KEY] });
    try {
      const base = await app.listen({ port: 0, host: '127.0.0.1' });
      const answer = await headersOnly(base, '/graphql', 50 * 1024 * 1024, { 'x-api-key': READ_KEY });
      assert.equal(answer.status, 413);
      assert.deepEqual(reads, []);
    } finally {
      await app.close();
    }
  });
});
