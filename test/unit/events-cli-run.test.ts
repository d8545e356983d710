/**
 * The run step of every `events` command, called with fakes for its clients: each returns a plain
 * result object and prints nothing. (status, archive reingest and workflows check-determinism have
 * their fuller fake-client tests in events-cli.test.ts; the retries' outcomes against a real
 * Temporal are in test/integration/retry.test.ts.) Then the old command names, and the hostile command lines.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { WorkflowNotFoundError } from '@temporalio/client';
import { defaultFailureConverter, defaultPayloadConverter } from '@temporalio/common';
import { UsageError } from '../../src/ops/args';
import { countsBackfill } from '../../src/ops/countsBackfill';
import { dlqShow, listDeadLetters, retryDeadLetters } from '../../src/ops/dlq';
import { main, parseCommand, type Io } from '../../src/ops/events';
import { retryEndedRuns, type WorkflowsRetryClient } from '../../src/ops/workflowsRetry';
import type { RetryResult } from '../../src/ops/retry';
import type { EventEnvelope } from '../../src/events/event';
import { marshallItem } from '../../src/store/hot/itemCodec';
import { toItem } from '../../src/store/hot/layout';
import { makeEnvelope } from '../support/events';
import { dlqOf } from '../support/cliFakes';

const deadLetter = (original: object, stage = 'archiveCold', failedAt = '2026-11-25T10:00:00.000Z') =>
  JSON.stringify({ original, error: { stage, type: 'Error', message: 'S3 down', attempts: 3 }, failed_at: failedAt });

/** Temporal as far as a retry looks: each id's latest run status (absent = no run), and the starts it gets. */
function temporalWith(statuses: Record<string, string>) {
  const started: string[] = [];
  const workflow = {
    getHandle: (id: string) => ({
      describe: async () => {
        const name = statuses[id];
        if (name === undefined) throw new WorkflowNotFoundError('not found', id, undefined);
        return { status: { name } };
      },
    }),
  };
  const start = async (event: EventEnvelope) => {
    started.push(event.event_id);
    statuses[event.event_id] = 'RUNNING';
    return 'started' as const;
  };
  return { client: { workflow } as never, start, started };
}

