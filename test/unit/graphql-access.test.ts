/**
 * What the GraphQL server gives a client before and beyond its key: every request shape that
 * could pass for a WebSocket upgrade, sockets that never authenticate, protocol abuse (early,
 * repeated or oversized messages, reused ids), the Origin of an upgrade, and cost estimates
 * that must see variables as execution does. Real sockets on loopback (the upgrade path only
 * exists there), fakes behind the reader.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import WebSocket from 'ws';
import { buildGraphqlApp, GRAPHQL_LIMIT_DEFAULTS, type GraphqlAppDeps } from '../../src/graphql/app';
import type { CountsReader } from '../../src/store/counts/reader';
import { createLiveFeed, type LiveFeed } from '../../src/graphql/liveFeed';
import { originAllowed } from '../../src/graphql/subscriptionAccess';
import type { AccessOptions } from '../../src/platform/http/access';
import { waitFor } from '../support/wait';
import { READ_KEY, recordingReader, WRITE_KEY } from '../support/httpFixtures';

const WAIT = { timeoutMs: 10_000, intervalMs: 10 };
const QUERY = encodeURIComponent('{ latestEvents { userId payload } }');

interface Server {
  app: FastifyInstance;
  base: string;
  ws: string;
  port: number;
  reads: string[];
  feed: LiveFeed;
}

async function start(access: AccessOptions | undefined, more: Partial<GraphqlAppDeps> = {}, limits: Partial<GraphqlAppDeps['limits']> = {}): Promise<Server> {
  const { reader, reads } = recordingReader();
  const feed = createLiveFeed({ queueSize: 10, maxPerPrincipal: 3 });
  const app = buildGraphqlApp({
    reader,
    limits: { defaultLimit: 10, maxLimit: 100, ...GRAPHQL_LIMIT_DEFAULTS, ...limits },
    access,
    live: { feed },
    ...more,
  });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, base, ws: `${base.replace('http', 'ws')}/graphql`, port: Number(new URL(base).port), reads, feed };
}

/** One request written byte for byte on a fresh TCP connection; resolves with what came back by the time the server closed it or `settled` said enough. */
function exchange(port: number, request: string, settled = (text: string) => /\r\n\r\n/.test(text)): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to ${JSON.stringify(request.split('\r\n')[0])} within 10 s (got ${JSON.stringify(text)})`));
    }, 10_000);
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(text);
    };
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      // A body follows the headers of a refusal; wait for it (or the close) before deciding.
      if (settled(text) && (!/content-length: (\d+)/i.test(text) || text.split('\r\n\r\n')[1]!.length >= Number(/content-length: (\d+)/i.exec(text)![1])))
        done();
    });
    socket.on('error', () => undefined);
    socket.on('close', done);
    socket.write(request);
  });
}

interface Peer {
  socket: WebSocket;
  messages: { type: string; id?: string; payload?: unknown }[];
  /** Resolves with the HTTP status of a refused upgrade, or 101. */
  opened: Promise<number>;
  refusal: Promise<string>;
  closed: Promise<{ code: number; reason: string }>;
  send(message: unknown): void;
}

function peer(url: string, options: { protocols?: string | string[]; headers?: Record<string, string>; origin?: string } = {}): Peer {
  const socket = new WebSocket(url, options.protocols ?? 'graphql-transport-ws', { headers: options.headers, origin: options.origin });
  const messages: Peer['messages'] = [];
  let body = '';
  let setRefusal: (text: string) => void = () => undefined;
  const refusal = new Promise<string>((resolve) => (setRefusal = resolve));
  const opened = new Promise<number>((resolve) => {
    socket.on('open', () => resolve(101));
    socket.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => setRefusal(body));
    });
  });
  socket.on('error', () => undefined);
  socket.on('message', (data) => messages.push(JSON.parse(String(data)) as Peer['messages'][number]));
  // Sent in order, once open.
  const send = (m: unknown) => {
    const data = typeof m === 'string' ? m : JSON.stringify(m);
    if (socket.readyState === WebSocket.CONNECTING) socket.once('open', () => socket.send(data));
    else socket.send(data);
  };
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  return { socket, messages, opened, refusal, closed, send };
}

const init = (key = READ_KEY) => ({ type: 'connection_init', payload: { authorization: `Bearer ${key}` } });
const subscribe = (id: string, args = '(userId: "nobody")') => ({
  type: 'subscribe',
  id,
  payload: { query: `subscription { eventStored${args} { eventId } }` },
});

/** Every socket of earlier tests closed on the server side too, and so released its connection slot. */
const drained = (server: Server) => waitFor('no socket open on the server', () => server.app.websocketServer.clients.size === 0, WAIT);

async function acked(p: Peer): Promise<void> {
  assert.equal(await p.opened, 101);
  await waitFor('connection_ack', () => p.messages.some((m) => m.type === 'connection_ack'), WAIT);
}

void describe('only a real WebSocket upgrade defers the read-key check', () => {
  let server: Server;
  before(async () => (server = await start({ readKeys: [READ_KEY], writeKeys: [WRITE_KEY] })));
  after(() => server.app.close());

  const headerSets: Record<string, string>[] = [
    { upgrade: 'websocket' },
    { upgrade: 'WebSocket' },
    { upgrade: ' websocket ' },
    { upgrade: 'websocket, h2c' },
    { upgrade: 'h2c' },
    { connection: 'Upgrade' },
    { connection: 'upgrade', upgrade: 'websocket' },
    { connection: 'keep-alive, Upgrade', upgrade: 'websocket' },
    { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' },
    { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-protocol': 'graphql-transport-ws' },
  ];
  const urls = [`/graphql?query=${QUERY}`, `/graphql/?query=${QUERY}`, `/graphql?x&query=${QUERY}`, `/%67raphql?query=${QUERY}`, '/metrics'];

  void it('in-process: every method, Upgrade/Connection spelling and route needs the key (nothing is read)', async () => {
    for (const method of ['GET', 'POST', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'PATCH'] as const) {
      for (const headers of headerSets) {
        for (const url of urls) {
          const payload = method === 'POST' ? { query: '{ latestEvents { userId payload } }' } : undefined;
          const res = await server.app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
          assert.equal(res.statusCode, 401, `${method} ${url} ${JSON.stringify(headers)}: ${res.body}`);
        }
      }
    }
    assert.deepEqual(server.reads, []);
  });

  void it('on a socket: an upgrade that is not a GET needs the key; HEAD with Connection: Upgrade reads nothing', async () => {
    const handshake =
      'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n';
    for (const method of ['POST', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']) {
      for (const url of [`/graphql?query=${QUERY}`, '/metrics']) {
        const body = method === 'POST' ? JSON.stringify({ query: '{ latestEvents { userId payload } }' }) : '';
        const answer = await exchange(
          server.port,
          `${method} ${url} HTTP/1.1\r\nHost: 127.0.0.1\r\n${handshake}Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
        );
        assert.match(answer, /^HTTP\/1\.1 401 /, `${method} ${url}: ${answer}`);
        assert.doesNotMatch(answer, /latestEvents/);
      }
    }
    // A GET upgrade without the WebSocket handshake's other headers is no WebSocket either.
    const bare = await exchange(server.port, `GET /graphql?query=${QUERY} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`);
    assert.doesNotMatch(bare, /^HTTP\/1\.1 (200|101) /, bare);
    assert.doesNotMatch(bare, /"data"/);
    assert.deepEqual(server.reads, []);
  });

  void it('a GET upgrade without a key becomes a socket that gets nothing until its connection_init names a read key', async () => {
    const p = peer(`${server.ws}?query=${QUERY}`);
    assert.equal(await p.opened, 101);
    p.send({ type: 'connection_init', payload: {} });
    const closed = await p.closed;
    assert.equal(closed.code, 4401);
    assert.deepEqual(p.messages, []);
    assert.deepEqual(server.reads, []);
  });
});

