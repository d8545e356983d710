/**
 * `events dlq retry` and `events workflows retry` on a real Temporal dev server (started fresh by TestWorkflowEnvironment)
 * with the real workflow and activities over fake AWS clients: one run in each way a run can end,
 * and what each command reports and does for it.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { retryEndedRuns, parseWorkflowsRetryArgs } from '../../src/ops/workflowsRetry';
import { retryDeadLetters } from '../../src/ops/dlq';
import { formatOutcomeCounts, formatRetryResult, retryEvent, type OutcomeCounts, type RetryResult } from '../../src/ops/retry';
import type { Config } from '../../src/platform/config';
import { createStartProcessEvent } from '../../src/bridge/startProcessEvent';
import type { EventEnvelope } from '../../src/events/event';
import type { DeadLetterRecord } from '../../src/platform/kafka/deadLetter';
import type { ProcessEventInput } from '../../workflows/contract';
import { makeEnvelope } from '../support/events';
import { dlqOf } from '../support/cliFakes';
import { eventIdOfCommand, fakeActivityDeps, startWorkflowTestEnv, type WorkflowTestEnv } from '../support/workflowWorker';
import { waitFor } from '../support/wait';
import { HANG_TIMEOUT_MS } from '../support/timeouts';

/** Long budgets: a "stalled" event stays Running for the whole test. */
const retries: Config['retries'] = {
  hot: { maximumAttempts: 0, initialIntervalMs: 100, maximumIntervalMs: 200, maxElapsedMs: 600_000 },
  cold: { maximumAttempts: 0, initialIntervalMs: 100, maximumIntervalMs: 200, maxElapsedMs: 600_000 },
  activityTimeoutMs: 5_000,
};

/** ok: stored and archived; invalid: DynamoDB refuses the item (dead-lettered, Failed); stall: S3 refuses connections. */
type Behaviour = 'ok' | 'invalid' | 'stall';