describe('events run steps return their result and print nothing', () => {
  const failed = makeEnvelope();
  const done = makeEnvelope();

  it('dlq list: one row per matching record, unreadable records included', async () => {
    const kafka = dlqOf([deadLetter(failed, 'storeHot'), deadLetter(done), 'not json']);
    const rows = await listDeadLetters({ kafka, dlqTopic: 'dlq' }, { eventIds: new Set() });
    assert.deepEqual(
      rows.map((r) => [r.position, r.event_id, r.stage, r.problem]),
      [
        ['0:0', failed.event_id, 'storeHot', null],
        ['0:1', done.event_id, 'archiveCold', null],
        ['0:2', null, null, 'not a dead-letter record'],
      ],
    );
    const storeHot = await listDeadLetters({ kafka, dlqTopic: 'dlq' }, { eventIds: new Set(), stages: ['storeHot'] });
    assert.deepEqual(
      storeHot.map((r) => r.event_id),
      [failed.event_id],
    );
  });

  it("dlq show: the event's records and its latest run, or unknown while Temporal is away", async () => {
    const kafka = dlqOf([deadLetter(failed), deadLetter(done), deadLetter(failed, 'storeHot')]);
    const { client } = temporalWith({ [failed.event_id]: 'FAILED' });
    const shown = await dlqShow({ kafka, dlqTopic: 'dlq', client }, failed.event_id);
    assert.equal(shown.event_id, failed.event_id);
    assert.deepEqual(
      shown.records.map((r) => [r.position, r.error.stage]),
      [
        ['0:0', 'archiveCold'],
        ['0:2', 'storeHot'],
      ],
    );
    assert.equal(shown.latest_run, 'Failed');
    const away = await dlqShow({ kafka, dlqTopic: 'dlq', client: new Error('connect ECONNREFUSED') }, failed.event_id);
    assert.equal(away.latest_run, 'unknown (Temporal unreachable: connect ECONNREFUSED)');
  });

  it('dlq retry: restarts what ended without completing, leaves the rest, refuses what it cannot', async () => {
    const running = makeEnvelope();
    const missing = '00000000-0000-4000-8000-000000000000';
    const kafka = dlqOf([deadLetter(failed), deadLetter(done), deadLetter(running), 'not json']);
    const t = temporalWith({ [failed.event_id]: 'FAILED', [done.event_id]: 'COMPLETED', [running.event_id]: 'RUNNING' });
    const deps = { kafka, dlqTopic: 'dlq', client: t.client, start: t.start };

    const dry: RetryResult[] = [];
    const dryCounts = await retryDeadLetters(deps, { eventIds: new Set(), dryRun: true }, (r) => dry.push(r));
    assert.deepEqual(dryCounts, { restarted: 0, would_restart: 1, completed_earlier: 1, still_running: 1, refused: 1 });
    assert.deepEqual(t.started, [], 'a dry run starts nothing');

    const results: RetryResult[] = [];
    const counts = await retryDeadLetters(deps, { eventIds: new Set([failed.event_id, missing]), dryRun: false }, (r) => results.push(r));
    assert.deepEqual(counts, { restarted: 1, would_restart: 0, completed_earlier: 0, still_running: 0, refused: 1 });
    assert.deepEqual(t.started, [failed.event_id]);
    assert.deepEqual(results, [
      { event_id: failed.event_id, outcome: 'restarted', detail: 'restarted (previous run Failed)', stage: 'archiveCold', error: 'S3 down' },
      { event_id: missing, outcome: 'refused', detail: 'refused: not in the DLQ' },
    ]);
  });

  it('workflows retry: each ended run once, with the event its run started with', async () => {
    const terminated = makeEnvelope();
    const bad = 'bad-input';
    const inputs: Record<string, unknown> = {
      [terminated.event_id]: { event: terminated },
      [done.event_id]: { event: done },
      [bad]: { event: { junk: true } },
    };
    const t = temporalWith({ [terminated.event_id]: 'TERMINATED', [done.event_id]: 'COMPLETED', [bad]: 'FAILED' });
    const queries: string[] = [];
    const client: WorkflowsRetryClient = {
      options: { loadedDataConverter: { payloadConverter: defaultPayloadConverter, failureConverter: defaultFailureConverter, payloadCodecs: [] } },
      workflow: {
        ...(t.client as { workflow: object }).workflow,
        list: ({ query }: { query: string }) => {
          queries.push(query);
          // Two runs of one workflow ID: it is looked at once.
          return (async function* () {
            for (const workflowId of [terminated.event_id, terminated.event_id, done.event_id, bad]) yield { workflowId, runId: `${workflowId}-run` };
          })();
        },
        getHandle: (id: string) => ({
          ...(t.client as { workflow: { getHandle: (id: string) => object } }).workflow.getHandle(id),
          fetchHistory: async () => ({
            events: [{ workflowExecutionStartedEventAttributes: { input: { payloads: [defaultPayloadConverter.toPayload(inputs[id])] } } }],
          }),
        }),
      } as never,
    };
    const results: RetryResult[] = [];
    const counts = await retryEndedRuns({ client, start: t.start, taskQueue: 'events' }, { statuses: ['Terminated', 'Failed'], dryRun: false }, (r) =>
      results.push(r),
    );
    assert.deepEqual(counts, { restarted: 1, would_restart: 0, completed_earlier: 1, still_running: 0, refused: 1 });
    assert.deepEqual(t.started, [terminated.event_id]);
    assert.deepEqual(
      results.map((r) => [r.event_id, r.outcome]),
      [
        [terminated.event_id, 'restarted'],
        [done.event_id, 'completed-earlier'],
        [bad, 'refused'],
      ],
    );
    assert.match(results[2]!.detail, /^refused: its input is not a valid event/);
    assert.match(queries[0]!, /TaskQueue = 'events' AND \(ExecutionStatus = 'Terminated' OR ExecutionStatus = 'Failed'\)/);
  });

  it('counts backfill: every item of the time index announced, page by page; the count returned', async () => {
    const events = [makeEnvelope(), makeEnvelope(), makeEnvelope()];
    const pages = [[events[0]!, events[1]!], [events[2]!]];
    const sent: unknown[] = [];
    const dynamo = {
      send: async (cmd: unknown) => {
        assert.ok(cmd instanceof QueryCommand, 'the time index is queried, never scanned');
        sent.push(cmd.input.ExclusiveStartKey);
        const page = cmd.input.ExclusiveStartKey ? 1 : 0;
        return { Items: pages[page]!.map((e) => marshallItem(toItem(e, 1))), LastEvaluatedKey: page === 0 ? { k: { S: 'next' } } : undefined };
      },
    };
    const announced: string[][] = [];
    const progress: number[] = [];
    const total = await countsBackfill(
      { dynamo: dynamo as never, table: 'EventsHot', shards: 1, announce: async (page) => void announced.push(page.map((e) => e.event_id)) },
      (n) => progress.push(n),
    );
    assert.equal(total, 3);
    assert.deepEqual(announced, [[events[0]!.event_id, events[1]!.event_id], [events[2]!.event_id]]);
    assert.deepEqual(progress, [2, 3]);
    assert.equal(sent.length, 2);
  });
});

