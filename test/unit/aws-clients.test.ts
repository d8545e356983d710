/**
 * Which AWS credentials and endpoints the DynamoDB and S3 clients use: the local stack's static
 * keys only for the local stack, the SDK's default chain (profile, role, IRSA, ...) everywhere
 * else, including production behind VPC or FIPS endpoints.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createDynamoClient, createS3Client } from '../../src/platform/aws';
import { LOCAL_STACK_CREDENTIALS, loadConfig } from '../../src/platform/config';

const CHAIN_KEY = 'AKIADEFAULTCHAIN0001';
const AWS_VARIABLES = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE'];

describe('AWS clients: credentials and endpoints', () => {
  let dir: string;
  const saved: Record<string, string | undefined> = {};
  before(() => {
    // The default chain finds a profile in a credentials file, as it would on a deploy host.
    dir = mkdtempSync(join(tmpdir(), 'event-platform-aws-'));
    writeFileSync(join(dir, 'credentials'), `[deploy]\naws_access_key_id = ${CHAIN_KEY}\naws_secret_access_key = not-a-real-secret\n`);
    writeFileSync(join(dir, 'config'), '');
    for (const name of AWS_VARIABLES) {
      saved[name] = process.env[name];
      delete process.env[name];
    }
    Object.assign(process.env, { AWS_PROFILE: 'deploy', AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'), AWS_CONFIG_FILE: join(dir, 'config') });
  });
  after(() => {
    for (const name of AWS_VARIABLES) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const keysOf = async (env: Record<string, string>) => {
    const aws = loadConfig(env).aws;
    const dynamo = createDynamoClient(aws);
    const s3 = createS3Client(aws);
    try {
      const [d, s] = await Promise.all([dynamo.config.credentials(), s3.config.credentials()]);
      return { dynamo: d.accessKeyId, s3: s.accessKeyId, region: await dynamo.config.region() };
    } finally {
      dynamo.destroy();
      s3.destroy();
    }
  };

  it('production without endpoints: real AWS, the default credential chain, the configured region', async () => {
    const c = loadConfig({ ENVIRONMENT: 'production', AWS_REGION: 'eu-west-1' });
    assert.equal(c.aws.dynamoEndpoint, undefined);
    assert.equal(c.aws.s3Endpoint, undefined);
    assert.deepEqual(await keysOf({ ENVIRONMENT: 'production', AWS_REGION: 'eu-west-1' }), { dynamo: CHAIN_KEY, s3: CHAIN_KEY, region: 'eu-west-1' });
  });

  it('production behind VPC endpoints: still the default chain, never the local stack keys', async () => {
    const env = {
      ENVIRONMENT: 'production',
      AWS_REGION: 'eu-west-1',
      DYNAMODB_ENDPOINT: 'https://vpce-0abc-dynamodb.eu-west-1.vpce.amazonaws.com',
      S3_ENDPOINT: 'https://bucket.vpce-0abc-s3.eu-west-1.vpce.amazonaws.com',
    };
    assert.deepEqual(await keysOf(env), { dynamo: CHAIN_KEY, s3: CHAIN_KEY, region: 'eu-west-1' });
  });

  it('the local stack (development, test): its static keys, unless AWS_ACCESS_KEY_ID is set', async () => {
    for (const environment of ['development', 'test']) {
      const local = LOCAL_STACK_CREDENTIALS.accessKeyId;
      assert.deepEqual(await keysOf({ ENVIRONMENT: environment }), { dynamo: local, s3: local, region: 'us-east-1' });
    }
    // Keys in the environment mean the operator chose them: the SDK's chain (env first) applies.
    process.env.AWS_ACCESS_KEY_ID = CHAIN_KEY;
    process.env.AWS_SECRET_ACCESS_KEY = 'not-a-real-secret';
    assert.deepEqual(await keysOf({ ENVIRONMENT: 'development', AWS_ACCESS_KEY_ID: CHAIN_KEY }), { dynamo: CHAIN_KEY, s3: CHAIN_KEY, region: 'us-east-1' });
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
  });
});
