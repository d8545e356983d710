/**
 * processEvent on a real Temporal dev server (the binary the local stack installed, started
 * fresh by TestWorkflowEnvironment), with the real activities over fake AWS and Kafka clients.
 */
import assert from 'node:assert/strict';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Client, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Config } from '../../src/platform/config';
import { createStartProcessEvent } from '../../src/bridge/startProcessEvent';
import type { DeadLetterRecord } from '../../src/platform/kafka/deadLetter';
import type { ProcessEventInput, ProcessEventResult } from '../../workflows/contract';
import { makeEnvelope } from '../support/events';
import { eventIdOfCommand, fakeActivityDeps, startWorkflowTestEnv, type WorkflowTestEnv } from '../support/workflowWorker';
import { waitFor } from '../support/wait';
import { HANG_TIMEOUT_MS } from '../support/timeouts';

/**
 * The shape the bridge sends today: no attempt cap, a short elapsed budget per step, and the
 * fast path (first attempts as local activities).
 */
const retries: Config['retries'] = {
  hot: { maximumAttempts: 0, initialIntervalMs: 10, maximumIntervalMs: 50, maxElapsedMs: 3_000 },
  cold: { maximumAttempts: 0, initialIntervalMs: 10, maximumIntervalMs: 50, maxElapsedMs: 3_000 },
  activityTimeoutMs: 1_000,
  fastPathTimeoutMs: 500,
};

/** The shape inputs had before elapsed budgets: an attempt cap only. Runs started so must still work. */
const capOnlyRetries: ProcessEventInput['retries'] = {
  hot: { maximumAttempts: 3, initialIntervalMs: 10, maximumIntervalMs: 20 },
  cold: { maximumAttempts: 4, initialIntervalMs: 10, maximumIntervalMs: 20 },
  activityTimeoutMs: 5_000,
};

/**
 * What the fake clients do for one event. `fail` fails every attempt (refused connection);
 * `failTimes` fails that many attempts, then works; `invalid` is DynamoDB refusing the item;
 * `hangAfter` fails that many attempts fast, then hangs each later attempt past the timeouts;
 * `slowOnce` takes longer than the fast-path budget on the first attempt, then works at once.
 */
type ColdBehaviour = 'ok' | 'fail' | 'slowOnce' | { failTimes: number } | { hangAfter: number };
type Behaviour = { hot: 'ok' | 'duplicate' | 'fail' | 'invalid'; cold: ColdBehaviour };