/** main() over captured streams; a usage error is reported before any configuration is read. */
async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (t) => void out.push(t), err: (t) => void err.push(t), errIsTTY: false };
  const code = await main(argv, io);
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

describe('events: the old command names', () => {
  const renamed = [
    ['dlq replay', 'dlq retry'],
    ['archive replay', 'archive reingest'],
    ['workflows replay', 'workflows check-determinism'],
    ['workflows redrive', 'workflows retry'],
  ] as const;

  it('each still runs its command, with a one-line notice naming the new name on stderr only', async () => {
    for (const [old, now] of renamed) {
      const help = await run(...old.split(' '), '--help');
      assert.equal(help.code, 0, old);
      assert.match(help.stdout, new RegExp(`^Usage: events ${now} `), old);
      assert.doesNotMatch(help.stdout, /is now/, `${old}: nothing on stdout but the help`);
      assert.equal(help.stderr, `events: '${old}' is now '${now}'; the old name keeps working`, old);
    }
    const cmd = parseCommand(['dlq', 'replay', '--event-id', 'A', '--json']);
    assert.ok(cmd.kind === 'dlq retry' && cmd.args.json && cmd.args.eventIds.has('a'));
    assert.match(cmd.notice ?? '', /'dlq replay' is now 'dlq retry'/);
    assert.equal(parseCommand(['dlq', 'retry', '--json']).notice, undefined, 'the new name says nothing more');
  });

  it('an old name with a wrong flag: exit 2, the flag named, the new usage, then the notice', async () => {
    const r = await run('workflows', 'redrive', '--stage', 'storeHot');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^events: Unknown option '--stage'\nUsage: events workflows retry /);
    assert.match(r.stderr, /'workflows redrive' is now 'workflows retry'/);
    assert.equal(r.stdout, '');
  });

  it('events --help lists the new names and the old ones', async () => {
    const r = await run('--help');
    for (const [old, now] of renamed) {
      assert.match(r.stdout, new RegExp(`^  ${now} `, 'm'));
      assert.match(r.stdout, new RegExp(`^  ${old} +now '${now}'`, 'm'));
    }
    assert.match((await run('dlq', '--help')).stdout, /^ {2}replay +old name of 'dlq retry'/m);
  });

  it("each command's own help names its old name, the one the command answers to", async () => {
    for (const [old, now] of renamed) {
      const help = (await run(...now.split(' '), '--help')).stdout;
      assert.match(help, new RegExp(`'events ${old}' is its old name`), now);
    }
  });
});

