/**
 * Connections to secured services: the Temporal settings (Temporal's own variables and config
 * file profiles, as the CLI reads them) and Kafka's TLS/SASL settings, from environment variable
 * to the options the SDKs receive. Every bad value stops startup with a message naming its
 * variable and never quoting a secret.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createServer, type TLSSocket } from 'node:tls';
import { Kafka } from 'kafkajs';
import { pino } from 'pino';
import { ConfigError, loadConfig } from '../../src/platform/config';
import { kafkaClientConfig } from '../../src/platform/kafka/client';
import { temporalConnectionOptions } from '../../src/platform/temporal/connection';
import { REPO_ROOT } from '../support/paths';
import { createTestPki, type TestPki } from '../support/tls';

const quiet = pino({ level: 'silent' });
const SECRET = 'sEcReT-value-0123456789';

function problemsOf(env: Record<string, string>): { variable: string; message: string }[] {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    assert.doesNotMatch(err.message, new RegExp(SECRET), 'a secret was quoted');
    return err.problems;
  }
  return assert.fail(`expected ${JSON.stringify(env)} to be rejected`);
}

function assertRejected(env: Record<string, string>, variable: string, message: RegExp): void {
  const problems = problemsOf(env);
  const problem = problems.find((p) => p.variable === variable);
  assert.ok(problem, `no problem named ${variable}: ${JSON.stringify(problems)}`);
  assert.match(problem.message, message);
}

let pki: TestPki;
let dir: string;
before(() => {
  pki = createTestPki();
  dir = mkdtempSync(join(tmpdir(), 'event-platform-config-'));
});
after(() => {
  pki.remove();
  rmSync(dir, { recursive: true, force: true });
});
const bytes = (path: string) => Buffer.from(readFileSync(path));

describe('Temporal connection settings', () => {
  it('default: the local dev server, no TLS, no API key', () => {
    const { temporal } = loadConfig({});
    assert.deepEqual(temporalConnectionOptions(temporal), { address: 'localhost:7233' });
    assert.equal(temporal.namespace, 'default');
  });

  it('Temporal Cloud with an API key: TLS is on without being asked for, the key reaches the SDK', () => {
    const { temporal } = loadConfig({ TEMPORAL_ADDRESS: 'eu-west-1.aws.api.temporal.io:7233', TEMPORAL_NAMESPACE: 'prod.a1b2c', TEMPORAL_API_KEY: SECRET });
    assert.equal(temporal.namespace, 'prod.a1b2c');
    assert.deepEqual(temporalConnectionOptions(temporal), { address: 'eu-west-1.aws.api.temporal.io:7233', apiKey: SECRET, tls: true });
  });

  it('TEMPORAL_TLS=false turns TLS off even with an API key (as the CLI does); TEMPORAL_TLS=true alone uses the system CAs', () => {
    assert.deepEqual(temporalConnectionOptions(loadConfig({ TEMPORAL_API_KEY: SECRET, TEMPORAL_TLS: 'false' }).temporal), {
      address: 'localhost:7233',
      apiKey: SECRET,
      tls: false,
    });
    const { tls } = temporalConnectionOptions(loadConfig({ TEMPORAL_TLS: 'true' }).temporal);
    assert.ok(tls && typeof tls === 'object');
    assert.equal(tls.clientCertPair, undefined);
    assert.equal(tls.serverRootCACertificate, undefined);
  });

  it('mTLS: the certificate, key, CA and server name reach the SDK byte for byte', () => {
    const { temporal } = loadConfig({
      TEMPORAL_ADDRESS: 'prod.a1b2c.tmprl.cloud:7233',
      TEMPORAL_TLS_CLIENT_CERT_PATH: pki.clientCertPath,
      TEMPORAL_TLS_CLIENT_KEY_PATH: pki.clientKeyPath,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCertPath,
      TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
    });
    const options = temporalConnectionOptions(temporal);
    assert.equal(options.address, 'prod.a1b2c.tmprl.cloud:7233');
    assert.equal(options.apiKey, undefined);
    assert.ok(options.tls && typeof options.tls === 'object');
    assert.equal(options.tls.serverNameOverride, 'temporal.internal');
    assert.deepEqual(Buffer.from(options.tls.serverRootCACertificate!), bytes(pki.caCertPath));
    assert.deepEqual(Buffer.from(options.tls.clientCertPair!.crt), bytes(pki.clientCertPath));
    assert.deepEqual(Buffer.from(options.tls.clientCertPair!.key), bytes(pki.clientKeyPath));
  });

  it('a profile from TEMPORAL_CONFIG_FILE (the CLI format), with environment variables on top', () => {
    const file = join(dir, 'temporal.toml');
    writeFileSync(
      file,
      [
        '[profile.prod]',
        'address = "prod.a1b2c.tmprl.cloud:7233"',
        'namespace = "prod.a1b2c"',
        '[profile.prod.tls]',
        `client_cert_path = "${pki.clientCertPath}"`,
        `client_key_path = "${pki.clientKeyPath}"`,
        '[profile.prod.grpc_meta]',
        'x-tenant = "events"',
      ].join('\n'),
    );
    const { temporal } = loadConfig({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'prod', TEMPORAL_NAMESPACE: 'staging.a1b2c' });
    assert.equal(temporal.address, 'prod.a1b2c.tmprl.cloud:7233');
    assert.equal(temporal.namespace, 'staging.a1b2c', 'the variable wins over the file');
    const options = temporalConnectionOptions(temporal);
    assert.ok(options.tls && typeof options.tls === 'object');
    assert.deepEqual(Buffer.from(options.tls.clientCertPair!.crt), bytes(pki.clientCertPath));
    assert.deepEqual(options.metadata, { 'x-tenant': 'events' });
  });

  it("the CLI's default config file is read only when TEMPORAL_PROFILE or TEMPORAL_CONFIG_FILE asks for it", () => {
    const home = join(dir, 'xdg');
    mkdirSync(join(home, 'temporalio'), { recursive: true });
    writeFileSync(join(home, 'temporalio', 'temporal.toml'), '[profile.default]\naddress = "cloud.example.com:7233"\n');
    assert.equal(loadConfig({ XDG_CONFIG_HOME: home }).temporal.address, 'localhost:7233');
    assert.equal(loadConfig({ XDG_CONFIG_HOME: home, TEMPORAL_PROFILE: 'default' }).temporal.address, 'cloud.example.com:7233');
  });

  it('bad values stop startup naming the variable', () => {
    const missing = join(dir, 'missing.pem');
    assertRejected({ TEMPORAL_TLS: 'maybe' }, 'TEMPORAL_TLS', /true or false/);
    assertRejected({ TEMPORAL_ADDRESS: 'cloud.example.com' }, 'TEMPORAL_ADDRESS', /host:port/);
    for (const variable of ['TEMPORAL_TLS_CLIENT_CERT_PATH', 'TEMPORAL_TLS_CLIENT_KEY_PATH', 'TEMPORAL_TLS_SERVER_CA_CERT_PATH', 'TEMPORAL_CONFIG_FILE']) {
      assertRejected({ [variable]: missing }, variable, /no such file/);
    }
    assertRejected({ TEMPORAL_TLS_CLIENT_CERT_PATH: pki.clientCertPath }, 'TEMPORAL_TLS_CLIENT_KEY_PATH', /required with TEMPORAL_TLS_CLIENT_CERT_PATH/);
    assertRejected({ TEMPORAL_TLS_CLIENT_KEY_PATH: pki.clientKeyPath }, 'TEMPORAL_TLS_CLIENT_CERT_PATH', /required with TEMPORAL_TLS_CLIENT_KEY_PATH/);
    assertRejected({ TEMPORAL_TLS_CLIENT_KEY_DATA: SECRET }, 'TEMPORAL_TLS_CLIENT_KEY_DATA', /TEMPORAL_TLS_CLIENT_KEY_PATH/);
    assertRejected({ TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: 'true' }, 'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION', /TEMPORAL_TLS_SERVER_NAME/);
  });

  it('a bad config file or profile stops startup naming TEMPORAL_CONFIG_FILE or TEMPORAL_PROFILE', () => {
    const write = (name: string, text: string) => (writeFileSync(join(dir, name), text), join(dir, name));
    const good = write('good.toml', '[profile.prod]\naddress = "prod.example.com:7233"\n');
    assertRejected({ TEMPORAL_CONFIG_FILE: good, TEMPORAL_PROFILE: 'staging' }, 'TEMPORAL_PROFILE', /staging/);
    assertRejected({ TEMPORAL_CONFIG_FILE: write('broken.toml', '[profile.prod\naddress = 1') }, 'TEMPORAL_CONFIG_FILE', /.+/);
    assertRejected({ TEMPORAL_CONFIG_FILE: write('typo.toml', '[profile.default]\nadress = "x:1"\n') }, 'TEMPORAL_CONFIG_FILE', /adress/);
    assertRejected(
      { TEMPORAL_CONFIG_FILE: write('addr.toml', '[profile.default]\naddress = "https://x"\n') },
      'TEMPORAL_CONFIG_FILE',
      /address: expected host:port/,
    );
    const certless = write('certless.toml', `[profile.default.tls]\nclient_cert_path = "${join(dir, 'nope.crt')}"\nclient_key_path = "${pki.clientKeyPath}"\n`);
    assertRejected({ TEMPORAL_CONFIG_FILE: certless }, 'TEMPORAL_CONFIG_FILE', /client_cert_path: no such file/);
  });

  it('the API key is never quoted in an error', () => {
    problemsOf({ TEMPORAL_API_KEY: SECRET, TEMPORAL_TLS: 'maybe', KAFKA_SASL_PASSWORD: SECRET });
  });

  it('every process connects with the options of src/platform/temporal (so these settings reach the bridge, the workers, the CLIs and the tests)', () => {
    // A connection built outside src/platform/temporal must take temporalConnectionOptions(...) as they are.
    const direct = /\b(?:Native)?Connection\.(?:connect|lazy)\((?!\s*(?:\{\s*\.\.\.)?temporalConnectionOptions\()/;
    const offenders: string[] = [];
    const walk = (folder: string) => {
      for (const entry of readdirSync(folder)) {
        const path = join(folder, entry);
        if (statSync(path).isDirectory()) {
          if (!['node_modules', '.stack', '.git', 'dist'].includes(entry)) walk(path);
        } else if (/\.(ts|mts|js|mjs)$/.test(entry) && direct.test(readFileSync(path, 'utf8'))) {
          offenders.push(relative(REPO_ROOT, path));
        }
      }
    };
    for (const folder of ['src', 'workers', 'activities', 'bench', 'infra', 'test/support', 'test/integration']) walk(join(REPO_ROOT, folder));
    assert.deepEqual(
      offenders.filter((p) => !p.startsWith('src/platform/temporal/')),
      [],
    );
  });
});

describe('Kafka security settings', () => {
  const options = (env: Record<string, string>) => {
    const { ssl, sasl } = kafkaClientConfig(loadConfig(env).kafka, quiet);
    return { ssl, sasl };
  };

  it('default: PLAINTEXT, no TLS, no SASL (the local stack)', () => {
    assert.deepEqual(options({}), { ssl: undefined, sasl: undefined });
    assert.equal(loadConfig({}).kafka.security.protocol, 'PLAINTEXT');
  });

  it('Confluent Cloud: SASL_SSL with PLAIN, the system CAs', () => {
    assert.deepEqual(
      options({ KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_MECHANISM: 'PLAIN', KAFKA_SASL_USERNAME: 'API_KEY_ID', KAFKA_SASL_PASSWORD: SECRET }),
      {
        ssl: true,
        sasl: { mechanism: 'plain', username: 'API_KEY_ID', password: SECRET },
      },
    );
  });

  it('Amazon MSK: SASL_SSL with SCRAM-SHA-512 (the mechanism name in any case)', () => {
    assert.deepEqual(
      options({ KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'events', KAFKA_SASL_PASSWORD: SECRET }),
      {
        ssl: true,
        sasl: { mechanism: 'scram-sha-512', username: 'events', password: SECRET },
      },
    );
    assert.equal(
      options({ KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT', KAFKA_SASL_MECHANISM: 'SCRAM-SHA-256', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: SECRET }).sasl
        ?.mechanism,
      'scram-sha-256',
    );
  });

  it("Amazon MSK with IAM: OAUTHBEARER with a token AWS's signer makes from the default credential chain, for AWS_REGION", async () => {
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = 'AKIAMSKIAMTEST';
    process.env.AWS_SECRET_ACCESS_KEY = SECRET;
    try {
      const { ssl, sasl } = options({ KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_MECHANISM: 'aws_msk_iam', AWS_REGION: 'eu-west-1' });
      assert.equal(ssl, true, 'TLS with the system CAs');
      assert.ok(sasl && sasl.mechanism === 'oauthbearer', `oauthbearer, got ${sasl?.mechanism}`);
      const first = await (sasl as { oauthBearerProvider: () => Promise<{ value: string }> }).oauthBearerProvider();
      // The token is a base64url presigned kafka-cluster:Connect URL, signed for the region.
      const url = new URL(Buffer.from(first.value, 'base64url').toString('utf8'));
      assert.equal(url.host, 'kafka.eu-west-1.amazonaws.com');
      assert.equal(url.searchParams.get('Action'), 'kafka-cluster:Connect');
      assert.match(url.searchParams.get('X-Amz-Credential') ?? '', /^AKIAMSKIAMTEST\/\d{8}\/eu-west-1\/kafka-cluster\/aws4_request$/);
      assert.ok(url.searchParams.get('X-Amz-Signature'), 'signed');
      assert.doesNotMatch(first.value + url.href, new RegExp(SECRET), 'the secret key never travels');
    } finally {
      for (const [name, value] of [
        ['AWS_ACCESS_KEY_ID', saved.id],
        ['AWS_SECRET_ACCESS_KEY', saved.secret],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  it('SSL with a private CA and a client certificate (mTLS): the PEM files reach kafkajs', () => {
    const { ssl, sasl } = options({
      KAFKA_SECURITY_PROTOCOL: 'SSL',
      KAFKA_SSL_CA_PATH: pki.caCertPath,
      KAFKA_SSL_CERT_PATH: pki.clientCertPath,
      KAFKA_SSL_KEY_PATH: pki.clientKeyPath,
      KAFKA_SSL_KEY_PASSWORD: SECRET,
    });
    assert.equal(sasl, undefined);
    assert.deepEqual(ssl, { ca: [pki.read(pki.caCertPath)], cert: pki.read(pki.clientCertPath), key: pki.read(pki.clientKeyPath), passphrase: SECRET });
  });

  it('bad values stop startup naming the variable', () => {
    const sasl = { KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: SECRET };
    assertRejected({ KAFKA_SECURITY_PROTOCOL: 'TLS' }, 'KAFKA_SECURITY_PROTOCOL', /PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL/);
    assertRejected({ ...sasl, KAFKA_SASL_MECHANISM: 'GSSAPI' }, 'KAFKA_SASL_MECHANISM', /PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or AWS_MSK_IAM/);
    assertRejected({ ...sasl, KAFKA_SASL_MECHANISM: 'AWS_MSK_IAM' }, 'KAFKA_SASL_USERNAME', /AWS default credential chain/);
    assertRejected({ KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT', KAFKA_SASL_MECHANISM: 'AWS_MSK_IAM' }, 'KAFKA_SECURITY_PROTOCOL', /must be SASL_SSL/);
    for (const variable of ['KAFKA_SASL_MECHANISM', 'KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD']) {
      const env: Record<string, string> = { ...sasl };
      delete env[variable];
      assertRejected(env, variable, /required with KAFKA_SECURITY_PROTOCOL=SASL_SSL/);
    }
    assertRejected({ KAFKA_SASL_USERNAME: 'u' }, 'KAFKA_SASL_USERNAME', /KAFKA_SECURITY_PROTOCOL=PLAINTEXT does not use it/);
    assertRejected({ KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SASL_PASSWORD: SECRET }, 'KAFKA_SASL_PASSWORD', /does not use it/);
    assertRejected(
      {
        KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT',
        KAFKA_SASL_MECHANISM: 'PLAIN',
        KAFKA_SASL_USERNAME: 'u',
        KAFKA_SASL_PASSWORD: SECRET,
        KAFKA_SSL_CA_PATH: pki.caCertPath,
      },
      'KAFKA_SSL_CA_PATH',
      /does not use it/,
    );
    for (const variable of ['KAFKA_SSL_CA_PATH', 'KAFKA_SSL_CERT_PATH', 'KAFKA_SSL_KEY_PATH']) {
      assertRejected({ KAFKA_SECURITY_PROTOCOL: 'SSL', [variable]: join(dir, 'missing.pem') }, variable, /no such file/);
    }
    assertRejected({ KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_CERT_PATH: pki.clientCertPath }, 'KAFKA_SSL_KEY_PATH', /required with KAFKA_SSL_CERT_PATH/);
    assertRejected({ KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_KEY_PATH: pki.clientKeyPath }, 'KAFKA_SSL_CERT_PATH', /required with KAFKA_SSL_KEY_PATH/);
    assertRejected({ KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_KEY_PASSWORD: SECRET }, 'KAFKA_SSL_KEY_PASSWORD', /KAFKA_SSL_KEY_PATH is not/);
  });

  it('over SSL, kafkajs verifies the broker against KAFKA_SSL_CA_PATH and presents the client certificate', async () => {
    // A TLS listener that records who completed the handshake; it speaks no Kafka, so the
    // connection fails after the handshake, which is all this checks.
    const seen: { authorized: boolean; subject?: string }[] = [];
    const server = createServer(
      { cert: pki.read(pki.serverCertPath), key: pki.read(pki.serverKeyPath), ca: [pki.read(pki.caCertPath)], requestCert: true, rejectUnauthorized: true },
      (socket: TLSSocket) => {
        seen.push({ authorized: socket.authorized, subject: String(socket.getPeerCertificate().subject?.CN) });
        socket.destroy();
      },
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    const connect = async (caPath: string) => {
      const config = kafkaClientConfig(
        loadConfig({
          KAFKA_BOOTSTRAP_SERVERS: `localhost:${port}`,
          KAFKA_SECURITY_PROTOCOL: 'SSL',
          KAFKA_SSL_CA_PATH: caPath,
          KAFKA_SSL_CERT_PATH: pki.clientCertPath,
          KAFKA_SSL_KEY_PATH: pki.clientKeyPath,
        }).kafka,
        quiet,
      );
      const admin = new Kafka({ ...config, retry: { retries: 0 }, connectionTimeout: 2_000 }).admin();
      await admin.connect().catch(() => undefined);
      await admin.disconnect();
    };
    try {
      await connect(pki.caCertPath);
      assert.deepEqual(seen, [{ authorized: true, subject: 'client' }]);
      seen.length = 0;
      await connect(pki.otherCaCertPath);
      assert.deepEqual(seen, [], 'a broker certificate from another CA must be refused by the client');
    } finally {
      server.close();
    }
  });
});