void describe('sockets before connection_init', () => {
  let server: Server;
  before(async () => (server = await start({ readKeys: [READ_KEY] }, {}, { connectionInitTimeoutMs: 300, maxConnectionsPerKey: 3 })));
  after(() => server.app.close());

  void it('are closed with 4408 when connection_init does not come in time', async () => {
    const p = peer(server.ws);
    assert.equal(await p.opened, 101);
    assert.deepEqual(await p.closed, { code: 4408, reason: 'Connection initialisation timeout' });
    assert.deepEqual(p.messages, []);
  });

  void it('are answered nothing but connection_init: ping, subscribe, complete close with 4401; not JSON, with 4400', async () => {
    for (const [message, code] of [
      [{ type: 'ping' }, 4401],
      [subscribe('1'), 4401],
      [{ type: 'complete', id: '1' }, 4401],
      ['{"type":', 4400],
      [{ type: 'connection_init', payload: 'key' }, 4400],
      [[1, 2], 4400],
    ] as const) {
      const p = peer(server.ws);
      assert.equal(await p.opened, 101);
      p.send(message);
      assert.equal((await p.closed).code, code, JSON.stringify(message));
      assert.deepEqual(p.messages, [], `nothing answered to ${JSON.stringify(message)}`);
    }
  });

  void it('may not send a frame over 64 KiB (1009), before or after connection_init', async () => {
    const early = peer(server.ws);
    assert.equal(await early.opened, 101);
    early.send(`[${'['.repeat(70_000)}`);
    assert.equal((await early.closed).code, 1009);
    const late = peer(server.ws);
    late.send(init());
    await acked(late);
    late.send({ type: 'ping', payload: { pad: 'x'.repeat(70_000) } });
    assert.equal((await late.closed).code, 1009);
  });

  void it('count against their address: one over GRAPHQL_MAX_CONNECTIONS_PER_KEY is refused with 429 until one closes', async () => {
    await drained(server);
    const waiting = [peer(server.ws), peer(server.ws), peer(server.ws)];
    for (const p of waiting) assert.equal(await p.opened, 101);
    const fourth = peer(server.ws);
    assert.equal(await fourth.opened, 429);
    const body = JSON.parse(await fourth.refusal) as { errors: { field: string; message: string }[] };
    assert.equal(body.errors[0]!.field, 'client');
    assert.match(body.errors[0]!.message, /at most 3 WebSocket connections open at once per client address/);
    waiting[0]!.socket.terminate();
    await waitFor(
      'a slot free again',
      async () => {
        const again = peer(server.ws);
        const status = await again.opened;
        again.socket.terminate();
        return status === 101;
      },
      WAIT,
    );
    for (const p of waiting) p.socket.terminate();
  });
});

