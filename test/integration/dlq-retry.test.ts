/**
 * `events dlq retry` (npm run replay-dlq) against the real Kafka and Temporal of the local stack, on an isolated DLQ topic and
 * task queue (no worker polls it, so a started run stays Running): it finishes when retention
 * has emptied a DLQ partition (deleteRecords moves the low watermark like retention does), and
 * reports per event what it did.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import type { Kafka } from 'kafkajs';
import { createKafka } from '../../src/platform/kafka/client';
import type { Config } from '../../src/platform/config';
import { readTopicToEnd } from '../../src/platform/kafka/readToEnd';
import { createTemporalClient } from '../../src/platform/temporal/connection';
import { makeEnvelope } from '../support/events';
import { REPO_ROOT } from '../support/paths';
import { configFor, isolatedEnv, quietLogger } from '../support/platform';
import { waitFor } from '../support/wait';
import { HANG_TIMEOUT_MS } from '../support/timeouts';

const run = promisify(execFile);

describe('dlq retry on the real stack', { timeout: HANG_TIMEOUT_MS }, () => {
  let env: Record<string, string>;
  let config: Config;
  let kafka: Kafka;
  let temporal: Client;
  const kept = [makeEnvelope(), makeEnvelope()];
  const expired = [makeEnvelope(), makeEnvelope(), makeEnvelope()];
  const record = (event: object) =>
    JSON.stringify({ original: event, error: { stage: 'archiveCold', type: 'Error', message: 'S3 down', attempts: 9 }, failed_at: new Date().toISOString() });

  before(async () => {
    env = await isolatedEnv();
    config = configFor(env);
    kafka = createKafka(config.kafka, quietLogger, '-test');
    temporal = await createTemporalClient(config.temporal);
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic: config.kafka.dlqTopic, numPartitions: 2, replicationFactor: 1 }] });
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic: config.kafka.dlqTopic, acks: -1, messages: expired.map((e) => ({ partition: 0, key: e.event_id, value: record(e) })) });
      await producer.send({ topic: config.kafka.dlqTopic, acks: -1, messages: kept.map((e) => ({ partition: 1, key: e.event_id, value: record(e) })) });
      await producer.disconnect();
      // What retention does to an old partition: everything before the end is gone.
      // Right after the topic is created the broker may still refuse it (the error does not say why): retried.
      await waitFor('records of partition 0 to be deleted', () =>
        admin.deleteTopicRecords({ topic: config.kafka.dlqTopic, partitions: [{ partition: 0, offset: String(expired.length) }] }).then(() => true),
      );
      const offsets = await admin.fetchTopicOffsets(config.kafka.dlqTopic);
      assert.deepEqual(
        offsets.find((o) => o.partition === 0),
        { partition: 0, offset: '3', low: '3', high: '3' },
      );
    } finally {
      await admin.disconnect();
    }
  });

  after(async () => {
    for await (const wf of temporal.workflow.list({ query: `TaskQueue = '${config.temporal.taskQueue}'` })) {
      await temporal.workflow
        .getHandle(wf.workflowId, wf.runId)
        .terminate('test cleanup')
        .catch(() => undefined);
      await temporal.workflowService
        .deleteWorkflowExecution({ namespace: config.temporal.namespace, workflowExecution: { workflowId: wf.workflowId, runId: wf.runId } })
        .catch(() => undefined);
    }
    await temporal?.connection.close();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [config.kafka.dlqTopic] }).catch(() => undefined);
    await admin.disconnect();
  });

  const replayDlq = (...args: string[]) =>
    run(process.execPath, ['--import', 'tsx', 'src/ops/events.ts', 'dlq', 'replay', ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      timeout: 60_000,
    }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code?: number; killed?: boolean; stdout?: string; stderr?: string }) => ({
        code: e.killed ? 'killed (hung)' : e.code,
        stdout: e.stdout ?? '',
        stderr: e.stderr ?? '',
      }),
    );

  it('a bounded scan ends although one partition was emptied by retention', async () => {
    const read: string[] = [];
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('readTopicToEnd did not finish')), 30_000)));
    try {
      await Promise.race([readTopicToEnd(kafka, config.kafka.dlqTopic, (m, p) => void read.push(`${p}:${m.offset}`)), hung]);
    } finally {
      clearTimeout(timer);
    }
    assert.deepEqual(read.sort(), ['1:0', '1:1']);
  });

  it('dlq retry finishes, starts the events still in the DLQ, and says so; a second retry finds them still running', async () => {
    const dry = await replayDlq('--dry-run');
    assert.equal(dry.code, 0, dry.stderr);
    for (const e of kept) assert.match(dry.stdout, new RegExp(`^${e.event_id} would restart \\(it has no run\\)`, 'm'));
    for (const e of expired) assert.doesNotMatch(dry.stdout, new RegExp(e.event_id));

    const first = await replayDlq();
    assert.equal(first.code, 0, first.stderr);
    for (const e of kept)
      assert.match(first.stdout, new RegExp(`^${e.event_id} restarted \\(it had no run\\) \\[dead-lettered at archiveCold: S3 down\\]`, 'm'));
    assert.match(first.stdout, /^restarted 2, would restart 0, completed earlier 0, still running 0, refused 0$/m);
    for (const e of kept) assert.equal((await temporal.workflow.getHandle(e.event_id).describe()).status.name, 'RUNNING');

    // No worker polls this task queue: the runs are still Running, and a replay must say so
    // instead of claiming to replay them.
    const second = await replayDlq('--event-id', kept[0]!.event_id.toUpperCase(), '--event-id', expired[0]!.event_id);
    assert.equal(second.code, 1, 'an id not found in the DLQ is refused');
    assert.match(second.stdout, new RegExp(`^${kept[0]!.event_id} still running`, 'm'));
    assert.match(second.stdout, new RegExp(`^${expired[0]!.event_id} refused: not in the DLQ`, 'm'));
    assert.match(second.stdout, /^restarted 0, would restart 0, completed earlier 0, still running 1, refused 1$/m);
  });
});
