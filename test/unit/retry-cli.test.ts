import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { parseWorkflowsRetryArgs, workflowsRetryQuery } from '../../src/ops/workflowsRetry';
import { parseDlqRetryArgs } from '../../src/ops/dlq';
import { REPO_ROOT } from '../support/paths';

/** A command line's words, for flags and values without spaces. */
const words = (line: string) => line.split(' ');
/** `npm run <script> -- <args>` as a person types it, with `env` added to the environment. */
const npmRun = (script: string, args: string[], env: Record<string, string>) =>
  spawnSync('npm', ['run', '--silent', script, '--', ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 });

describe('dlq retry (npm run replay-dlq) arguments', () => {
  it('reads repeated --event-id (lower-cased), repeated --stage, --since and --dry-run', () => {
    const args = parseDlqRetryArgs(words('--event-id AA --event-id bb --stage archiveCold --stage bridge --since 2026-11-25T11:00:00+01:00 --dry-run'));
    assert.deepEqual([...args.eventIds], ['aa', 'bb']);
    assert.deepEqual(args.stages, ['archiveCold', 'bridge']);
    assert.equal(args.since, '2026-11-25T10:00:00.000Z');
    assert.equal(args.dryRun, true);
  });

  it('names the flag that is wrong', () => {
    assert.throws(() => parseDlqRetryArgs(['--stage', 'cold']), /--stage must be one of storeHot, archiveCold, bridge, got "cold"/);
    assert.throws(() => parseDlqRetryArgs(['--evnt-id', 'x']), /--evnt-id/);
    assert.throws(() => parseDlqRetryArgs(['--event-id']), /--event-id/);
    assert.throws(() => parseDlqRetryArgs(['--since', 'yesterday']), /--since must be an ISO-8601 time/);
  });

  it('npm run replay-dlq is events dlq retry: exits 2 with usage on a bad flag, before touching Kafka', () => {
    const run = npmRun('replay-dlq', ['--stage', 'nope'], { KAFKA_BOOTSTRAP_SERVERS: '127.0.0.1:1' });
    assert.equal(run.status, 2);
    assert.match(run.stderr, /events: --stage must be one of storeHot, archiveCold, bridge, got "nope"/);
    assert.match(run.stderr, /Usage: events dlq retry/);
  });
});

describe('workflows retry (npm run redrive) arguments', () => {
  it('reads --status (any case, repeatable), --event-type, --closed-after/--closed-before, --task-queue, --dry-run', () => {
    const args = parseWorkflowsRetryArgs(
      words(
        '--status timedout --status Terminated --event-type page_view --closed-after 2026-11-25T10:00:00+01:00 --closed-before 2026-11-26 --task-queue events --dry-run',
      ),
    );
    assert.deepEqual(args, {
      help: false,
      statuses: ['TimedOut', 'Terminated'],
      eventType: 'page_view',
      closedAfter: '2026-11-25T09:00:00.000Z',
      closedBefore: '2026-11-26T00:00:00.000Z',
      taskQueue: 'events',
      dryRun: true,
    });
    assert.equal(
      workflowsRetryQuery(args, 'ignored'),
      "WorkflowType = 'processEvent' AND TaskQueue = 'events' AND (ExecutionStatus = 'TimedOut' OR ExecutionStatus = 'Terminated') AND EventType = 'page_view' AND CloseTime > '2026-11-25T09:00:00.000Z' AND CloseTime < '2026-11-26T00:00:00.000Z'",
    );
  });

  it('by default looks at every status but Completed and Running, on the configured task queue', () => {
    assert.equal(
      workflowsRetryQuery(parseWorkflowsRetryArgs([]), 'events'),
      "WorkflowType = 'processEvent' AND TaskQueue = 'events' AND (ExecutionStatus = 'Failed' OR ExecutionStatus = 'Terminated' OR ExecutionStatus = 'TimedOut' OR ExecutionStatus = 'Canceled')",
    );
  });

  it('names the flag that is wrong, and lets nothing break out of the query', () => {
    assert.throws(() => parseWorkflowsRetryArgs(['--status', 'Completed']), /--status must be one of Failed, Terminated, TimedOut, Canceled, got "Completed"/);
    assert.throws(() => parseWorkflowsRetryArgs(['--closed-after', 'yesterday']), /--closed-after must be an ISO-8601 time/);
    assert.throws(() => parseWorkflowsRetryArgs(['--event-type', "x' OR 1=1 OR '"]), /--event-type must be an event type/);
    assert.throws(() => parseWorkflowsRetryArgs(['--task-queue', "q'"]), /--task-queue must be a task queue name/);
    assert.throws(() => parseWorkflowsRetryArgs(['--stage', 'x']), /--stage/);
  });

  it('npm run redrive is events workflows retry: exits 2 with usage on a bad flag, before touching Temporal', () => {
    const run = npmRun('redrive', ['--status', 'Done'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    assert.equal(run.status, 2);
    assert.match(run.stderr, /events: --status must be one of Failed, Terminated, TimedOut, Canceled, got "Done"/);
    assert.match(run.stderr, /Usage: events workflows retry/);
  });
});
