/**
 * The body surface of every producer route (/events, /events/batch, /v1/track, /v1/batch), all
 * read by one reader (src/producer/requestBody.ts): encodings, Content-Type variants, empty and
 * non-UTF-8 bodies, Content-Length lies and clients that stop mid-body. Each answer is the
 * route's own JSON shape naming the field, nothing bad is published, and the server keeps serving.
 * (Oversized bodies through Node's fetch: oversized-bodies.test.ts.)
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { startProducer, type ProducerUnderTest } from '../support/httpFixtures';

const EVENT = JSON.stringify({ event_type: 'page_view', user_id: 'u-1', payload: { page: '/home' } });
const BODIES: Record<string, string> = {
  '/events': EVENT,
  '/events/batch': JSON.stringify({ events: [JSON.parse(EVENT) as unknown] }),
  '/v1/track': JSON.stringify({ event: 'clicked', userId: 'u-1' }),
  '/v1/batch': JSON.stringify({ batch: [{ type: 'track', event: 'clicked', userId: 'u-1' }] }),
};
const ROUTES = Object.keys(BODIES);
const OK: Record<string, number> = { '/events': 202, '/events/batch': 202, '/v1/track': 200, '/v1/batch': 200 };
const isSegment = (path: string) => path.startsWith('/v1/');

let p: ProducerUnderTest;
before(async () => (p = await startProducer()));
after(() => p.close());
beforeEach(() => (p.published.length = 0));

interface Answer {
  status: number;
  json: { error?: string; message?: string; success?: boolean; errors?: { field: string; message: string }[] };
}

async function post(path: string, body: RequestInit['body'], headers: Record<string, string> = { 'content-type': 'application/json' }): Promise<Answer> {
  const res = await fetch(`${p.base}${path}`, { method: 'POST', headers, body, duplex: 'half' } as RequestInit);
  const text = await res.text();
  assert.match(res.headers.get('content-type') ?? '', /application\/json/, `${path}: a JSON answer (${res.status}: ${text.slice(0, 200)})`);
  return { status: res.status, json: JSON.parse(text) as Answer['json'] };
}

/** A refusal in the route's shape: /events `{"error", "errors"}`, /v1 `{"success": false, "message", "errors"}`. */
function assertRefused(path: string, answer: Answer, status: number, field: string, message?: RegExp): void {
  const what = `${path}: ${JSON.stringify(answer.json)}`;
  assert.equal(answer.status, status, what);
  if (isSegment(path)) {
    assert.equal(answer.json.success, false, what);
    assert.equal(typeof answer.json.message, 'string', what);
  } else assert.equal(typeof answer.json.error, 'string', what);
  assert.deepEqual(
    answer.json.errors?.map((e) => e.field),
    [field],
    what,
  );
  if (message) assert.match(answer.json.errors?.[0]?.message ?? '', message, what);
  assert.equal(p.published.length, 0, `${path}: nothing published`);
}

/** Raw bytes on a fresh connection; resolves with everything the server sent until the connection closed. */
function rawExchange(bytes: string | Buffer, { endWrite = false, destroyAfterWrite = false } = {}): Promise<string> {
  const { hostname, port } = new URL(p.base);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => (received += c));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(received));
    socket.write(bytes, () => {
      if (destroyAfterWrite) socket.destroy();
      else if (endWrite) socket.end();
    });
    // Every case here gets an answer or a close from the server well before this.
    setTimeout(() => socket.destroy(), 15_000).unref();
  });
}

const statusOf = (response: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);
const bodyOf = (response: string) => response.slice(response.indexOf('\r\n\r\n') + 4);

describe('producer bodies: encodings', () => {
  for (const path of ROUTES) {
    void it(`${path}: gzip, x-gzip, deflate, br and identity (any case, padded) are read`, async () => {
      const body = BODIES[path]!;
      for (const [encoding, data] of [
        ['gzip', gzipSync(body)],
        ['x-gzip', gzipSync(body)],
        [' GZIP ', gzipSync(body)],
        ['deflate', deflateSync(body)],
        ['br', brotliCompressSync(body)],
        ['identity', Buffer.from(body)],
      ] as const) {
        p.published.length = 0;
        const answer = await post(path, data, { 'content-type': 'application/json', 'content-encoding': encoding });
        assert.equal(answer.status, OK[path], `${path} ${encoding}: ${JSON.stringify(answer.json)}`);
        assert.equal(p.published.length, 1, `${path} ${encoding}`);
      }
    });

    void it(`${path}: an unknown or stacked Content-Encoding is 415 naming content-encoding`, async () => {
      for (const encoding of ['compress', 'zstd', 'gzip, br', 'gzip;q=1']) {
        const answer = await post(path, gzipSync(BODIES[path]!), { 'content-type': 'application/json', 'content-encoding': encoding });
        assertRefused(path, answer, 415, 'content-encoding', /supported|Content-Encoding/);
      }
    });

    void it(`${path}: data that is not what its Content-Encoding says is 400 naming body`, async () => {
      for (const encoding of ['gzip', 'deflate', 'br']) {
        assertRefused(path, await post(path, BODIES[path], { 'content-type': 'application/json', 'content-encoding': encoding }), 400, 'body', /not valid/);
      }
      // A gzip stream cut short.
      const cut = gzipSync(BODIES[path]!).subarray(0, 12);
      assertRefused(path, await post(path, cut, { 'content-type': 'application/json', 'content-encoding': 'gzip' }), 400, 'body');
    });
  }
});