void describe('sockets after connection_init', () => {
  let server: Server;
  before(
    async () =>
      (server = await start({ readKeys: [READ_KEY], rateLimit: { perSecond: 1, burst: 15 } }, {}, { connectionInitTimeoutMs: 2_000, maxConnectionsPerKey: 2 })),
  );
  after(() => server.app.close());

  void it('a second connection_init closes with 4429; the socket is not acknowledged twice', async () => {
    const p = peer(server.ws);
    p.send(init());
    await acked(p);
    p.send(init());
    assert.deepEqual(await p.closed, { code: 4429, reason: 'Too many initialisation requests' });
    assert.equal(p.messages.filter((m) => m.type === 'connection_ack').length, 1);
  });

  void it('count every message against the key rate limit (4429 when it runs out) and cap sockets per key', async () => {
    await drained(server);
    const first = peer(server.ws);
    first.send(init());
    await acked(first);
    const second = peer(server.ws);
    second.send(init());
    await acked(second);
    const third = peer(server.ws);
    assert.equal(await third.opened, 101, 'before connection_init a socket counts against its address');
    third.send(init());
    const refused = await third.closed;
    assert.equal(refused.code, 4429);
    assert.match(refused.reason, /too many connections: at most 2 open at once per key/);
    for (let i = 0; i < 30; i++) first.send({ type: 'ping' });
    const closed = await first.closed;
    assert.equal(closed.code, 4429);
    assert.match(closed.reason, /Too many messages/);
    assert.ok(first.messages.filter((m) => m.type === 'pong').length < 30, 'not every ping was answered');
    second.socket.terminate();
  });
});

