/** The archive bucket and its lifecycle rule; removal (with every object) for test teardown. */
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  GetBucketLifecycleConfigurationCommand,
  HeadBucketCommand,
  type LifecycleRule,
  ListObjectsV2Command,
  PutBucketLifecycleConfigurationCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { Config } from '../../platform/config';
import { createS3Client } from '../../platform/aws';
import { retryUntilReady, type ProvisionOptions } from '../../platform/provisioning';
import { archiveLifecycleRule, createBucketInput, LIFECYCLE_RULE_ID } from './layout';

const httpStatus = (err: unknown) => (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

async function bucketLifecycle(client: S3Client, cfg: Config, opts: ProvisionOptions): Promise<string> {
  const rule = archiveLifecycleRule(cfg.retention.archiveTransitionDays, cfg.retention.archiveExpirationDays);
  if (!rule) return '';
  try {
    let others: LifecycleRule[] = [];
    try {
      const current = (await client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: cfg.aws.bucket }))).Rules ?? [];
      const ours = current.find((r) => r.ID === LIFECYCLE_RULE_ID);
      if (ours && JSON.stringify(ours.Transitions ?? []) === JSON.stringify(rule.Transitions ?? []) && ours.Expiration?.Days === rule.Expiration?.Days) {
        return `; lifecycle rule ${LIFECYCLE_RULE_ID} in place`;
      }
      others = current.filter((r) => r.ID !== LIFECYCLE_RULE_ID);
    } catch (err) {
      if ((err as Error).name !== 'NoSuchLifecycleConfiguration') throw err;
    }
    if (opts.checkOnly) return `; lifecycle rule ${LIFECYCLE_RULE_ID} missing or different`;
    await client.send(new PutBucketLifecycleConfigurationCommand({ Bucket: cfg.aws.bucket, LifecycleConfiguration: { Rules: [...others, rule] } }));
    return `; lifecycle rule ${LIFECYCLE_RULE_ID} set`;
  } catch (err) {
    if ((err as Error).name === 'NotImplemented') return '; this S3 server has no lifecycle rules (objects stay where they are)';
    throw err;
  }
}

export async function provisionBucket(cfg: Config, opts: ProvisionOptions): Promise<string> {
  const client = createS3Client(cfg.aws);
  try {
    const exists = await retryUntilReady('S3', opts.deadlineMs ?? 90_000, async () => {
      try {
        await client.send(new HeadBucketCommand({ Bucket: cfg.aws.bucket }));
        return true;
      } catch (err) {
        if (httpStatus(err) === 404) return false;
        throw err;
      }
    });
    if (exists) return `bucket ${cfg.aws.bucket} exists${await bucketLifecycle(client, cfg, opts)}`;
    if (opts.checkOnly) return `bucket ${cfg.aws.bucket} missing`;
    await client.send(new CreateBucketCommand(createBucketInput(cfg.aws.bucket, cfg.aws.region)));
    return `created bucket ${cfg.aws.bucket} in ${cfg.aws.region}${await bucketLifecycle(client, cfg, opts)}`;
  } finally {
    client.destroy();
  }
}

/** Deletes the bucket and every object in it; a bucket that is not there is left so. */
export async function removeBucket(s3: Pick<S3Client, 'send'>, bucket: string): Promise<void> {
  for (;;) {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket })).catch((err: unknown) => {
      if (httpStatus(err) === 404) return undefined;
      throw err;
    });
    if (!page) return;
    const keys = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
    if (keys.length === 0) break;
    await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }));
  }
  await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
}