describe('producer bodies: Content-Type and charset', () => {
  for (const path of ['/events', '/events/batch']) {
    void it(`${path}: JSON types with any charset or case are taken; others, and none, are 415 naming content-type`, async () => {
      for (const type of [
        'application/json',
        'application/json;charset=UTF-8',
        'application/json; charset="utf-8"',
        'APPLICATION/JSON',
        'application/vnd.api+json',
      ]) {
        p.published.length = 0;
        assert.equal((await post(path, BODIES[path], { 'content-type': type })).status, 202, type);
      }
      p.published.length = 0;
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonx', 'multipart/form-data; boundary=x', 'json']) {
        assertRefused(
          path,
          await post(path, BODIES[path], { 'content-type': type }),
          415,
          'content-type',
          new RegExp(`got ${type.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
        );
      }
      // fetch adds text/plain to a string body without a type; a Buffer goes without one.
      assertRefused(path, await post(path, Buffer.from(BODIES[path]!), {}), 415, 'content-type', /got nothing/);
    });

    void it(`${path}: the body is read before its type is judged, so a size or encoding problem is answered first`, async () => {
      assertRefused(path, await post(path, BODIES[path], { 'content-type': 'text/xml', 'content-encoding': 'zstd' }), 415, 'content-encoding');
      assertRefused(path, await post(path, BODIES[path], { 'content-type': 'text/xml', 'content-encoding': 'gzip' }), 400, 'body');
    });
  }

  for (const path of ['/v1/track', '/v1/batch']) {
    void it(`${path}: JSON, text/plain (any charset) and no Content-Type are taken; others are 415 naming content-type`, async () => {
      for (const headers of [
        { 'content-type': 'application/json; charset=utf-8' },
        { 'content-type': 'text/plain;charset=UTF-8' },
        { 'content-type': 'Text/Plain' },
        {},
      ] as Record<string, string>[]) {
        p.published.length = 0;
        assert.equal((await post(path, Buffer.from(BODIES[path]!), headers)).status, 200, JSON.stringify(headers));
      }
      p.published.length = 0;
      for (const type of ['application/xml', 'text/html', 'application/x-www-form-urlencoded']) {
        assertRefused(path, await post(path, BODIES[path], { 'content-type': type }), 415, 'content-type', new RegExp(`or text/plain, got ${type}`));
      }
    });

    void it(`${path}: a wrong type is refused before the body is read, whatever its encoding`, async () => {
      assertRefused(path, await post(path, BODIES[path], { 'content-type': 'text/xml', 'content-encoding': 'zstd' }), 415, 'content-type');
    });
  }
});

describe('producer bodies: empty and not UTF-8', () => {
  void it('an empty or blank body is 400 naming body on every route', async () => {
    for (const path of ROUTES) {
      for (const body of ['', '   \n\t']) {
        const answer = await post(path, body, { 'content-type': 'application/json' });
        assertRefused(path, answer, 400, 'body');
      }
    }
  });

  void it('a body that is not UTF-8 is 400 naming body on every route, never stored with its bytes replaced', async () => {
    for (const path of ROUTES) {
      p.published.length = 0;
      const json = BODIES[path]!;
      const at = json.indexOf('u-1') + 1; // inside a string value
      for (const bad of [
        Buffer.from([0xff]), // never valid
        Buffer.from([0xc3]), // a lead byte alone
        Buffer.from([0xed, 0xa0, 0x80]), // a UTF-16 surrogate
        Buffer.from([0xc0, 0xaf]), // an overlong '/'
        Buffer.from('é', 'latin1'), // Latin-1 sent as if UTF-8
      ]) {
        const body = Buffer.concat([Buffer.from(json.slice(0, at)), bad, Buffer.from(json.slice(at))]);
        assertRefused(path, await post(path, body), 400, 'body', /UTF-8/);
        assertRefused(path, await post(path, gzipSync(body), { 'content-type': 'application/json', 'content-encoding': 'gzip' }), 400, 'body', /UTF-8/);
      }
      // Multi-byte characters that are valid are kept as sent.
      p.published.length = 0;
      const accented = json.replace('u-1', 'u-é😀');
      assert.equal((await post(path, Buffer.from(accented))).status, OK[path]);
      assert.match(String(p.published[0]?.value), /u-é😀/);
    }
  });
});

describe('producer bodies: Content-Length lies, chunked bodies, clients that stop', () => {
  const head = (path: string, more: string) => `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${more}\r\n`;

  void it('chunked without Content-Length, in small chunks: read whole on every route', async () => {
    for (const path of ROUTES) {
      p.published.length = 0;
      const bytes = new TextEncoder().encode(BODIES[path]);
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          for (let i = 0; i < bytes.length; i += 7) c.enqueue(bytes.subarray(i, i + 7));
          c.close();
        },
      });
      assert.equal((await post(path, stream)).status, OK[path], path);
      assert.equal(p.published.length, 1, path);
    }
  });

  void it('a Content-Length shorter than the body: the cut body is 400 naming body, the rest is not taken for a request', async () => {
    for (const path of ROUTES) {
      const body = BODIES[path]!;
      // What follows the declared length is sent later, as a pipelining client would: it is then
      // parsed as a second request (not HTTP: Node answers 400 and closes), after the app answered the first.
      const { hostname, port } = new URL(p.base);
      const response = await new Promise<string>((resolve) => {
        const socket = connect(Number(port), hostname);
        let received = '';
        socket.setEncoding('utf8');
        socket.on('error', () => undefined);
        socket.on('data', (c: string) => {
          received += c;
          if (received.includes('}') && !received.includes('garbage-sent')) {
            received += 'garbage-sent';
            socket.write(`${body.slice(body.length - 5)}\r\n\r\n`);
          }
        });
        socket.on('close', () => resolve(received.replace('garbage-sent', '')));
        socket.write(`${head(path, `Content-Length: ${body.length - 5}\r\n`)}${body.slice(0, body.length - 5)}`);
      });
      assert.equal(statusOf(response), 400, `${path}: ${response}`);
      const json = JSON.parse(bodyOf(response).split('HTTP/1.1')[0]!) as Answer['json'];
      assert.deepEqual(
        json.errors?.map((e) => e.field),
        ['body'],
        path,
      );
      assert.match(response.slice(4), /HTTP\/1\.1 400/, `${path}: the rest refused as a request of its own`);
      assert.equal(p.published.length, 0, path);
    }
  });

  void it('a Content-Length longer than the body, then the client stops: nothing stored, the server keeps serving', async () => {
    for (const path of ROUTES) {
      p.published.length = 0;
      const body = BODIES[path]!;
      // Half-closed after the short body, and dropped at once: either way no request is complete.
      await rawExchange(`${head(path, `Content-Length: ${body.length + 100}\r\n`)}${body}`, { endWrite: true });
      await rawExchange(`${head(path, `Content-Length: ${body.length + 100}\r\n`)}${body}`, { destroyAfterWrite: true });
      assert.equal(p.published.length, 0, path);
      assert.equal((await post(path, BODIES[path])).status, OK[path], `${path}: answered after the abandoned uploads`);
    }
  });

  void it('a client that stops mid-body (plain, chunked, gzip): nothing stored, the server keeps serving', async () => {
    for (const path of ROUTES) {
      p.published.length = 0;
      const body = BODIES[path]!;
      const half = body.slice(0, Math.floor(body.length / 2));
      const zipped = gzipSync(body);
      await rawExchange(`${head(path, `Content-Length: ${body.length}\r\n`)}${half}`, { destroyAfterWrite: true });
      await rawExchange(`${head(path, 'Transfer-Encoding: chunked\r\n')}${half.length.toString(16)}\r\n${half}\r\n`, { destroyAfterWrite: true });
      await rawExchange(
        Buffer.concat([Buffer.from(head(path, `Content-Encoding: gzip\r\nContent-Length: ${zipped.length}\r\n`)), zipped.subarray(0, zipped.length >> 1)]),
        { destroyAfterWrite: true },
      );
      assert.equal(p.published.length, 0, path);
      assert.equal((await post(path, BODIES[path])).status, OK[path], `${path}: answered after the dropped uploads`);
    }
  });

  void it('a Content-Length that is not a number, or beside Transfer-Encoding, is refused by the HTTP parser: 400, nothing stored', async () => {
    for (const path of ROUTES) {
      const body = BODIES[path]!;
      for (const more of ['Content-Length: abc\r\n', 'Content-Length: -1\r\n', `Content-Length: ${body.length}\r\nContent-Length: ${body.length + 1}\r\n`]) {
        assert.equal(statusOf(await rawExchange(`${head(path, more)}${body}`)), 400, `${path} ${more}`);
      }
      const chunked = `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
      assert.equal(statusOf(await rawExchange(`${head(path, `Content-Length: 3\r\nTransfer-Encoding: chunked\r\n`)}${chunked}`)), 400, path);
      assert.equal(p.published.length, 0, path);
    }
  });
});