void describe('subscription ids', () => {
  let server: Server;
  before(async () => (server = await start({ readKeys: [READ_KEY] })));
  after(() => server.app.close());
  const open = () => server.feed.count();

  void it('a repeated id closes the socket with 4409, and its subscriptions end with it (the issue: x three times, twice)', async () => {
    for (let round = 0; round < 2; round++) {
      const p = peer(server.ws);
      p.send(init());
      await acked(p);
      p.send(subscribe('x'));
      await waitFor('one subscription', () => open() === 1, WAIT);
      p.send(subscribe('x'));
      p.send(subscribe('x'));
      assert.deepEqual(await p.closed, { code: 4409, reason: 'Subscriber for x already exists' });
      await waitFor('no subscription left', () => open() === 0, WAIT);
    }
    // The key can still open its full cap of 3.
    const p = peer(server.ws);
    p.send(init());
    await acked(p);
    for (const id of ['a', 'b', 'c']) p.send(subscribe(id));
    await waitFor('3 subscriptions', () => open() === 3, WAIT);
    p.socket.terminate();
    await waitFor('freed when the socket drops', () => open() === 0, WAIT);
  });

  void it('a complete sent before its subscription started still ends it; the id is reusable once the server completed it', async () => {
    const p = peer(server.ws);
    p.send(init());
    await acked(p);
    for (let i = 0; i < 5; i++) {
      p.send(subscribe('r'));
      p.send({ type: 'complete', id: 'r' });
      await waitFor(`round ${i}: the server completed r`, () => p.messages.filter((m) => m.type === 'complete' && m.id === 'r').length === i + 1, WAIT);
      assert.equal(open(), 0);
    }
    p.send(subscribe('r'));
    await waitFor('r open again', () => open() === 1, WAIT);
    p.send({ type: 'complete', id: 'r' });
    await waitFor('r closed', () => open() === 0, WAIT);
    p.socket.close();
    await p.closed;
  });

  void it('a failed subscribe frees its id; a frame that is no graphql-ws message closes with 4400', async () => {
    const p = peer(server.ws);
    p.send(init());
    await acked(p);
    p.send({ type: 'subscribe', id: 'v', payload: { query: 'subscription { eventStored { nope } }' } });
    await waitFor('error for v', () => p.messages.some((m) => m.type === 'error' && m.id === 'v'), WAIT);
    p.send({ type: 'subscribe', id: 'v', payload: { query: 'subscription A { eventStored { eventId } }', operationName: 'B' } });
    await waitFor('second error for v', () => p.messages.filter((m) => m.type === 'error' && m.id === 'v').length === 2, WAIT);
    const errors = p.messages.filter((m) => m.type === 'error').map((m) => JSON.stringify(m.payload));
    assert.match(errors[1]!, /operationName: the document has no operation named \\"B\\"/);
    p.send({ type: 'subscribe', id: 'v', payload: { query: 'subscription {' } });
    await waitFor('syntax error for v', () => p.messages.filter((m) => m.type === 'error' && m.id === 'v').length === 3, WAIT);
    assert.doesNotMatch(JSON.stringify(p.messages), /Cannot read properties|is not iterable/);
    p.send({ type: 'subscribe', id: 'w', payload: { query: 5 } });
    assert.equal((await p.closed).code, 4400);
    assert.equal(open(), 0);
  });
});

