/**
 * processEvent on a real Temporal dev server (the binary the local stack installed, started
 * fresh by TestWorkflowEnvironment), with the real activities over fake AWS and Kafka clients.
 */
import assert from 'node:assert/strict';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../../activities';
import type { Config } from '../../src/config';
import { createStartProcessEvent } from '../../src/bridge/startProcessEvent';
import type { DeadLetterRecord } from '../../src/kafka/deadLetter';
import type { ProcessEventResult } from '../../workflows/types';
import { makeEnvelope } from '../support/events';
import { temporalCliPath } from '../support/paths';

const retries: Config['retries'] = {
  hot: { maximumAttempts: 3, initialIntervalMs: 10, maximumIntervalMs: 20 },
  cold: { maximumAttempts: 4, initialIntervalMs: 10, maximumIntervalMs: 20 },
  activityTimeoutMs: 5_000,
};

type Behaviour = { hot: 'ok' | 'duplicate' | 'fail'; cold: 'ok' | 'fail' };

describe('processEvent workflow', { timeout: 120_000 }, () => {
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: Promise<void>;
  // Per-event behaviour of the fake clients, keyed by event_id.
  const behaviour = new Map<string, Behaviour>();
  const calls = { hot: new Map<string, number>(), cold: new Map<string, number>() };
  const deadLetters: DeadLetterRecord[] = [];
  const taskQueue = `test-${randomUUID()}`;

  const count = (m: Map<string, number>, id: string) => m.set(id, (m.get(id) ?? 0) + 1);
  const idOf = (command: { input: { Item?: { event_id?: { S?: string } }; Key?: string } }) =>
    command.input.Item?.event_id?.S ?? command.input.Key?.split('/').pop()?.replace('.json', '') ?? '';

  before(async () => {
    // The failure cases fail on purpose; only errors are worth printing.
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    env = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: temporalCliPath() },
        searchAttributes: [
          defineSearchAttributeKey('EventType', SearchAttributeType.KEYWORD),
          defineSearchAttributeKey('UserId', SearchAttributeType.KEYWORD),
        ],
      },
    });
    const deps: ActivityDeps = {
      dynamo: {
        send: async (command: never) => {
          const id = idOf(command);
          count(calls.hot, id);
          const b = behaviour.get(id)?.hot ?? 'ok';
          if (b === 'duplicate') throw new ConditionalCheckFailedException({ message: 'exists', $metadata: {} });
          if (b === 'fail') throw Object.assign(new Error('table unavailable'), { name: 'ServiceUnavailable' });
          return {};
        },
      } as unknown as ActivityDeps['dynamo'],
      s3: {
        send: async (command: never) => {
          const id = idOf(command);
          count(calls.cold, id);
          if (behaviour.get(id)?.cold === 'fail') throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9000'), { name: 'Error' });
          return {};
        },
      } as unknown as ActivityDeps['s3'],
      producer: {
        send: async ({ messages }: { messages: { value: string }[] }) => {
          for (const m of messages) deadLetters.push(JSON.parse(m.value) as DeadLetterRecord);
          return [];
        },
      } as unknown as ActivityDeps['producer'],
      table: 'EventsHot',
      bucket: 'bucket',
      dlqTopic: 'events.dlq',
      latestIndexShards: 4,
    };
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath: require.resolve('../../workflows'),
      activities: createActivities(deps),
    });
    running = worker.run();
  });

  after(async () => {
    worker?.shutdown();
    await running;
    await env?.teardown();
  });

  const start = (b: Behaviour) => {
    const event = makeEnvelope();
    behaviour.set(event.event_id, b);
    const startProcessEvent = createStartProcessEvent(env.client, { address: '', namespace: 'default', taskQueue }, retries);
    return { event, startProcessEvent, result: () => env.client.workflow.getHandle(event.event_id).result() as Promise<ProcessEventResult> };
  };

  it('stores and archives an event, and records its search attributes', async () => {
    const { event, startProcessEvent, result } = start({ hot: 'ok', cold: 'ok' });
    assert.equal(await startProcessEvent(event), 'started');
    assert.deepEqual(await result(), {
      event_id: event.event_id,
      hot: 'stored',
      cold: 'archived',
      archive_key: `events/${event.timestamp.slice(0, 4)}/${event.timestamp.slice(5, 7)}/${event.timestamp.slice(8, 10)}/${event.event_id}.json`,
    });
    const description = await env.client.workflow.getHandle(event.event_id).describe();
    assert.equal(description.status.name, 'COMPLETED');
    assert.deepEqual(description.searchAttributes.EventType, ['page_view']);
    assert.deepEqual(description.searchAttributes.UserId, ['user-1']);
  });

  it('treats an event already in the table as a duplicate, not a failure', async () => {
    const { event, startProcessEvent, result } = start({ hot: 'duplicate', cold: 'ok' });
    await startProcessEvent(event);
    assert.equal((await result()).hot, 'duplicate');
  });

  it('refuses a second start of a completed event (redelivery does no work twice)', async () => {
    const { event, startProcessEvent, result } = start({ hot: 'ok', cold: 'ok' });
    assert.equal(await startProcessEvent(event), 'started');
    await result();
    assert.equal(await startProcessEvent(event), 'already-started');
    assert.equal(calls.hot.get(event.event_id), 1);
  });

  it('cold failure: hot write still lands, archive retried, then dead-lettered and Failed; a replay may run again', async () => {
    const { event, startProcessEvent, result } = start({ hot: 'ok', cold: 'fail' });
    await startProcessEvent(event);
    const err = await result().catch((e: unknown) => e);
    assert.ok(err instanceof WorkflowFailedError, `expected the workflow to fail, got ${String(err)}`);
    assert.ok(err.cause instanceof ApplicationFailure);
    assert.equal(err.cause.type, 'EventDeadLettered');
    assert.equal(calls.hot.get(event.event_id), 1);
    assert.equal(calls.cold.get(event.event_id), 4);
    const dl = deadLetters.find((d) => d.workflow_id === event.event_id);
    assert.ok(dl, 'a dead-letter record for the event');
    assert.deepEqual(dl.original, event);
    assert.equal(dl.error.stage, 'archiveCold');
    assert.equal(dl.error.attempts, 4);
    assert.match(dl.error.message, /ECONNREFUSED/);
    assert.ok(dl.run_id);
    assert.ok(!Number.isNaN(Date.parse(dl.failed_at)));
    const description = await env.client.workflow.getHandle(event.event_id).describe();
    assert.equal(description.status.name, 'FAILED');

    // The archive works again: replaying the dead-lettered event starts a new run that completes.
    behaviour.set(event.event_id, { hot: 'duplicate', cold: 'ok' });
    assert.equal(await startProcessEvent(event), 'started');
    assert.equal((await result()).cold, 'archived');
  });

  it('hot failure: dead-lettered with stage storeHot after its retries, archive still written', async () => {
    const { event, startProcessEvent, result } = start({ hot: 'fail', cold: 'ok' });
    await startProcessEvent(event);
    await assert.rejects(result(), WorkflowFailedError);
    assert.equal(calls.hot.get(event.event_id), 3);
    assert.equal(calls.cold.get(event.event_id), 1);
    const dl = deadLetters.find((d) => d.workflow_id === event.event_id);
    assert.equal(dl?.error.stage, 'storeHot');
    assert.equal(dl?.error.type, 'ServiceUnavailable');
    assert.equal(dl?.error.attempts, 3);
  });

  it('both failing: one dead-letter record listing both stages', async () => {
    const { event, startProcessEvent, result } = start({ hot: 'fail', cold: 'fail' });
    await startProcessEvent(event);
    await assert.rejects(result(), WorkflowFailedError);
    const records = deadLetters.filter((d) => d.workflow_id === event.event_id);
    assert.equal(records.length, 1);
    assert.deepEqual(records[0]!.errors?.map((e) => e.stage), ['storeHot', 'archiveCold']);
  });
});
