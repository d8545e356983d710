/**
 * Shared by the access, rate-limit, CORS and hardening tests: the producer and GraphQL apps with
 * fakes, on loopback sockets, and a raw HTTP client that sends a path byte for byte (fetch and
 * URL would normalise `//events` or `%65vents` away before the server sees them).
 */
import { request as httpRequest, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import type { Message } from 'kafkajs';
import { pino } from 'pino';
import type { FastifyInstance } from 'fastify';
import { buildGraphqlApp, type GraphqlAppDeps } from '../../src/graphql/app';
import type { EventReader } from '../../src/store/hot/reader';
import type { AccessOptions } from '../../src/platform/http/access';
import { createProducerApp } from '../../src/producer/app';
import { ProducerMetrics } from '../../src/producer/metrics';
import { LIMITS } from './limits';

export const WRITE_KEY = 'wk-0123456789abcdef';
export const WRITE_KEY_2 = 'wk-rotated-fedcba9876';
export const READ_KEY = 'rk-0123456789abcdef';
export const EVENT = JSON.stringify({ event_type: 'page_view', user_id: '123' });

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request with `path` sent exactly as given. */
export function raw(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<RawResponse> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: hostname,
        port,
        method,
        path,
        headers: { ...headers, ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }) },
        timeout: 10_000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within 10 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

export interface ProducerUnderTest {
  base: string;
  server: Server;
  published: Message[];
  close(): Promise<void>;
}

export async function startProducer(access?: AccessOptions, wrap?: (server: Server) => Server): Promise<ProducerUnderTest> {
  const published: Message[] = [];
  const app = createProducerApp({
    publish: async (m) => void published.push(...m),
    isReady: async () => true,
    limits: LIMITS,
    newEventId: () => '0192f1c4-8d1e-7c3a-9b2f-5a6d7e8f9a0b',
    metrics: new ProducerMetrics(),
    logger: pino({ level: 'silent' }),
    access,
  });
  const { createServer } = await import('node:http');
  const server = (wrap ?? ((s) => s))(createServer(app));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    published,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface GraphqlUnderTest {
  app: FastifyInstance;
  reads: string[];
}

/** An event reader that answers empty and records which of its reads were called. */
export function recordingReader(): { reader: EventReader; reads: string[] } {
  const reads: string[] = [];
  const reader: EventReader = {
    latest: async () => (reads.push('latest'), []),
    byType: async () => (reads.push('byType'), []),
    byUser: async () => (reads.push('byUser'), []),
    byId: async () => (reads.push('byId'), null),
  };
  return { reader, reads };
}

/** The GraphQL app with a reader that records every call; `extra` may add routes before ready. */
export function graphqlApp(access?: AccessOptions, more: Partial<GraphqlAppDeps> = {}, extra?: (app: FastifyInstance) => void): GraphqlUnderTest {
  const { reader, reads } = recordingReader();
  const app = buildGraphqlApp({ reader, limits: { defaultLimit: 10, maxLimit: 100, maxDepth: 6 }, access, ...more } as GraphqlAppDeps);
  extra?.(app);
  return { app, reads };
}

export const basic = (user: string, password = '') => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/**
 * A slow-loris client: sends `prefix`, then one byte per second, and resolves with what it got
 * back once the server closed the connection. Rejects if the connection is still open at the
 * deadline.
 */
export function slowLoris(base: string, prefix: string, deadlineMs: number): Promise<string> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let received = '';
    const drip = setInterval(() => socket.writable && socket.write('a'), 1_000);
    const deadline = setTimeout(() => {
      clearInterval(drip);
      socket.destroy();
      reject(new Error(`connection still open after ${deadlineMs} ms of one byte per second`));
    }, deadlineMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(drip);
      clearTimeout(deadline);
      resolve(received);
    });
    socket.write(prefix);
  });
}