void describe('the Origin of an upgrade (browsers apply no CORS to WebSockets)', () => {
  void it('with keys off: same origin and no Origin may subscribe; another site, "null" and look-alikes get 403 naming origin', async () => {
    const server = await start(undefined);
    try {
      const own = `http://127.0.0.1:${server.port}`;
      // Under TLS termination the server sees http while the page is https: the scheme is not compared.
      for (const origin of [own, `https://127.0.0.1:${server.port}`, `http://localhost:${server.port}`, undefined]) {
        const headers: Record<string, string> = origin === `http://localhost:${server.port}` ? { host: `localhost:${server.port}` } : {};
        const p = peer(server.ws, { origin, headers });
        assert.equal(await p.opened, 101, String(origin));
        p.socket.terminate();
      }
      for (const origin of ['https://evil.example', 'null', `http://127.0.0.1:${server.port + 1}`, `http://127.0.0.1.evil.example:${server.port}`]) {
        const p = peer(server.ws, { origin });
        assert.equal(await p.opened, 403, origin);
        const body = JSON.parse(await p.refusal) as { errors: { field: string }[] };
        assert.equal(body.errors[0]!.field, 'origin');
      }
    } finally {
      await server.app.close();
    }
  });

  void it('GRAPHQL_CORS_ORIGINS adds origins; * allows any', async () => {
    const listed = await start({ corsOrigins: ['https://app.example'] });
    const any = await start({ corsOrigins: ['*'] });
    try {
      assert.equal(await peer(listed.ws, { origin: 'https://app.example' }).opened, 101);
      assert.equal(await peer(listed.ws, { origin: 'https://other.example' }).opened, 403);
      assert.equal(await peer(any.ws, { origin: 'https://other.example' }).opened, 101);
    } finally {
      await listed.app.close();
      await any.app.close();
    }
  });

  void it('compares scheme, host and port as the browser does', () => {
    assert.equal(originAllowed('https://api.example', 'api.example', []), true);
    assert.equal(originAllowed('https://api.example', 'api.example:443', []), true);
    assert.equal(originAllowed('https://API.example', 'api.example', []), true);
    assert.equal(originAllowed('https://api.example:8443', 'api.example', []), false);
    assert.equal(originAllowed('https://api.example/', 'api.example', []), false, 'an Origin has no path');
    assert.equal(originAllowed('ws://api.example', 'api.example', []), false);
    assert.equal(originAllowed('https://api.example', undefined, []), false);
    assert.equal(originAllowed('null', 'api.example', []), false);
    assert.equal(originAllowed(undefined, 'api.example', []), true);
  });
});

void describe('subprotocols and upgrades elsewhere', () => {
  void it('an upgrade that does not offer graphql-transport-ws gets 400 naming the header, and nothing is printed', async () => {
    const server = await start(undefined);
    const printed: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      printed.push(String(chunk));
      return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stdout.write;
    try {
      for (const protocols of ['graphql-ws', 'chat', ['chat', 'soap']]) {
        const p = peer(server.ws, { protocols });
        assert.equal(await p.opened, 400, JSON.stringify(protocols));
        assert.equal((JSON.parse(await p.refusal) as { errors: { field: string }[] }).errors[0]!.field, 'sec-websocket-protocol');
      }
      const none = new WebSocket(server.ws);
      none.on('error', () => undefined);
      assert.equal(await new Promise((resolve) => none.on('unexpected-response', (_q, res) => resolve(res.statusCode))), 400);
      // Offered among others, it is the one chosen.
      const mixed = peer(server.ws, { protocols: ['chat', 'graphql-transport-ws'] });
      assert.equal(await mixed.opened, 101);
      assert.equal(mixed.socket.protocol, 'graphql-transport-ws');
      mixed.socket.terminate();
      const elsewhere = peer(server.ws.replace('/graphql', '/health'));
      assert.equal(await elsewhere.opened, 404);
    } finally {
      process.stdout.write = write;
      await server.app.close();
    }
    assert.deepEqual(
      printed.filter((line) => /websocket protocol/i.test(line)),
      [],
    );
  });
});

