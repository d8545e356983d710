/**
 * The GraphQL process's WebSocket rules as configured through its environment, against real
 * DynamoDB: no Upgrade header reads without a key, a socket that never sends connection_init is
 * closed at GRAPHQL_CONNECTION_INIT_TIMEOUT_MS, another site's page cannot open one, an address
 * is capped at GRAPHQL_MAX_CONNECTIONS_PER_KEY, and nothing but JSON reaches the log.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, it } from 'node:test';
import WebSocket from 'ws';
import { platformPerSuite, startPlatform } from '../support/platform';
import { waitFor } from '../support/wait';
import { READ_KEY, WRITE_KEY } from '../support/httpFixtures';
import { HANG_TIMEOUT_MS } from '../support/timeouts';

const QUERY = encodeURIComponent('{ latestEvents(limit: 1) { eventId userId payload } }');

/** One request on a connection of its own: one whose Upgrade the server refused is closed after the answer. */
function plain(base: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, headers, agent: false, timeout: 10_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within 10 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

function open(url: string, options: { protocols?: string; origin?: string } = {}) {
  const socket = new WebSocket(url, options.protocols ?? 'graphql-transport-ws', { origin: options.origin });
  socket.on('error', () => undefined);
  const status = new Promise<number>((resolve) => {
    socket.on('open', () => resolve(101));
    socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
  });
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  return { socket, status, closed };
}

describe('GraphQL WebSockets on the running server', { timeout: HANG_TIMEOUT_MS }, () => {
  const platform = platformPerSuite(() =>
    startPlatform({
      bridges: 0,
      workers: 0,
      env: { WRITE_KEYS: WRITE_KEY, READ_KEYS: READ_KEY, GRAPHQL_CONNECTION_INIT_TIMEOUT_MS: '500', GRAPHQL_MAX_CONNECTIONS_PER_KEY: '2' },
    }),
  );
  const ws = () => `${platform().graphqlUrl.replace('http', 'ws')}/graphql`;

  it('an Upgrade or Connection header on a plain request still needs the read key', async () => {
    const p = platform();
    for (const [method, headers] of [
      ['GET', { upgrade: 'websocket' }],
      ['GET', { upgrade: 'WebSocket', connection: 'keep-alive' }],
      ['HEAD', { upgrade: 'websocket', connection: 'Upgrade' }],
    ] as const) {
      const res = await plain(p.graphqlUrl, method, `/graphql?query=${QUERY}`, headers);
      assert.equal(res.status, 401, `${method} ${JSON.stringify(headers)}: ${res.body}`);
    }
    const post = await plain(
      p.graphqlUrl,
      'POST',
      '/graphql',
      { upgrade: 'WebSocket', 'content-type': 'application/json' },
      JSON.stringify({ query: decodeURIComponent(QUERY) }),
    );
    assert.equal(post.status, 401, post.body);
    const keyed = await plain(p.graphqlUrl, 'GET', `/graphql?query=${QUERY}`, { upgrade: 'websocket', 'x-api-key': READ_KEY });
    assert.equal(keyed.status, 200, keyed.body);
  });

  it('a socket without connection_init is closed with 4408; two wait at most per address', async () => {
    const first = open(ws());
    const second = open(ws());
    assert.equal(await first.status, 101);
    assert.equal(await second.status, 101);
    assert.equal(await open(ws()).status, 429);
    assert.equal(await first.closed, 4408);
    assert.equal(await second.closed, 4408);
    await waitFor(
      'the address may connect again',
      async () => {
        const again = open(ws());
        const status = await again.status;
        again.socket.terminate();
        return status === 101;
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
  });

  it("another site's page is refused at the upgrade; an unknown subprotocol is refused without a plain-text log line", async () => {
    const p = platform();
    assert.equal(await open(ws(), { origin: 'https://evil.example' }).status, 403);
    assert.equal(await open(ws(), { origin: p.graphqlUrl }).status, 101);
    assert.equal(await open(ws(), { protocols: 'graphql-ws' }).status, 400);
    const lines = p.output('graphql').filter((line) => line.trim() !== '');
    assert.deepEqual(
      lines.filter((line) => /websocket protocol/i.test(line)),
      [],
    );
  });
});
