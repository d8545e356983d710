/**
 * The bridge's small HTTP server (node:http, no framework): GET /health (the process answers),
 * GET /ready (200 only while the consumer is a running group member and no partition is backing
 * off; 503 with the reasons otherwise) and GET /metrics (Prometheus text; needs a read key when
 * READ_KEYS is set, like the producer's).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createReadKeyCheck, READ_KEY_REFUSAL } from '../platform/http/access';
import type { BridgeStatus } from './status';

export interface HealthServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

export async function startHealthServer(opts: { host: string; port: number; readKeys: readonly string[]; status: BridgeStatus }): Promise<HealthServer> {
  const { status } = opts;
  const authorized = createReadKeyCheck(opts.readKeys);
  const server = createServer((req, res) => {
    const json = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return json(405, { error: 'Method not allowed', errors: [{ field: 'method', message: 'use GET' }] });
    }
    if (path === '/health') return json(200, { status: 'ok' });
    if (path === '/ready') {
      const r = status.readiness();
      return json(r.ready ? 200 : 503, { status: r.ready ? 'ready' : 'not ready', ...r });
    }
    if (path === '/metrics') {
      if (authorized && !authorized(req.headers)) return json(401, READ_KEY_REFUSAL);
      void status.text().then(
        (text) => {
          res.writeHead(200, { 'content-type': status.contentType, 'cache-control': 'no-store' });
          res.end(text);
        },
        // prom-client's error stays out of the answer: it names collectors and internals.
        () => json(500, { error: 'Metrics unavailable', errors: [{ field: 'metrics', message: 'the metrics could not be collected' }] }),
      );
      return;
    }
    return json(404, { error: 'Not found', errors: [{ field: 'path', message: 'GET /health, /ready or /metrics' }] });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