void describe('queries that are no GraphQL text', () => {
  void it('{"query": "5"} and a JSON syntax tree get the parser error, 400, never an internal one', async () => {
    const server = await start(undefined);
    try {
      const tree = JSON.stringify({
        kind: 'Document',
        definitions: [{ kind: 'OperationDefinition', operation: 'query', selectionSet: { kind: 'SelectionSet', selections: [] } }],
      });
      for (const query of ['5', '"x"', 'null', '[]', tree]) {
        for (const res of [
          await server.app.inject({ method: 'POST', url: '/graphql', payload: { query } }),
          await server.app.inject({ method: 'GET', url: `/graphql?query=${encodeURIComponent(query)}` }),
        ]) {
          assert.equal(res.statusCode, 400, `${query}: ${res.body}`);
          const body = res.json<{ errors: { message: string; extensions?: { code?: string } }[] }>();
          assert.match(body.errors[0]!.message, /^Syntax Error/, query);
          assert.equal(body.errors[0]!.extensions?.code, 'GRAPHQL_PARSE_FAILED');
        }
      }
      assert.deepEqual(server.reads, []);
    } finally {
      await server.app.close();
    }
  });
});

void describe('cost estimates see variables as execution does', () => {
  let server: Server;
  const counts = { counts: async () => [] } as unknown as CountsReader;
  before(async () => (server = await start(undefined, { counts })));
  after(() => server.app.close());
  const post = (query: string, variables?: Record<string, unknown>) =>
    server.app.inject({ method: 'POST', url: '/graphql', payload: { query, ...(variables === undefined ? {} : { variables }) } });
  const aliased = (field: string) => Array.from({ length: 30 }, (_, i) => `a${i}: ${field}`).join(' ');
  const latest = aliased('latestEvents(limit: $n) { eventId eventType userId timestamp receivedAt payload cursor }');

  void it('a variable default counts as the value it gives, absent or in a fragment', async () => {
    for (const [query, variables] of [
      [`query($n: Int = 100) { ${latest} }`, undefined],
      [`query($n: Int = 100) { ${latest} }`, {}],
      [`query($n: Int) { ${latest} }`, { n: 100 }],
      [`query($n: Int = 100) { ...F } fragment F on Query { ${latest} }`, {}],
      [`query($n: Int = 100, $yes: Boolean = true) { ... @include(if: $yes) { ${latest} } }`, {}],
    ] as const) {
      const res = await post(query, variables);
      assert.equal(res.statusCode, 400, `${query.slice(0, 60)} ${JSON.stringify(variables)}: ${res.body.slice(0, 200)}`);
      assert.match(res.body, /estimated cost reaches \d+, over the limit of 100000/);
    }
    assert.deepEqual(server.reads, []);
  });

  void it('an explicit null, or a small value, overrides the default and runs', async () => {
    for (const variables of [{ n: null }, { n: 2 }]) {
      const res = await post(`query($n: Int = 100) { ${latest} }`, variables);
      assert.equal(res.statusCode, 200, `${JSON.stringify(variables)}: ${res.body.slice(0, 300)}`);
    }
    assert.equal(server.reads.length, 60);
    server.reads.length = 0;
  });

  void it('eventCounts: an interval default (or an enum given as a variable) counts its buckets', async () => {
    const field = 'eventCounts(from: $from, to: $to, interval: $i) { start count }';
    const range = { from: '2026-11-01T00:00:00Z', to: '2026-11-02T09:00:00Z' }; // 1 980 minutes
    for (const [query, variables] of [
      [`query($from: DateTime!, $to: DateTime!, $i: CountInterval = MINUTE) { ${aliased(field)} }`, range],
      [`query($from: DateTime!, $to: DateTime!, $i: CountInterval) { ${aliased(field)} }`, { ...range, i: 'MINUTE' }],
      [`query($from: DateTime! = "${range.from}", $to: DateTime! = "${range.to}", $i: CountInterval = MINUTE) { ${aliased(field)} }`, {}],
    ] as const) {
      const res = await post(query, variables);
      assert.equal(res.statusCode, 400, `${JSON.stringify(variables)}: ${res.body.slice(0, 300)}`);
      assert.match(res.body, /QUERY_TOO_EXPENSIVE/);
    }
    const hourly = await post(`query($from: DateTime!, $to: DateTime!, $i: CountInterval = HOUR) { ${aliased(field)} }`, range);
    assert.equal(hourly.statusCode, 200, hourly.body.slice(0, 300));
  });
});
