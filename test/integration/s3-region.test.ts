/**
 * Bucket creation outside us-east-1. S3 puts a bucket in us-east-1 unless CreateBucket names the
 * region (LocationConstraint), and refuses a constraint that does not match the endpoint's region.
 * A second versitygw, configured for eu-west-1 as an S3 region endpoint is, stands in for it:
 * provisioning with AWS_REGION=eu-west-1 creates the bucket there, and the S3 API reports that
 * location; a constraint naming another region is refused by the server, so the one sent is the
 * configured region.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { CreateBucketCommand, DeleteBucketCommand, GetBucketLocationCommand, type S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../../src/platform/aws';
import { loadConfig, type Config } from '../../src/platform/config';
import { createBucketInput } from '../../src/store/archive/layout';
import { provisionBucket } from '../../src/store/archive/provision';
import { versitygwPath } from '../support/paths';
import { quietLogger } from '../support/platform';
import { reservePort } from '../support/ports';
import { waitFor } from '../support/wait';
import { HANG_TIMEOUT_MS } from '../support/timeouts';

const REGION = 'eu-west-1';
let server: ChildProcess;
let dataDir: string;
let config: Config;
let s3: S3Client;

before(async () => {
  const port = await reservePort();
  dataDir = mkdtempSync(join(tmpdir(), 's3-region-'));
  config = loadConfig({ AWS_REGION: REGION, S3_ENDPOINT: `http://127.0.0.1:${port}`, S3_BUCKET: `region-test-${Date.now()}` });
  // The local stack's keys, which the config uses for a local endpoint.
  const { accessKeyId, secretAccessKey } = await createS3Client(config.aws).config.credentials();
  server = spawn(versitygwPath(), ['--access', accessKeyId, '--secret', secretAccessKey, '--region', REGION, '--port', `127.0.0.1:${port}`, 'posix', dataDir], {
    stdio: 'ignore',
  });
  s3 = createS3Client(config.aws);
  await waitFor(
    'versitygw (eu-west-1) to answer',
    async () => {
      try {
        await s3.send(new GetBucketLocationCommand({ Bucket: 'none-such' }));
      } catch (err) {
        return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404;
      }
      return false;
    },
    { timeoutMs: 30_000 },
  );
});

after(async () => {
  s3?.destroy();
  server?.kill('SIGTERM');
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

it(`provisioning with AWS_REGION=${REGION} creates the bucket in ${REGION}`, { timeout: HANG_TIMEOUT_MS }, async () => {
  const said = await provisionBucket(config, { logger: quietLogger, deadlineMs: 30_000 });
  assert.match(said, new RegExp(`created bucket ${config.aws.bucket} in ${REGION}`));
  const { LocationConstraint } = await s3.send(new GetBucketLocationCommand({ Bucket: config.aws.bucket }));
  assert.equal(LocationConstraint, REGION);
  assert.match(await provisionBucket(config, { logger: quietLogger, deadlineMs: 30_000 }), /exists/, 'a second run finds it');
  await s3.send(new DeleteBucketCommand({ Bucket: config.aws.bucket }));
});

it('the request names the configured region: the server refuses any other constraint', { timeout: HANG_TIMEOUT_MS }, async () => {
  await assert.rejects(s3.send(new CreateBucketCommand(createBucketInput(`${config.aws.bucket}-other`, 'us-west-2'))), { name: 'InvalidLocationConstraint' });
  // us-east-1 is S3's default, and S3 refuses it named as a constraint: no configuration at all.
  assert.deepEqual(createBucketInput('b', 'us-east-1'), { Bucket: 'b' });
  assert.deepEqual(createBucketInput('b', REGION), { Bucket: 'b', CreateBucketConfiguration: { LocationConstraint: REGION } });
});
