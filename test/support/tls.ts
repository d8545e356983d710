/**
 * A throwaway certificate authority with a server certificate (for `localhost` and 127.0.0.1) and
 * a client certificate, made with openssl in a temporary folder, for TLS and mTLS tests.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  dir: string;
  caCertPath: string;
  serverCertPath: string;
  serverKeyPath: string;
  clientCertPath: string;
  clientKeyPath: string;
  /** Another CA's certificate: trusting it instead must fail the handshake. */
  otherCaCertPath: string;
  read(path: string): string;
  remove(): void;
}

const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });

/** Every key of the PKI: a P-256 EC key, unencrypted. */
const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
/** Every certificate's validity: long enough for a test run, and no longer. */
const VALIDITY = ['-days', '2'];

function makeCa(dir: string, name: string): void {
  openssl(['req', '-x509', ...NEW_KEY, ...VALIDITY, '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.crt`], dir);
}

function makeLeaf(dir: string, name: string, ca: string, extensions: string): void {
  openssl(['req', ...NEW_KEY, '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`], dir);
  writeFileSync(join(dir, `${name}.ext`), extensions);
  // Signed by `ca` with the extensions written above.
  const signed = ['-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', ...VALIDITY, '-extfile', `${name}.ext`];
  openssl(['x509', '-req', '-in', `${name}.csr`, ...signed, '-out', `${name}.crt`], dir);
}

export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'event-platform-pki-'));
  makeCa(dir, 'test-ca');
  makeCa(dir, 'other-ca');
  makeLeaf(dir, 'server', 'test-ca', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  makeLeaf(dir, 'client', 'test-ca', 'extendedKeyUsage=clientAuth\n');
  return {
    dir,
    caCertPath: join(dir, 'test-ca.crt'),
    serverCertPath: join(dir, 'server.crt'),
    serverKeyPath: join(dir, 'server.key'),
    clientCertPath: join(dir, 'client.crt'),
    clientKeyPath: join(dir, 'client.key'),
    otherCaCertPath: join(dir, 'other-ca.crt'),
    read: (path) => readFileSync(path, 'utf8'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
