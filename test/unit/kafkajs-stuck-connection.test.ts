/**
 * A broker that stops reading (frozen, or a network path that holds bytes) must not make a
 * client's memory grow: each retried request would otherwise queue another copy in the socket's
 * write buffer. Real kafkajs Connection objects, as the platform loads them (src/platform/kafka/client.ts),
 * against a TCP server that accepts and then never reads, and against one that reads and never
 * answers.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import '../../src/platform/kafka/client';
import type { ConnectionInternals } from '../../src/platform/kafka/stuckConnectionFix';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const Connection = require('kafkajs/src/network/connection') as unknown;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createLogger, LEVELS } = require('kafkajs/src/loggers') as { createLogger(o: object): unknown; LEVELS: { NOTHING: number } };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const socketFactory = require('kafkajs/src/network/socketFactory') as () => unknown;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Encoder = require('kafkajs/src/protocol/encoder') as new () => { writeBytes(b: Buffer): unknown };

type TestConnection = ConnectionInternals & { connect(): Promise<void>; disconnect(): Promise<void>; isConnected(): boolean };

const accepted: Socket[] = [];
const servers: Server[] = [];
async function listen(onSocket: (socket: Socket) => void): Promise<number> {
  const server = createServer((socket) => {
    accepted.push(socket);
    onSocket(socket);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}
let neverReads: number;
let readsNeverAnswers: number;
before(async () => {
  neverReads = await listen((socket) => socket.pause());
  readsNeverAnswers = await listen((socket) => socket.resume());
});
after(async () => {
  for (const socket of accepted) socket.destroy();
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
});

function connectionTo(port: number): TestConnection {
  const ConnectionClass = Connection as unknown as new (options: object) => TestConnection;
  return new ConnectionClass({
    host: '127.0.0.1',
    port,
    logger: createLogger({ level: LEVELS.NOTHING, logCreator: () => () => undefined }),
    socketFactory: socketFactory(),
    requestTimeout: 300,
    connectionTimeout: 1_000,
  });
}

/** A request the size of a large produce request; no broker ever answers it here. */
const bigRequest = (bytes: number) => ({
  request: { apiKey: 0, apiVersion: 0, apiName: 'Produce', encode: async () => new Encoder().writeBytes(Buffer.alloc(bytes)) },
  response: { decode: async () => ({}), parse: async () => ({}) },
  requestTimeout: 300,
});

test('a request timing out with bytes still unsent (the broker stopped reading) drops the socket and its buffer', async () => {
  const connection = connectionTo(neverReads);
  await connection.connect();
  const socket = connection.socket!;
  // Far more than the kernel's socket buffers take, so Node has to queue the rest itself.
  await assert.rejects(connection.send(bigRequest(64 * 1024 * 1024)), { name: 'KafkaJSRequestTimeoutError' });
  assert.equal(socket.destroyed, true, 'the stuck socket is destroyed');
  await waitUntil(() => !connection.isConnected() && socket.writableLength === 0);
  await connection.disconnect();
});

test('a request timing out on a socket that took every byte (a slow broker) keeps the connection', async () => {
  const connection = connectionTo(readsNeverAnswers);
  await connection.connect();
  const socket = connection.socket!;
  await assert.rejects(connection.send(bigRequest(1024)), { name: 'KafkaJSRequestTimeoutError' });
  assert.equal(socket.destroyed, false);
  assert.equal(connection.isConnected(), true);
  await connection.disconnect();
});

async function waitUntil(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    assert.ok(Date.now() < deadline, 'disconnected, with no bytes queued, within 5 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