describe('dlq retry and workflows retry outcomes', { timeout: HANG_TIMEOUT_MS }, () => {
  let suite: WorkflowTestEnv;
  let client: Client;
  const taskQueue = `rerun-${randomUUID()}`;
  const behaviour = new Map<string, Behaviour>();
  const temporal = { address: '', namespace: 'default', taskQueue } as Config['temporal'];
  let start: ReturnType<typeof createStartProcessEvent>;

  const idOf = eventIdOfCommand;

  before(async () => {
    const deps = fakeActivityDeps({
      dynamo: async (command) => {
        if (behaviour.get(idOf(command)) === 'invalid') throw Object.assign(new Error('Number overflow'), { name: 'ValidationException' });
        return {};
      },
      s3: async (command) => {
        if (behaviour.get(idOf(command)) === 'stall') throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9000'), { name: 'Error' });
        return {};
      },
    });
    suite = await startWorkflowTestEnv(deps, { taskQueue });
    client = suite.env.client;
    start = createStartProcessEvent(client, temporal, retries);
  });

  after(async () => {
    await suite?.teardown();
  });

  const status = async (id: string) => (await client.workflow.getHandle(id).describe()).status.name;
  const settle = (id: string, expected: string) => waitFor(`${id} to be ${expected}`, async () => (await status(id)) === expected, { timeoutMs: 60_000 });
  const event = (b: Behaviour, overrides: Partial<EventEnvelope> = {}) => {
    const e = makeEnvelope(overrides);
    behaviour.set(e.event_id, b);
    return e;
  };
  const lines = () => {
    const out: string[] = [];
    // The text the CLI prints: each result's line, then the counts' line.
    return { out, write: (r: RetryResult) => void out.push(formatRetryResult(r)), end: (c: OutcomeCounts) => (out.push(formatOutcomeCounts(c)), c) };
  };
  const lineFor = (out: string[], id: string) => out.find((l) => l.startsWith(id)) ?? `(no line for ${id})`;

  // One event per way a run can end.
  const e = {} as Record<'completed' | 'failed' | 'running' | 'terminated' | 'timedOut' | 'canceled' | 'replayed', EventEnvelope>;
  const badInputId = randomUUID();

  before(async () => {
    e.completed = event('ok');
    e.failed = event('invalid', { event_type: 'signup' });
    e.running = event('stall');
    e.terminated = event('stall');
    e.timedOut = event('stall');
    e.canceled = event('stall');
    e.replayed = event('invalid');
    for (const x of [e.completed, e.failed, e.running, e.terminated, e.canceled, e.replayed]) await start(x);
    // A run with a time limit (as an operator might start one by hand), which it overruns.
    const input: ProcessEventInput = { event: e.timedOut, retries };
    await client.workflow.start('processEvent', { workflowId: e.timedOut.event_id, taskQueue, args: [input], workflowExecutionTimeout: '2s' });
    // A run whose input is not a valid event (it fails at once, non-retryable).
    await client.workflow.start('processEvent', { workflowId: badInputId, taskQueue, args: [{ event: { event_id: badInputId, junk: true }, retries }] });

    await settle(e.completed.event_id, 'COMPLETED');
    await settle(e.failed.event_id, 'FAILED');
    await settle(e.replayed.event_id, 'FAILED');
    await settle(badInputId, 'FAILED');
    await waitFor('the stalled runs to be retrying', async () => {
      const d = await client.workflow.getHandle(e.terminated.event_id).describe();
      return d.raw.pendingActivities?.some((a) => (a.attempt ?? 0) >= 2);
    });
    await client.workflow.getHandle(e.terminated.event_id).terminate('operator stopped it');
    await client.workflow.getHandle(e.canceled.event_id).cancel();
    await settle(e.terminated.event_id, 'TERMINATED');
    await settle(e.canceled.event_id, 'CANCELLED');
    await settle(e.timedOut.event_id, 'TIMED_OUT');
    // Dead-lettered, then replayed once the cause was fixed: its latest run completed.
    behaviour.set(e.replayed.event_id, 'ok');
    assert.equal(await start(e.replayed), 'started');
    await settle(e.replayed.event_id, 'COMPLETED');
    // Visibility lags the runs a little: wait until it lists every ended run.
    await waitFor('visibility to list the ended runs', async () => {
      let n = 0;
      for await (const _ of client.workflow.list({ query: `TaskQueue = '${taskQueue}' AND ExecutionStatus != 'Running' AND ExecutionStatus != 'Completed'` }))
        n++;
      return n === 6;
    });
  });

  it('dlq retry reports per event: completed earlier, still running, restarted, refused; an id not in the DLQ is refused', async () => {
    const dl = (x: EventEnvelope | object, stage: DeadLetterRecord['error']['stage'] = 'archiveCold') =>
      JSON.stringify({ original: x, error: { stage, type: 'Error', message: 'down', attempts: 3 }, failed_at: new Date().toISOString() });
    const kafka = dlqOf([dl(e.completed), dl(e.running), dl(e.failed, 'storeHot'), dl({ event_type: 'x' }, 'bridge'), 'not json']);
    const missing = randomUUID();

    // Dry run first: nothing starts.
    const dry = lines();
    dry.end(await retryDeadLetters({ kafka, dlqTopic: 'dlq', client, start }, { eventIds: new Set(), dryRun: true }, dry.write));
    assert.match(lineFor(dry.out, e.failed.event_id), /would restart \(previous run Failed\)/);
    assert.equal(await status(e.failed.event_id), 'FAILED');

    behaviour.set(e.failed.event_id, 'ok');
    const real = lines();
    const tally = real.end(await retryDeadLetters({ kafka, dlqTopic: 'dlq', client, start }, { eventIds: new Set(), dryRun: false }, real.write));
    assert.match(lineFor(real.out, e.completed.event_id), / completed earlier/);
    assert.match(lineFor(real.out, e.running.event_id), / still running/);
    assert.match(lineFor(real.out, e.failed.event_id), / restarted \(previous run Failed\) \[dead-lettered at storeHot: down\]/);
    assert.ok(
      real.out.some((l) => /^record 0:3 refused: not a valid event \(.*event_id/.test(l)),
      real.out.join('\n'),
    );
    assert.ok(real.out.includes('record 0:4 refused: not a dead-letter record'), real.out.join('\n'));
    assert.equal(real.out.at(-1), 'restarted 1, would restart 0, completed earlier 1, still running 1, refused 2');
    assert.equal(tally.refused, 2);
    await settle(e.failed.event_id, 'COMPLETED');

    // Asking for ids: one in the DLQ (its run completed by now), one that is not.
    const picked = lines();
    const t2 = picked.end(
      await retryDeadLetters({ kafka, dlqTopic: 'dlq', client, start }, { eventIds: new Set([e.failed.event_id, missing]), dryRun: false }, picked.write),
    );
    assert.deepEqual(picked.out, [
      `${e.failed.event_id} completed earlier [dead-lettered at storeHot: down]`,
      `${missing} refused: not in the DLQ`,
      'restarted 0, would restart 0, completed earlier 1, still running 0, refused 1',
    ]);
    assert.equal(t2.refused, 1);
  });

  it('a retry while the previous run is still Running is reported as such, and starts nothing', async () => {
    const before = (await client.workflow.getHandle(e.running.event_id).describe()).runId;
    assert.deepEqual(await retryEvent(client, start, e.running, { dryRun: false }), { kind: 'still-running' });
    assert.equal((await client.workflow.getHandle(e.running.event_id).describe()).runId, before);
  });

  it('workflows retry finds every run that ended other than Completed, filters, and restarts each with its original event', async () => {
    // --dry-run lists without starting.
    const dry = lines();
    dry.end(await retryEndedRuns({ client, start, taskQueue }, parseWorkflowsRetryArgs(['--dry-run']), dry.write));
    assert.match(lineFor(dry.out, e.terminated.event_id), /would restart \(previous run Terminated\)/);
    assert.match(lineFor(dry.out, e.timedOut.event_id), /would restart \(previous run TimedOut\)/);
    assert.match(lineFor(dry.out, e.canceled.event_id), /would restart \(previous run Canceled\)/);
    assert.match(lineFor(dry.out, e.replayed.event_id), / completed earlier/);
    assert.match(lineFor(dry.out, e.failed.event_id), / completed earlier/, 'replayed by the previous test');
    assert.match(lineFor(dry.out, badInputId), /refused: its input is not a valid event/);
    assert.ok(!dry.out.some((l) => l.startsWith(e.running.event_id) || l.startsWith(e.completed.event_id)), 'running and completed runs are not listed');
    assert.equal(await status(e.terminated.event_id), 'TERMINATED');

    // Filters: by status, by event type.
    const onlyTerminated = lines();
    onlyTerminated.end(
      await retryEndedRuns({ client, start, taskQueue }, parseWorkflowsRetryArgs(['--status', 'terminated', '--dry-run']), onlyTerminated.write),
    );
    assert.deepEqual(onlyTerminated.out.slice(0, -1), [`${e.terminated.event_id} would restart (previous run Terminated)`]);
    const signups = lines();
    signups.end(await retryEndedRuns({ client, start, taskQueue }, parseWorkflowsRetryArgs(['--event-type', 'signup', '--dry-run']), signups.write));
    assert.deepEqual(signups.out.slice(0, -1), [`${e.failed.event_id} completed earlier`]);

    // The real thing, once the cause is gone.
    for (const x of [e.terminated, e.timedOut, e.canceled]) behaviour.set(x.event_id, 'ok');
    const real = lines();
    const tally = real.end(await retryEndedRuns({ client, start, taskQueue }, parseWorkflowsRetryArgs([]), real.write));
    assert.equal(real.out.at(-1), 'restarted 3, would restart 0, completed earlier 2, still running 0, refused 1');
    assert.equal(tally.refused, 1);
    for (const x of [e.terminated, e.timedOut, e.canceled]) {
      await settle(x.event_id, 'COMPLETED');
      const history = await client.workflow.getHandle(x.event_id).fetchHistory();
      const payload = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
      const input = JSON.parse(Buffer.from(payload.data!).toString('utf8')) as ProcessEventInput;
      assert.deepEqual(input.event, x, 'the original event');
      assert.deepEqual(input.retries, retries, "today's retry policy");
    }

    // A second pass finds the same ended runs, whose events have all completed since.
    const again = lines();
    again.end(
      await retryEndedRuns(
        { client, start, taskQueue },
        parseWorkflowsRetryArgs(['--status', 'Terminated', '--status', 'TimedOut', '--status', 'Canceled']),
        again.write,
      ),
    );
    assert.equal(again.out.at(-1), 'restarted 0, would restart 0, completed earlier 3, still running 0, refused 0');
  });
});
