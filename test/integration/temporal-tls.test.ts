/**
 * The Temporal connection settings over real TLS: a TLS-terminating proxy that requires a client
 * certificate (mutual TLS, as Temporal Cloud and most self-hosted deployments do) stands in front
 * of the local dev server, which itself cannot do TLS. The platform's client Connection and the
 * worker's NativeConnection, both built from TEMPORAL_* variables through src/platform/temporal, run a
 * workflow through it; wrong or missing certificates are refused.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { connect as connectTcp, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { loadConfig } from '../../src/platform/config';
import { createTemporalClient } from '../../src/platform/temporal/connection';
import { connectNativeConnection } from '../../src/platform/temporal/nativeConnection';
import { createTestPki, type TestPki } from '../support/tls';
import { HANG_TIMEOUT_MS } from '../support/timeouts';

const DEV_SERVER = { host: '127.0.0.1', port: 7233 };
Runtime.install({ logger: new DefaultLogger('WARN') });

interface Proxy {
  port: number;
  /** Common names of the client certificates of the connections it let through. */
  clients: string[];
  close(): Promise<void>;
}

/** TLS in, plain TCP (HTTP/2 with prior knowledge, as the dev server speaks it) out. */
async function startMtlsProxy(pki: TestPki): Promise<Proxy> {
  const clients: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer(
    {
      cert: pki.read(pki.serverCertPath),
      key: pki.read(pki.serverKeyPath),
      ca: [pki.read(pki.caCertPath)],
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ['h2'],
    },
    (tlsSocket: TLSSocket) => {
      clients.push(String(tlsSocket.getPeerCertificate().subject?.CN));
      const upstream = connectTcp(DEV_SERVER);
      for (const s of [tlsSocket, upstream]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => (tlsSocket.destroy(), upstream.destroy()));
      }
      tlsSocket.pipe(upstream).pipe(tlsSocket);
    },
  );
  server.on('tlsClientError', () => undefined);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as { port: number }).port,
    clients,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('Temporal over mutual TLS (src/platform/temporal settings)', { timeout: HANG_TIMEOUT_MS }, () => {
  let pki: TestPki;
  let proxy: Proxy;
  before(async () => {
    pki = createTestPki();
    proxy = await startMtlsProxy(pki);
  });
  after(async () => {
    await proxy.close();
    pki.remove();
  });

  // Only the TEMPORAL_* variables a deployment would set; nothing else from this machine.
  const settingsFor = (env: Record<string, string>) => loadConfig({ ENVIRONMENT: 'test', TEMPORAL_ADDRESS: `localhost:${proxy.port}`, ...env }).temporal;
  const mtls = () => ({
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCertPath,
    TEMPORAL_TLS_CLIENT_CERT_PATH: pki.clientCertPath,
    TEMPORAL_TLS_CLIENT_KEY_PATH: pki.clientKeyPath,
  });

  it('the client Connection and the worker NativeConnection run a workflow through the TLS proxy', async () => {
    const temporal = settingsFor(mtls());
    const client = await createTemporalClient(temporal);
    const connection = await connectNativeConnection(temporal);
    const taskQueue = `tls-${randomUUID()}`;
    const workflowId = `tls-${randomUUID()}`;
    try {
      const worker = await Worker.create({ connection, namespace: temporal.namespace, taskQueue, workflowsPath: require.resolve('../support/smokeWorkflow') });
      const result = await worker.runUntil(client.workflow.execute('echo', { taskQueue, workflowId, args: ['over tls'] }));
      assert.equal(result, 'over tls');
      assert.ok(proxy.clients.length >= 2, `both connections went through the proxy (saw ${proxy.clients.length})`);
      assert.ok(
        proxy.clients.every((cn) => cn === 'client'),
        'each presented the client certificate',
      );
    } finally {
      await client.workflowService.deleteWorkflowExecution({ namespace: temporal.namespace, workflowExecution: { workflowId } }).catch(() => undefined);
      await client.connection.close();
      await connection.close();
    }
  });

  it('without the client certificate, or trusting another CA, the connection is refused', async () => {
    const seen = proxy.clients.length;
    const { TEMPORAL_TLS_SERVER_CA_CERT_PATH } = mtls();
    await assert.rejects(createTemporalClient(settingsFor({ TEMPORAL_TLS_SERVER_CA_CERT_PATH })));
    await assert.rejects(createTemporalClient(settingsFor({ ...mtls(), TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.otherCaCertPath })));
    await assert.rejects(connectNativeConnection(settingsFor({ TEMPORAL_TLS_SERVER_CA_CERT_PATH })));
    // And in plain text, which the proxy cannot even parse as TLS.
    await assert.rejects(createTemporalClient(settingsFor({})));
    assert.equal(proxy.clients.length, seen, 'no connection got through');
  });
});