describe('processEvent workflow', { timeout: HANG_TIMEOUT_MS }, () => {
  let env: TestWorkflowEnvironment;
  let suite: WorkflowTestEnv;
  // Per-event behaviour of the fake clients, keyed by event_id.
  const behaviour = new Map<string, Behaviour>();
  const calls = { hot: new Map<string, number>(), cold: new Map<string, number>() };
  const deadLetters: DeadLetterRecord[] = [];
  const taskQueue = `test-${randomUUID()}`;

  const count = (m: Map<string, number>, id: string) => m.set(id, (m.get(id) ?? 0) + 1);
  const idOf = eventIdOfCommand;

  before(async () => {
    const deps = fakeActivityDeps({
      dynamo: async (command) => {
        const id = idOf(command);
        count(calls.hot, id);
        const b = behaviour.get(id)?.hot ?? 'ok';
        if (b === 'duplicate') throw new ConditionalCheckFailedException({ message: 'exists', $metadata: {} });
        if (b === 'fail') throw Object.assign(new Error('table unavailable'), { name: 'ServiceUnavailable' });
        if (b === 'invalid') throw Object.assign(new Error('Number overflow'), { name: 'ValidationException' });
        return {};
      },
      s3: async (command) => {
        const id = idOf(command);
        count(calls.cold, id);
        const b = behaviour.get(id)?.cold ?? 'ok';
        const n = calls.cold.get(id)!;
        const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9000'), { name: 'Error' });
        if (b === 'fail' || (typeof b === 'object' && 'failTimes' in b && n <= b.failTimes)) throw refused();
        if (b === 'slowOnce' && n === 1) await new Promise((resolve) => setTimeout(resolve, 3 * retries.fastPathTimeoutMs!));
        if (typeof b === 'object' && 'hangAfter' in b) {
          if (n <= b.hangAfter) throw refused();
          // Longer than the step's budget: the budget cuts this attempt.
          await new Promise((resolve) => setTimeout(resolve, 2 * retries.cold.maxElapsedMs));
          throw refused();
        }
        return {};
      },
      producer: async ({ messages }) => {
        for (const m of messages) deadLetters.push(JSON.parse(String(m.value)) as DeadLetterRecord);
        return [];
      },
    });
    suite = await startWorkflowTestEnv(deps, { taskQueue });
    env = suite.env;
  });

  after(async () => {
    await suite?.teardown();
  });

  const start = (b: Behaviour, policy: Config['retries'] = retries) => {
    const event = makeEnvelope();
    behaviour.set(event.event_id, b);
    const startProcessEvent = createStartProcessEvent(env.client, { address: '', namespace: 'default', taskQueue }, policy);
    return { event, startProcessEvent, result: () => env.client.workflow.getHandle(event.event_id).result() as Promise<ProcessEventResult> };
  };

  /** Starts a run with an input of the shape recorded before elapsed budgets existed. */
  const startCapOnly = async (b: Behaviour) => {
    const event = makeEnvelope();
    behaviour.set(event.event_id, b);
    const input: ProcessEventInput = { event, retries: capOnlyRetries };
    const handle = await env.client.workflow.start('processEvent', { workflowId: event.event_id, taskQueue, args: [input] });
    return { event, result: () => handle.result() as Promise<ProcessEventResult> };
  };

  const deadLetterOf = (id: string) => deadLetters.find((d) => d.workflow_id === id);
  /** Runs an event the fake clients fail for: the run must end Failed; returns the event and its dead letter. */
  const runToDeadLetter = async (b: Behaviour, policy?: Config['retries']) => {
    const { event, startProcessEvent, result } = start(b, policy);
    await startProcessEvent(event);
    await assert.rejects(result(), WorkflowFailedError);
    return { event, dl: deadLetterOf(event.event_id) };
  };
  /** What a dead letter says of the failure: where, what, after how many attempts. */
  const failureOf = (error: DeadLetterRecord['error'] | undefined) => error && { stage: error.stage, type: error.type, attempts: error.attempts };
  const historyOf = async (id: string) => (await env.client.workflow.getHandle(id).fetchHistory()).events ?? [];
  /** Each history event by the name of its attributes field, e.g. `activityTaskScheduledEventAttributes`. */
  const eventTypes = async (id: string) =>
    (await historyOf(id)).map((e) => Object.keys(e).find((k) => k.endsWith('EventAttributes') && (e as Record<string, unknown>)[k] != null) ?? '?');

  it('happy path: one workflow task from start to completion, at most 8 history events', async () => {
    const { event, startProcessEvent, result } = start({ hot: 'ok', cold: 'ok' });
    await startProcessEvent(event);
    assert.equal((await result()).cold, 'archived');
    const types = await eventTypes(event.event_id);
    assert.ok(types.length <= 8, `${types.length} history events: ${types.join(', ')}`);
    assert.equal(types.filter((t) => t === 'workflowTaskCompletedEventAttributes').length, 1, types.join(', '));
    assert.equal(types.filter((t) => t.startsWith('activityTask')).length, 0, 'no regular activity on the happy path');
    assert.equal(calls.hot.get(event.event_id), 1);
    assert.equal(calls.cold.get(event.event_id), 1);
  });

  it("eager start: a client on the worker's NativeConnection gets the first workflow task handed to that worker, and the event completes", async () => {
    const eager: boolean[] = [];
    const client = new Client({
      connection: env.nativeConnection,
      interceptors: {
        workflow: [
          {
            startWithDetails: async (input, next) => {
              const out = await next(input);
              eager.push(out.eagerlyStarted);
              return out;
            },
          },
        ],
      },
    });
    const event = makeEnvelope();
    behaviour.set(event.event_id, { hot: 'ok', cold: 'ok' });
    const startProcessEvent = createStartProcessEvent(client, { address: '', namespace: 'default', taskQueue }, retries, {
      timeoutMs: 10_000,
      requestEagerStart: true,
    });
    assert.equal(await startProcessEvent(event), 'started');
    assert.deepEqual(eager, [true]);
    assert.equal(((await client.workflow.getHandle(event.event_id).result()) as ProcessEventResult).hot, 'stored');
    // A redelivered record on this connection is recognised as already started, as on a plain one.
    assert.equal(await startProcessEvent(event), 'already-started');
  });

  it('an outage: after the fast attempt fails, the Web UI shows the step as a pending activity with its attempt count and last failure, and the event completes when it is over', async () => {
    // Backoff slow enough to watch the pending attempts.
    const slow = { ...retries, cold: { ...retries.cold, initialIntervalMs: 400, maximumIntervalMs: 400, maxElapsedMs: 60_000 } };
    const { event, startProcessEvent, result } = start({ hot: 'ok', cold: { failTimes: 4 } }, slow);
    await startProcessEvent(event);
    const pending = await waitFor(
      'a pending archiveCold with a retried attempt',
      async () => {
        const { raw } = await env.client.workflow.getHandle(event.event_id).describe();
        return raw.pendingActivities?.find((a) => a.activityType?.name === 'archiveCold' && (a.attempt ?? 0) >= 2);
      },
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    assert.match(pending.lastFailure?.message ?? '', /ECONNREFUSED/);
    assert.equal((await result()).cold, 'archived');
    assert.equal(calls.cold.get(event.event_id), 5);
    assert.equal(deadLetterOf(event.event_id), undefined);
    assert.ok(
      (await eventTypes(event.event_id)).some((t) => t === 'activityTaskScheduledEventAttributes'),
      'the fallback is a regular activity',
    );
  });

  it('a fast attempt slower than its budget falls back to the regular activity, and the event completes', async () => {
    const { event, startProcessEvent, result } = start({ hot: 'ok', cold: 'slowOnce' });
    await startProcessEvent(event);
    assert.equal((await result()).cold, 'archived');
    assert.equal(calls.cold.get(event.event_id), 2);
    assert.equal(calls.hot.get(event.event_id), 1);
  });

  it('without a fast-path budget (inputs recorded before it) both steps run as regular activities', async () => {
    const { fastPathTimeoutMs: _off, ...regularOnly } = retries;
    const { event, startProcessEvent, result } = start({ hot: 'ok', cold: 'ok' }, regularOnly);
    await startProcessEvent(event);
    assert.equal((await result()).hot, 'stored');
    const types = await eventTypes(event.event_id);
    assert.equal(types.filter((t) => t === 'activityTaskScheduledEventAttributes').length, 2, types.join(', '));
  });

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

  it('cold failure: hot write lands, the archive is retried until its budget runs out, then dead-lettered with the true attempt count; a replay may run again', async () => {
    const { event, startProcessEvent, result } = start({ hot: 'ok', cold: 'fail' });
    await startProcessEvent(event);
    const err = await result().catch((e: unknown) => e);
    assert.ok(err instanceof WorkflowFailedError, `expected the workflow to fail, got ${String(err)}`);
    assert.ok(err.cause instanceof ApplicationFailure);
    assert.equal(err.cause.type, 'EventDeadLettered');
    assert.equal(calls.hot.get(event.event_id), 1);
    const attempts = calls.cold.get(event.event_id)!;
    assert.ok(attempts >= 2, `retried (${attempts} attempts)`);
    const dl = deadLetterOf(event.event_id);
    assert.ok(dl, 'a dead-letter record for the event');
    assert.deepEqual(dl.original, event);
    assert.equal(dl.error.stage, 'archiveCold');
    assert.equal(dl.error.type, 'Error');
    assert.equal(dl.error.attempts, attempts);
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

  it('an outage shorter than the budget: the archive is retried past the old 5-attempt cap until it works, and the event completes without a dead letter', async () => {
    const long = { ...retries, cold: { ...retries.cold, maxElapsedMs: 60_000 } };
    const { event, startProcessEvent, result } = start({ hot: 'ok', cold: { failTimes: 6 } }, long);
    await startProcessEvent(event);
    assert.equal((await result()).cold, 'archived');
    assert.equal(calls.cold.get(event.event_id), 7);
    assert.equal(deadLetterOf(event.event_id), undefined);
  });

  it('an attempt cut short by the budget still counts, and the last error is reported', async () => {
    // One attempt may take the whole budget, so the hung third attempt is cut by the budget.
    const policy = { ...retries, activityTimeoutMs: retries.cold.maxElapsedMs };
    const { event, dl } = await runToDeadLetter({ hot: 'ok', cold: { hangAfter: 2 } }, policy);
    assert.ok(dl);
    assert.equal(dl.error.stage, 'archiveCold');
    assert.equal(calls.cold.get(event.event_id), 3);
    assert.equal(dl.error.attempts, 3);
    assert.equal(dl.error.type, 'Error');
    assert.match(dl.error.message, /ECONNREFUSED.*budget of 3000 ms used up/);
  });

  it('an error no retry can fix (ValidationException) is dead-lettered at once', async () => {
    const { event, dl } = await runToDeadLetter({ hot: 'invalid', cold: 'ok' });
    assert.equal(calls.hot.get(event.event_id), 1);
    assert.deepEqual(failureOf(dl?.error), { stage: 'storeHot', type: 'ValidationException', attempts: 1 });
  });

  it('hot failure: dead-lettered with stage storeHot after its retries, archive still written', async () => {
    const { event, dl } = await runToDeadLetter({ hot: 'fail', cold: 'ok' });
    assert.equal(calls.cold.get(event.event_id), 1);
    assert.deepEqual(failureOf(dl?.error), { stage: 'storeHot', type: 'ServiceUnavailable', attempts: calls.hot.get(event.event_id) });
  });

  it('an input recorded before budgets (attempt cap only) still gives up at its cap, with that count', async () => {
    const { event, result } = await startCapOnly({ hot: 'fail', cold: 'fail' });
    await assert.rejects(result(), WorkflowFailedError);
    assert.equal(calls.hot.get(event.event_id), 3);
    assert.equal(calls.cold.get(event.event_id), 4);
    const dl = deadLetterOf(event.event_id);
    assert.deepEqual(
      dl?.errors?.map((e) => [e.stage, e.attempts]),
      [
        ['storeHot', 3],
        ['archiveCold', 4],
      ],
    );
  });

  it('both failing: one dead-letter record listing both stages', async () => {
    const { event, startProcessEvent, result } = start({ hot: 'fail', cold: 'fail' });
    await startProcessEvent(event);
    await assert.rejects(result(), WorkflowFailedError);
    const records = deadLetters.filter((d) => d.workflow_id === event.event_id);
    assert.equal(records.length, 1);
    assert.deepEqual(
      records[0]!.errors?.map((e) => e.stage),
      ['storeHot', 'archiveCold'],
    );
  });
});
