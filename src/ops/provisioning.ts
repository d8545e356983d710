/**
 * Creates what the platform needs once each server answers its own API. Each store provisions
 * itself (src/store/<room>/provision.ts) and the topics beside the Kafka code
 * (src/platform/kafka/topics.ts); this runs them together and adds the Temporal search
 * attributes. Idempotent: what exists is reported and left alone.
 */
import { status as grpcStatus } from '@grpc/grpc-js';
import { temporal as proto } from '@temporalio/proto';
import type { Logger } from 'pino';
import type { Config } from '../platform/config';
import { createDynamoClient, createS3Client } from '../platform/aws';
import { retryUntilReady, type ProvisionOptions } from '../platform/provisioning';
import { platformTopics, provisionKafka } from '../platform/kafka/topics';
import { removeTable } from '../store/dynamoTable';
import { provisionHotTable } from '../store/hot/provision';
import { provisionCountsTable } from '../store/counts/provision';
import { countsGroupId } from '../store/counts/consumer';
import { provisionBucket, removeBucket } from '../store/archive/provision';
import { createKafka } from '../platform/kafka/client';
import { createTemporalClient } from '../platform/temporal/connection';
import { SEARCH_ATTRIBUTES } from '../../workflows/contract';

/** Both DynamoDB tables on one client: one `dynamodb` line. */
export async function provisionTable(cfg: Config, opts: ProvisionOptions): Promise<string> {
  const client = createDynamoClient(cfg.aws);
  try {
    const hot = await provisionHotTable(client, cfg, opts);
    const counts = await provisionCountsTable(client, cfg, opts);
    return `${hot}; ${counts}`;
  } finally {
    client.destroy();
  }
}

export async function provisionSearchAttributes(cfg: Config, opts: ProvisionOptions): Promise<string> {
  const client = await retryUntilReady('Temporal', opts.deadlineMs ?? 90_000, async () => {
    const c = await createTemporalClient(cfg.temporal);
    try {
      await c.workflowService.describeNamespace({ namespace: cfg.temporal.namespace });
      return c;
    } catch (err) {
      await c.connection.close();
      throw err;
    }
  });
  try {
    const { customAttributes } = await client.connection.operatorService.listSearchAttributes({ namespace: cfg.temporal.namespace });
    const names = Object.values(SEARCH_ATTRIBUTES);
    const missing = names.filter((name) => !customAttributes || !(name in customAttributes));
    const ns = `namespace ${cfg.temporal.namespace}`;
    if (missing.length === 0) return `${ns} has search attributes ${names.join(', ')}`;
    if (opts.checkOnly) return `${ns} lacks search attributes ${missing.join(', ')}`;
    const keyword = proto.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
    try {
      await client.connection.operatorService.addSearchAttributes({
        namespace: cfg.temporal.namespace,
        searchAttributes: Object.fromEntries(missing.map((name) => [name, keyword])),
      });
    } catch (err) {
      if ((err as { code?: number }).code !== grpcStatus.ALREADY_EXISTS) throw err;
    }
    return `added search attributes ${missing.join(', ')} to ${ns}`;
  } finally {
    await client.connection.close();
  }
}

/** Runs every step concurrently; returns one line per service, and whether all succeeded. */
export async function provisionAll(cfg: Config, opts: ProvisionOptions): Promise<{ ok: boolean; lines: string[] }> {
  const steps: [string, Promise<string>][] = [
    ['temporal', provisionSearchAttributes(cfg, opts)],
    ['kafka', provisionKafka(cfg, opts)],
    ['dynamodb', provisionTable(cfg, opts)],
    ['s3', provisionBucket(cfg, opts)],
  ];
  const settled = await Promise.allSettled(steps.map(([, p]) => p));
  const lines = settled.map((r, i) => {
    const name = steps[i]![0].padEnd(9);
    return r.status === 'fulfilled' ? `${name} ready: ${r.value}` : `${name} NOT READY: ${(r.reason as Error).message}`;
  });
  return { ok: settled.every((r) => r.status === 'fulfilled'), lines };
}

/** Deletes the topics, consumer groups, tables and bucket (with its objects) named in `cfg`. For test teardown. */
export async function deprovision(cfg: Config, logger: Logger): Promise<void> {
  const admin = createKafka(cfg.kafka, logger, '-deprovision').admin();
  const dynamo = createDynamoClient(cfg.aws);
  const s3 = createS3Client(cfg.aws);
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const topics = platformTopics(cfg.kafka).filter((t) => existing.has(t));
    if (topics.length > 0) await admin.deleteTopics({ topics });
    await admin.deleteGroups([cfg.kafka.consumerGroup, countsGroupId(cfg.kafka.consumerGroup)]).catch(() => undefined);
    for (const table of [cfg.aws.table, cfg.aws.countsTable]) await removeTable(dynamo, table);
    await removeBucket(s3, cfg.aws.bucket);
  } finally {
    await admin.disconnect();
    dynamo.destroy();
    s3.destroy();
  }
}
