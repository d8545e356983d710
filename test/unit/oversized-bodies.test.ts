/**
 * A body over its limit is answered 413 with its JSON, and a client that sends the whole body
 * before reading the answer, as Node's fetch and browsers do, gets that answer: the server reads
 * and throws away the rest (up to DISCARD_LIMIT_BYTES) instead of closing while the client is
 * still sending, which the client saw as `TypeError: fetch failed` (write EPIPE / reset). The
 * servers run in a child process: in the client's own process the reset never wins the race.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { DISCARD_LIMIT_BYTES } from '../../src/platform/http/body';
import { REPO_ROOT } from '../support/paths';
import { waitFor } from '../support/wait';
import { LIMITS } from '../support/limits';

const MIB = 1024 * 1024;
/** Each case is sent this often: a lost answer is a race, lost about every other time before. */
const ROUNDS = 5;

let child: ChildProcess;
let urls: { producer: string; graphql: string };

before(async () => {
  child = spawn(process.execPath, ['--import', 'tsx', 'test/unit/fixtures/oversizedBodyServers.ts'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  urls = await waitFor('the servers to print their URLs', () => (out.includes('\n') ? (JSON.parse(out) as typeof urls) : undefined), {
    timeoutMs: 60_000,
    intervalMs: 50,
  });
});
after(() => {
  child?.kill('SIGKILL');
});

/** A JSON document of `bytes` bytes (a padded event). */
const bigJson = (bytes: number) => {
  const head = '{"event_type":"x","user_id":"u","payload":{"s":"';
  return Buffer.from(`${head}${' '.repeat(bytes - head.length - 3)}"}}`);
};
/** The same bytes as a stream: fetch sends it chunked, without Content-Length. */
const chunked = (body: Buffer) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < body.length; i += 64 * 1024) controller.enqueue(body.subarray(i, i + 64 * 1024));
      controller.close();
    },
  });

interface Case {
  name: string;
  url: () => string;
  body: () => Buffer | ReadableStream<Uint8Array>;
  headers?: Record<string, string>;
}
const producer = (path: string) => () => `${urls.producer}${path}`;
const five = bigJson(5 * MIB);
const zipped = gzipSync(bigJson(2 * MIB)); // small on the wire, over every limit once decompressed
const cases: Case[] = [];
for (const path of ['/events', '/events/batch', '/v1/track', '/v1/t', '/v1/batch']) {
  cases.push(
    { name: `${path}, 5 MiB with Content-Length`, url: producer(path), body: () => five },
    { name: `${path}, 5 MiB chunked, no Content-Length`, url: producer(path), body: () => chunked(five) },
    { name: `${path}, gzip of ${zipped.length} bytes inflating to 2 MiB`, url: producer(path), body: () => zipped, headers: { 'content-encoding': 'gzip' } },
  );
}
cases.push(
  { name: 'GraphQL /graphql, 5 MiB with Content-Length', url: () => `${urls.graphql}/graphql`, body: () => five },
  { name: 'GraphQL /graphql, 5 MiB chunked', url: () => `${urls.graphql}/graphql`, body: () => chunked(five) },
);

describe("oversized bodies: Node's fetch gets the 413 and its JSON", () => {
  for (const c of cases) {
    it(c.name, async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const res = await fetch(c.url(), {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...c.headers },
          body: c.body(),
          duplex: 'half',
        } as RequestInit);
        assert.equal(res.status, 413, `round ${round}`);
        const json = (await res.json()) as { errors?: { field: string }[] };
        assert.deepEqual(
          json.errors?.map((e) => e.field),
          ['body'],
          JSON.stringify(json),
        );
      }
    });
  }

  it('the connection stays usable after a refused body: the next request on it is answered', async () => {
    const { hostname, port } = new URL(urls.producer);
    const socket = connect(Number(port), hostname);
    let text = '';
    socket.setEncoding('utf8').on('data', (c: string) => (text += c));
    const body = bigJson(LIMITS.maxEventBytes + 1);
    const request = (b: Buffer) => `POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${b.length}\r\n\r\n`;
    socket.write(request(body));
    socket.write(body);
    const small = Buffer.from('{"event_type":"x","user_id":"u"}');
    socket.write(request(small));
    socket.write(small);
    try {
      await waitFor('both answers', () => (text.match(/HTTP\/1\.1 \d{3}/g) ?? []).length === 2, { timeoutMs: 10_000, intervalMs: 20 });
      assert.deepEqual(text.match(/HTTP\/1\.1 \d{3}/g), ['HTTP/1.1 413', 'HTTP/1.1 202']);
    } finally {
      socket.destroy();
    }
  });

  it(`past ${DISCARD_LIMIT_BYTES / MIB} MiB the rest is not read: the connection is closed`, async () => {
    // Chunked, so no Content-Length tells the server in advance; the client keeps sending.
    const { hostname, port } = new URL(urls.producer);
    const socket = connect(Number(port), hostname);
    let text = '';
    let closed = false;
    let sent = 0;
    socket.setEncoding('utf8').on('data', (c: string) => (text += c));
    socket.on('close', () => (closed = true));
    socket.on('error', () => undefined);
    socket.write('POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
    const chunk = Buffer.alloc(MIB, 0x20);
    const pump = () => {
      while (!closed && sent < 4 * DISCARD_LIMIT_BYTES) {
        sent += chunk.length;
        socket.write(`${chunk.length.toString(16)}\r\n`);
        socket.write(chunk);
        if (!socket.write('\r\n')) return void socket.once('drain', pump);
      }
    };
    pump();
    await waitFor('the server to close the connection', () => closed, { timeoutMs: 60_000, intervalMs: 50 });
    assert.match(text, /^HTTP\/1\.1 413/, 'the answer went out first');
    assert.ok(sent < 4 * DISCARD_LIMIT_BYTES, `closed after ${sent} bytes were sent`);
  });
});