describe('events: hostile command lines get exit 2 and a message naming the flag', () => {
  const cases: [string[], RegExp][] = [
    // unknown flags, on every command, and short ones
    [['status', '--verbose'], /Unknown option '--verbose'/],
    [['dlq', 'retry', '-x'], /Unknown option '-x'/],
    [['counts', 'backfill', '--from', '2026-11-25'], /Unknown option '--from'/],
    // missing values, and a value that looks like a flag
    [['dlq', 'retry', '--event-id'], /Option '--event-id <value>' argument missing/],
    [['dlq', 'list', '--since', '--json'], /--since needs a value/],
    [['workflows', 'check-determinism', '--limit', '-5'], /--limit needs a value; to give one that starts with '-', write --limit=VALUE/],
    // repeated single-value flags (parseArgs alone would keep the last)
    [['archive', 'reingest', '--from', '2026-11-24', '--from', '2026-11-25', '--to', '2026-11-25'], /--from was given more than once/],
    [['status', '--timeout-ms=200', '--timeout-ms', '300'], /--timeout-ms was given more than once/],
    [['dlq', 'list', '--json', '--json'], /--json was given more than once/],
    // --flag=value is the same flag as --flag value
    [['workflows', 'check-determinism', '--limit=all'], /--limit must be a positive integer, got "all"/],
    [['dlq', 'list', '--json=false'], /Option '--json' does not take an argument/],
    // negative, zero, huge, non-numeric numbers
    [['workflows', 'check-determinism', '--limit=-5'], /--limit must be a positive integer, got "-5"/],
    [['workflows', 'check-determinism', '--limit', '0'], /--limit must be a positive integer, got "0"/],
    [['workflows', 'check-determinism', '--limit', '99999999999999999999'], /--limit must be at most 100000, got 99999999999999999999/],
    [['workflows', 'check-determinism', '--limit', '1e3'], /--limit must be a positive integer, got "1e3"/],
    [['archive', 'reingest', '--from', '2026-11-25', '--to', '2026-11-25', '--page-size', '1001'], /--page-size must be at most 1000/],
    [['status', '--timeout-ms', '0x10'], /--timeout-ms must be an integer between 100 and 120000/],
    // empty strings
    [['dlq', 'retry', '--event-id', ''], /--event-id must not be empty/],
    [['dlq', 'retry', '--event-id='], /--event-id must not be empty/],
    [['dlq', 'show', ''], /EVENT_ID must not be empty/],
    [['archive', 'reingest', '--from', '2026-11-25', '--to', '2026-11-25', '--checkpoint', ''], /--checkpoint must not be empty/],
    [['archive', 'reingest', '--from', '2026-11-25', '--to', '2026-11-25', '--checkpoint', '/tmp/'], /--checkpoint must be a file path/],
    [['workflows', 'check-determinism', '--query', '   '], /--query must not be blank/],
    [['status', '--producer-url', ''], /--producer-url must not be empty/],
    // control characters in values
    [['dlq', 'show', 'abc\u001b[2J'], /EVENT_ID must not contain control characters \(found U\+001B\)/],
    [
      ['archive', 'reingest', '--from', '2026-11-25', '--to', '2026-11-25', '--user', 'u\nforged'],
      /--user must not contain control characters \(found U\+000A\)/,
    ],
    [['workflows', 'check-determinism', '--query', "ExecutionStatus = 'Running'\u202e"], /--query must not contain control characters \(found U\+202E\)/],
    [['workflows', 'retry', '--event-type', 'signup\u0000'], /--event-type must not contain control characters/],
    // dates and times that do not exist, or ranges that are empty
    [['dlq', 'list', '--since', '2026-02-30T10:00:00Z'], /--since must be an ISO-8601 time/],
    [
      ['workflows', 'retry', '--closed-after', '2026-11-26', '--closed-before', '2026-11-25'],
      /--closed-after \(2026-11-26T00:00:00.000Z\) must be before --closed-before/,
    ],
    // an old name with the wrong flags
    [['dlq', 'replay', '--status', 'Failed'], /Unknown option '--status'/],
    [['archive', 'replay', '--from', '2026-11-25'], /--to is required/],
  ];

  it('in the parse step (UsageError, nothing touched)', () => {
    for (const [argv, message] of cases) {
      assert.throws(
        () => parseCommand(argv),
        (err: unknown) => err instanceof UsageError && message.test(err.message),
        JSON.stringify(argv),
      );
    }
  });

  it('at the command line: exit 2, the message and the usage on stderr, nothing on stdout, no raw control echoed', async () => {
    for (const [argv, message] of cases) {
      const r = await run(...argv);
      assert.equal(r.code, 2, JSON.stringify(argv));
      assert.match(r.stderr, new RegExp(`^events: ${message.source}`), JSON.stringify(argv));
      assert.match(r.stderr, /\nUsage: events /, JSON.stringify(argv));
      assert.equal(r.stdout, '', JSON.stringify(argv));
      // eslint-disable-next-line no-control-regex -- a raw control is what must not be there
      assert.doesNotMatch(r.stderr.replace(/\n/g, ''), /[\u0000-\u001f\u202e]/, JSON.stringify(argv));
    }
  });
});
