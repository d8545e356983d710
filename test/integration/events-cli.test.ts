/**
 * The `events` CLI against the real stack and platform (one processor: bridge + worker), run as
 * a child process the way a person runs it (bin/events, the platform's environment): status
 * shows the run counts, and the lag while the processor is stopped; dlq list / show / replay on an event dead-lettered while S3
 * was stopped; archive replay restores DynamoDB items deleted after their runs completed, twice
 * without doubling anything, and --dry-run changes nothing; workflows replay passes on the
 * current workflow code. Every resource is the run's own (test/support/platform.ts).
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { DeleteItemCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { ArchiveResult } from '../../src/ops/archiveReingest';
import type { DlqListRow } from '../../src/ops/dlq';
import type { RetryResult } from '../../src/ops/retry';
import type { StatusReport } from '../../src/ops/status';
import type { RunReplay } from '../../src/ops/workflowsCheckDeterminism';
import { bridgeUrl, rawTopicOffsets } from '../support/bridge';
import { countByType, countedEvents, countsCaughtUp, getItem, postJson } from '../support/clients';
import { startPlatform, type Platform } from '../support/platform';
import { REPO_ROOT } from '../support/paths';
import { upOrDown } from '../support/status';
import { waitFor, waitUntil } from '../support/wait';
import { makeEnvelope } from '../support/events';
import { serializeEnvelope } from '../../src/events/event';
import { HANG_TIMEOUT_MS } from '../support/timeouts';

const stack = (...args: string[]) => promisify(execFile)('bash', [`${REPO_ROOT}/infra/stack.sh`, ...args]);

describe('the events CLI on the real stack', { timeout: HANG_TIMEOUT_MS }, () => {
  let p: Platform;
  let bridge: string;
  const tmp = mkdtempSync(join(tmpdir(), 'events-cli-'));
  const type = `cli_${randomUUID().slice(0, 8)}`;
  // Two archive days in the range, one day after it.
  const inRange = ['2026-11-20T08:00:00.000Z', '2026-11-20T09:30:00.000Z', '2026-11-20T23:59:59.000Z', '2026-11-21T00:00:00.000Z', '2026-11-21T12:00:00.000Z'];
  const outside = '2026-11-22T00:00:01.000Z';
  let ids: string[] = [];
  let outsideId: string;

  const cli = (...args: string[]) =>
    promisify(execFile)(join(REPO_ROOT, 'bin', 'events'), args, { cwd: REPO_ROOT, env: { ...process.env, ...p.env }, timeout: 120_000 }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code?: number; killed?: boolean; stdout?: string; stderr?: string }) => ({
        code: e.killed ? -1 : (e.code ?? -1),
        stdout: e.stdout ?? '',
        stderr: e.stderr ?? '',
      }),
    );
  const status = async (id: string) => (await p.temporal.workflow.getHandle(id).describe()).status.name;
  const completed = (id: string) => waitFor(`workflow ${id} to complete`, async () => (await status(id)) === 'COMPLETED', { timeoutMs: 60_000 });
  const countRuns = async (query: string) => (await p.temporal.workflow.count(`TaskQueue = '${p.config.temporal.taskQueue}' AND ${query}`)).count;

  before(async () => {
    p = await startPlatform({
      processors: 1,
      env: {
        // A short archive budget, so an event posted while S3 is stopped is dead-lettered in seconds.
        COLD_RETRY_MAX_ELAPSED_MS: '3000',
        COLD_RETRY_INITIAL_INTERVAL_MS: '200',
        COLD_RETRY_MAX_INTERVAL_MS: '500',
        ACTIVITY_TIMEOUT_MS: '1000',
        FAST_PATH_TIMEOUT_MS: '500',
      },
    });
    bridge = bridgeUrl(p, 'processor-1');
    const res = await postJson(`${p.producerUrl}/events/batch`, {
      events: [...inRange, outside].map((timestamp, i) => ({ event_type: type, user_id: `user-${i % 2}`, timestamp, payload: { n: i } })),
    });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const all = (res.body.results as { event_id: string }[]).map((r) => r.event_id);
    assert.equal(all.length, inRange.length + 1, JSON.stringify(res.body));
    ids = all.slice(0, inRange.length);
    outsideId = all.at(-1)!;
    for (const id of all) await completed(id);
  });

  after(async () => {
    await stack('start', 's3').catch(() => undefined);
    await p?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('status: every component up and ready, the consumer lag per partition (3 records while the processor is stopped), runs by status, the DLQ depth', async () => {
    // Runs reach visibility, and the bridge commits, some time after the runs completed: status
    // is read until it shows both.
    const report = await waitUntil(
      'visibility to count the completed runs and the lag to be 0',
      async () => JSON.parse((await cli('status', '--json', '--bridge-url', bridge)).stdout) as StatusReport,
      (r) => !('error' in r.workflows) && r.workflows.completed === ids.length + 1 && !('error' in r.consumerLag) && r.consumerLag.total === 0 && r.healthy,
    );
    const offsets = await rawTopicOffsets(p);
    assert.equal(report.healthy, true);
    assert.deepEqual(upOrDown(report.services), ['kafka up', 'temporal up', 'dynamodb up', 's3 up']);
    assert.deepEqual(upOrDown(report.processes), ['producer up', 'bridge up']);
    assert.ok(!('error' in report.consumerLag));
    assert.equal(report.consumerLag.group, p.config.kafka.consumerGroup);
    assert.deepEqual(
      report.consumerLag.partitions.map((x) => ({ partition: x.partition, end: Number(x.end), lag: x.lag })),
      offsets.map((o) => ({ partition: o.partition, end: o.end, lag: o.committed < 0 ? o.end : o.end - o.committed })),
    );
    assert.equal(report.consumerLag.total, 0, 'every record was started and committed');
    assert.deepEqual(report.workflows, { taskQueue: p.config.temporal.taskQueue, running: 0, failed: 0, terminated: 0, completed: ids.length + 1 });
    assert.ok(!('error' in report.dlq) && report.dlq.depth === 0);

    const table = await cli('status', '--bridge-url', bridge);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^kafka +up/m);
    assert.match(table.stdout, /^bridge +ready +http:\/\/127\.0\.0\.1:\d+\/ready HTTP 200/m);
    assert.match(table.stdout, new RegExp(`^Consumer lag \\(group ${p.config.kafka.consumerGroup} on ${p.config.kafka.topic}\\): 0$`, 'm'));
    assert.match(table.stdout, /^PARTITION +COMMITTED +END +LAG$/m);
    assert.match(table.stdout, new RegExp(`completed ${ids.length + 1}$`, 'm'));
    assert.match(table.stdout, /^healthy$/m);

    // With the processor stopped, what is posted waits on the raw topic: status shows it as lag,
    // names the bridge that does not answer, and exits 1.
    await p.signal('processor-1', 'SIGTERM');
    const waiting = await postJson(`${p.producerUrl}/events/batch`, {
      events: [0, 1, 2].map((n) => ({ event_type: `${type}_lag`, user_id: `lag-${n}`, payload: { n } })),
    });
    assert.equal(waiting.status, 202);
    const lagging = await cli('status', '--json', '--bridge-url', bridge, '--timeout-ms', '2000');
    assert.equal(lagging.code, 1);
    const r = JSON.parse(lagging.stdout) as StatusReport;
    assert.deepEqual(upOrDown(r.processes), ['producer up', 'bridge down']);
    assert.ok(!('error' in r.consumerLag));
    assert.equal(r.consumerLag.total, 3);
    assert.equal(
      r.consumerLag.partitions.reduce((n, x) => n + x.lag, 0),
      3,
    );
    const text = await cli('status', '--bridge-url', bridge, '--timeout-ms', '2000');
    assert.match(text.stdout, /^Consumer lag \(.+\): 3$/m);
    assert.match(text.stdout, /^UNHEALTHY: bridge$/m);

    await p.restart('processor-1');
    bridge = bridgeUrl(p, 'processor-1');
    await waitFor(
      'the lag to drain',
      async () => {
        const again = await cli('status', '--json', '--bridge-url', bridge);
        const parsed = JSON.parse(again.stdout) as StatusReport;
        return again.code === 0 && !('error' in parsed.consumerLag) && parsed.consumerLag.total === 0;
      },
      { timeoutMs: 60_000 },
    );
  });

  it('dlq list, show and retry on an event dead-lettered while S3 was stopped', async () => {
    let id: string;
    await stack('stop', 's3');
    try {
      const res = await postJson(`${p.producerUrl}/events`, { event_type: `${type}_dlq`, user_id: 'user-dlq', payload: { n: 99 } });
      assert.equal(res.status, 202);
      id = res.body.event_id as string;
      await waitFor('the run to be dead-lettered and Failed', async () => (await status(id)) === 'FAILED', { timeoutMs: 60_000 });
    } finally {
      await stack('start', 's3');
    }

    const list = await cli('dlq', 'list', '--json');
    assert.equal(list.code, 0, list.stderr);
    const rows = JSON.parse(list.stdout) as DlqListRow[];
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.event_id, id);
    assert.equal(rows[0]!.stage, 'archiveCold');
    assert.equal(rows[0]!.workflow_id, id);
    assert.ok(rows[0]!.attempts! >= 1);
    const table = await cli('dlq', 'list', '--since', new Date(Date.now() - 600_000).toISOString());
    assert.match(table.stdout, new RegExp(`^0:0 +${id} +archiveCold `, 'm'));
    assert.match((await cli('dlq', 'list', '--stage', 'storeHot')).stdout, /^The DLQ holds no matching records\.$/m);
    assert.match((await cli('dlq', 'list', '--since', new Date(Date.now() + 60_000).toISOString())).stdout, /no matching records/);

    const show = await cli('dlq', 'show', id.toUpperCase(), '--json');
    assert.equal(show.code, 0, show.stderr);
    const shown = JSON.parse(show.stdout) as { event_id: string; latest_run: string; records: { error: { stage: string }; original: { event_id: string } }[] };
    assert.equal(shown.latest_run, 'Failed');
    assert.equal(shown.records[0]!.original.event_id, id);
    const text = await cli('dlq', 'show', id);
    assert.match(text.stdout, new RegExp(`^event ${id}: 1 dead-letter record\\(s\\); latest workflow run: Failed$`, 'm'));
    const missing = await cli('dlq', 'show', randomUUID());
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /is not in the DLQ/);

    const dry = await cli('dlq', 'retry', '--event-id', id, '--dry-run');
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, new RegExp(`^${id} would restart \\(previous run Failed\\)`, 'm'));
    assert.equal(await status(id), 'FAILED', 'a dry run starts nothing');

    // The same Failed run, found through visibility (which lists a run some time after it closed).
    const ended = await waitUntil(
      'workflows retry to find the Failed run',
      async () => {
        const run = await cli('workflows', 'retry', '--event-type', `${type}_dlq`, '--dry-run', '--json');
        assert.equal(run.code, 0, run.stderr);
        return JSON.parse(run.stdout) as { results: RetryResult[]; summary: Record<string, number> };
      },
      (r) => r.results.length > 0,
    );
    assert.deepEqual(
      ended.results.map((r) => [r.event_id, r.outcome, r.detail]),
      [[id, 'would-restart', 'would restart (previous run Failed)']],
    );
    assert.equal(ended.summary.would_restart, 1);
    assert.equal(await status(id), 'FAILED', 'a dry run starts nothing');

    // The old name runs the same command; its notice goes to stderr, so stdout stays JSON.
    const replay = await cli('dlq', 'replay', '--event-id', id, '--json');
    assert.equal(replay.code, 0, replay.stderr);
    assert.match(replay.stderr, /^events: 'dlq replay' is now 'dlq retry'; the old name keeps working$/m);
    const out = JSON.parse(replay.stdout) as { results: RetryResult[]; summary: Record<string, number> };
    assert.deepEqual(
      out.results.map((r) => [r.event_id, r.outcome, r.stage]),
      [[id, 'restarted', 'archiveCold']],
    );
    assert.equal(out.summary.restarted, 1);
    await completed(id);
    assert.ok(await getItem(p, id));

    // The alias keeps working, and a second replay finds the event done.
    const again = await promisify(execFile)('npm', ['run', '--silent', 'replay-dlq', '--', '--event-id', id], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...p.env },
    });
    assert.match(again.stdout, new RegExp(`^${id} completed earlier \\[dead-lettered at archiveCold`, 'm'));
  });

  it('archive reingest restores deleted DynamoDB items without doubling anything; --dry-run changes nothing', async () => {
    const checkpoint = join(tmp, 'archive.checkpoint.json');
    const range = ['--from', '2026-11-20', '--to', '2026-11-21', '--page-size', '2', '--checkpoint', checkpoint, '--type', type];
    const runsBefore = await waitUntil(
      'visibility to count the runs',
      () => countRuns(`EventType = '${type}'`),
      (n) => n >= ids.length + 1,
    );
    assert.equal(runsBefore, ids.length + 1);
    const counted = async () => {
      await countsCaughtUp(p);
      return countedEvents(p, `eventType: "${type}"`, '2026-11-01T00:00:00Z', '2026-12-01T00:00:00Z');
    };
    assert.equal(await counted(), ids.length + 1, 'eventCounts before the replays');
    // The table lost the range's items; one event also lost its run (as after the namespace's retention).
    for (const id of ids) await p.dynamo.send(new DeleteItemCommand({ TableName: p.config.aws.table, Key: { event_id: { S: id } } }));
    const gone = ids[0]!;
    await p.temporal.workflowService.deleteWorkflowExecution({ namespace: p.config.temporal.namespace, workflowExecution: { workflowId: gone } });
    // The server deletes a run's visibility record through a background task queue, which a busy
    // dev server (SQLite, two cores shared with the whole stack) can take tens of seconds to reach.
    await waitFor('the deleted run to leave visibility', async () => (await countRuns(`EventType = '${type}'`)) === ids.length, {
      timeoutMs: 180_000,
      intervalMs: 1_000,
    });
    assert.equal(await countByType(p, type), 1, 'only the event outside the range is left');

    const dry = await cli('archive', 'reingest', ...range, '--dry-run', '--json');
    assert.equal(dry.code, 0, dry.stderr);
    const dryLines = dry.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ArchiveResult & { summary?: Record<string, number> });
    const dryResults = dryLines.filter((l) => !l.summary);
    assert.deepEqual(new Set(dryResults.map((r) => r.event_id)), new Set(ids), 'every event of the range, none outside it');
    assert.equal(dryResults.find((r) => r.event_id === gone)!.outcome, 'would-start');
    assert.deepEqual(
      dryResults.filter((r) => r.event_id !== gone).map((r) => r.outcome),
      Array(ids.length - 1).fill('would-restore'),
    );
    assert.equal(await countByType(p, type), 1, 'the dry run wrote nothing');
    assert.equal(existsSync(checkpoint), false);
    assert.equal(await countRuns(`EventType = '${type}'`), ids.length, 'the dry run started nothing');

    const first = await cli('archive', 'reingest', ...range);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, new RegExp(`^${gone} started$`, 'm'));
    for (const id of ids.slice(1)) assert.match(first.stdout, new RegExp(`^${id} restored \\(its run exists; item written\\)$`, 'm'));
    assert.match(
      first.stdout,
      new RegExp(
        `^started 1, restored ${ids.length - 1}, present 0, would start 0, would restore 0, past HOT_RETENTION_DAYS 0, invalid 0, failed 0, skipped 0$`,
        'm',
      ),
    );
    assert.doesNotMatch(first.stdout, new RegExp(outsideId));
    await completed(gone);
    assert.equal(await countByType(p, type), ids.length + 1, 'every item is back');
    assert.equal(await counted(), ids.length + 1, 'restored items and the restarted run are not counted again');
    for (const id of ids) assert.equal((await getItem(p, id))?.event_type, type);
    assert.equal(existsSync(checkpoint), false, 'a finished run removes its checkpoint');

    const second = await cli('archive', 'replay', ...range);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /'archive replay' is now 'archive reingest'/);
    assert.match(second.stdout, new RegExp(`^started 0, restored 0, present ${ids.length}, `, 'm'));
    assert.equal(await countByType(p, type), ids.length + 1, 'nothing doubled');
    assert.equal(await counted(), ids.length + 1, 'counts unchanged by the second replay');
    // The restarted run reaches visibility, and then its completion, some time after it completed.
    const completedRuns = await waitUntil(
      'visibility to count the restarted run as completed',
      () => countRuns(`EventType = '${type}' AND ExecutionStatus = 'Completed'`),
      (n) => n >= ids.length + 1,
    );
    assert.equal(completedRuns, ids.length + 1);
    assert.equal(await countRuns(`EventType = '${type}'`), ids.length + 1, 'one run per event: the restarted one only');
  });

  it('workflows check-determinism: every run of the task queue replays on the current workflow code', async () => {
    // The runs come from visibility, which lists a run some time after it closed.
    const out = await waitUntil(
      'the replay to find every run of the file',
      async () => {
        const run = await cli('workflows', 'check-determinism', '--limit', '50', '--json');
        assert.equal(run.code, 0, run.stderr);
        return JSON.parse(run.stdout) as { results: RunReplay[]; replayed: number; broken: number };
      },
      (r) => r.replayed >= ids.length + 2,
    );
    assert.equal(out.broken, 0);
    assert.ok(out.results.every((r) => r.ok));
    const text = await cli('workflows', 'replay', '--query', "ExecutionStatus = 'Failed'", '--limit', '5');
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^.+ ok$/m);
    assert.match(text.stdout, /^replayed [1-5], broken 0$/m);
  });
  it('archive reingest interrupted after an event failed: the rerun reports it again instead of skipping it', async () => {
    const day = '2026-10-01';
    const oversized = `${type}_big`;
    // 30 objects of one day; the second in key order is larger than an event can be (failed).
    const envelopes = Array.from({ length: 30 }, () => ({ ...makeEnvelope({ event_type: `${type}_resume`, timestamp: `${day}T06:00:00.000Z` }) })).sort(
      (a, b) => (a.event_id < b.event_id ? -1 : 1),
    );
    envelopes[1] = { ...envelopes[1]!, event_type: oversized, payload: { pad: 'x'.repeat(40_000) } };
    const keyOf = (id: string) => `events/2026/10/01/${id}.json`;
    for (const e of envelopes) {
      await p.s3.send(
        new PutObjectCommand({ Bucket: p.config.aws.bucket, Key: keyOf(e.event_id), Body: serializeEnvelope(e), ContentType: 'application/json' }),
      );
    }
    const checkpoint = join(tmp, 'resume.checkpoint.json');
    const args = ['archive', 'reingest', '--from', day, '--to', day, '--page-size', '1', '--json', '--checkpoint', checkpoint];

    // The first run is killed once it reports the fifth event (page 5): it never finishes.
    const child = spawn(join(REPO_ROOT, 'bin', 'events'), args, { cwd: REPO_ROOT, env: { ...process.env, ...p.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const seen: ArchiveResult[] = [];
    let buffered = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = JSON.parse(buffered.slice(0, nl)) as ArchiveResult;
        buffered = buffered.slice(nl + 1);
        seen.push(line);
        if (line.event_id === envelopes[4]!.event_id) child.kill('SIGKILL');
      }
    });
    const ended = await new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    assert.equal(ended, 'SIGKILL', `the first run was interrupted (saw ${seen.length} results)`);
    const failed = seen.find((r) => r.key === keyOf(envelopes[1]!.event_id));
    assert.equal(failed?.outcome, 'failed');
    assert.match(failed!.detail, /more than one event can be .*not read/);
    assert.equal((JSON.parse(readFileSync(checkpoint, 'utf8')) as { lastKey: string }).lastKey, keyOf(envelopes[0]!.event_id));

    const rerun = await cli(...args);
    assert.equal(rerun.code, 1, 'the event is still not done');
    assert.match(rerun.stderr, /resuming after /);
    const results = rerun.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ArchiveResult & { summary?: Record<string, number> });
    assert.equal(results.find((r) => r.key === keyOf(envelopes[1]!.event_id))?.outcome, 'failed');
    assert.equal(results.at(-1)!.summary?.failed, 1);
    assert.ok(existsSync(checkpoint), 'kept before the failed event');
  });

  it('dlq list and show print a hostile record as text, no control reaching the terminal', async () => {
    const id = randomUUID();
    const hostile = '\u001b[2J\u001b]0;owned\u0007\u009b31m\u202eevil\nforged';
    const producer = p.kafka.producer();
    await producer.connect();
    await producer.send({
      topic: p.config.kafka.dlqTopic,
      messages: [
        {
          key: id,
          value: JSON.stringify({
            original: { event_id: id, note: hostile },
            error: { stage: 'bridge', type: hostile, message: hostile, attempts: 1 },
            failed_at: hostile,
            workflow_id: id,
          }),
        },
      ],
    });
    await producer.disconnect();
    // eslint-disable-next-line no-control-regex -- the controls are what is looked for
    const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
    for (const args of [
      ['dlq', 'list'],
      ['dlq', 'list', '--json'],
      ['dlq', 'show', id],
      ['dlq', 'show', id, '--json'],
    ]) {
      const run = await cli(...args);
      assert.equal(run.code, 0, run.stderr);
      assert.ok(run.stdout.includes(id), `${args.join(' ')} shows the record`);
      assert.doesNotMatch(run.stdout, RAW, `${args.join(' ')}: ${JSON.stringify(run.stdout)}`);
      assert.ok(!run.stdout.split('\n').some((l) => l.startsWith('forged')), `${args.join(' ')}: no forged line`);
    }
  });
});
