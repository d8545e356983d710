/**
 * The `events` CLI without servers: the command line (every command's --help, unknown commands
 * and flags exit 2 naming them), the status and DLQ formatting, and archive reingest's paging and
 * checkpoint over fake clients.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConditionalCheckFailedException, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { WorkflowNotFoundError } from '@temporalio/client';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { archiveLeftUndone, archiveSummary, parseArchiveReingestArgs, reingestArchive, type ArchiveResult } from '../../src/ops/archiveReingest';
import { dayPrefix, keyDay } from '../../src/store/archive/layout';
import { UsageError } from '../../src/ops/args';
import { formatDlqList, formatDlqShow, listRow, toEntry } from '../../src/ops/dlq';
import { jsonText } from '../../src/ops/format';
import { parseCommand, terminalSafe } from '../../src/ops/events';
import { collectStatus, formatStatus, partitionLags, type StatusReport } from '../../src/ops/status';
import { checkDeterminism, formatRunReplay, checkDeterminismQuery, type RunReplay } from '../../src/ops/workflowsCheckDeterminism';
import { loadConfig } from '../../src/platform/config';
import { serializeEnvelope } from '../../src/events/event';
import { makeEnvelope } from '../support/events';
import { REPO_ROOT } from '../support/paths';
import { upOrDown } from '../support/status';

const cli = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'src/ops/events.ts', ...args], {
    cwd: REPO_ROOT,
    // Nothing is reachable: a usage error must be reported before any connection is tried.
    env: { ...process.env, KAFKA_BOOTSTRAP_SERVERS: '127.0.0.1:1', TEMPORAL_ADDRESS: '127.0.0.1:1' },
    encoding: 'utf8',
    timeout: 30_000,
  });

describe('events: the command line', () => {
  it('parses each command', () => {
    assert.equal(parseCommand(['--help']).kind, 'help');
    assert.equal(parseCommand(['status', '--json']).kind, 'status');
    const list = parseCommand(['dlq', 'list', '--since', '2026-11-25', '--stage', 'storeHot']);
    assert.ok(list.kind === 'dlq list');
    assert.deepEqual(list.args.selection, { eventIds: new Set(), stages: ['storeHot'], since: '2026-11-25T00:00:00.000Z' });
    const show = parseCommand(['dlq', 'show', 'ABC-1', '--json']);
    assert.ok(show.kind === 'dlq show' && show.args.eventId === 'abc-1' && show.args.json);
    const replay = parseCommand(['dlq', 'replay', '--event-id', 'a', '--event-id', 'b', '--dry-run']);
    assert.ok(replay.kind === 'dlq retry' && replay.args.eventIds.size === 2 && replay.args.dryRun);
    const archive = parseCommand(['archive', 'replay', '--from', '2026-11-24', '--to', '2026-11-25', '--type', 'page_view', '--user', 'u 1', '--dry-run']);
    assert.ok(archive.kind === 'archive reingest');
    assert.equal(archive.args.from, '2026-11-24');
    assert.equal(archive.args.user, 'u 1');
    assert.equal(archive.args.pageSize, 1000);
    const wf = parseCommand(['workflows', 'replay', '--query', "ExecutionStatus = 'Running'", '--limit', '5']);
    assert.ok(wf.kind === 'workflows check-determinism' && wf.args.limit === 5);
    const backfill = parseCommand(['counts', 'backfill', '--json']);
    assert.ok(backfill.kind === 'counts backfill' && backfill.args.json);
    assert.throws(() => parseCommand(['counts', 'backfill', '--from', 'x']), /Unknown option '--from'/);
    assert.throws(() => parseCommand(['counts', 'rebuild']), /unknown command 'counts rebuild' \(one of counts backfill\)/);
  });

  it('has --help on every command and subcommand', () => {
    for (const argv of [
      ['-h'],
      ['status', '--help'],
      ['dlq', '--help'],
      ['dlq', 'list', '-h'],
      ['dlq', 'show', '--help'],
      ['dlq', 'replay', '--help'],
      ['archive', '--help'],
      ['archive', 'replay', '--help'],
      ['workflows', '-h'],
      ['workflows', 'replay', '--help'],
      ['workflows', 'redrive', '--help'],
      ['counts', '--help'],
      ['counts', 'backfill', '--help'],
    ]) {
      const cmd = parseCommand(argv);
      assert.ok(cmd.kind === 'help', argv.join(' '));
      assert.match(cmd.text, /^Usage: events/, argv.join(' '));
    }
  });

  it('names what is wrong', () => {
    const usage = (argv: string[], message: RegExp) =>
      assert.throws(
        () => parseCommand(argv),
        (err: unknown) => err instanceof UsageError && message.test(err.message),
      );
    usage([], /missing command/);
    usage(['stats'], /unknown command 'stats'/);
    usage(['--verbose'], /unknown option '--verbose'/);
    usage(['dlq'], /missing subcommand of 'dlq' \(one of list, show, retry\)/);
    usage(['dlq', 'purge'], /unknown command 'dlq purge'/);
    usage(['status', '--jsn'], /Unknown option '--jsn'/);
    usage(['status', 'extra'], /unexpected argument 'extra'/i);
    usage(['status', '--bridge-url', 'localhost:8002'], /--bridge-url must be an http\(s\) URL/);
    usage(['dlq', 'list', '--stage', 'cold'], /--stage must be one of storeHot, archiveCold, bridge, got "cold"/);
    usage(['dlq', 'list', '--since'], /--since/);
    usage(['dlq', 'show'], /EVENT_ID is required/);
    usage(['dlq', 'show', 'a', 'b'], /unexpected argument 'b'/);
    usage(['archive', 'replay', '--to', '2026-11-25'], /--from is required/);
    usage(['archive', 'replay', '--from', '2026-02-30', '--to', '2026-03-01'], /--from must be a date such as 2026-11-25, got "2026-02-30"/);
    usage(['archive', 'replay', '--from', '2026-11-26', '--to', '2026-11-25'], /--from \(2026-11-26\) must not be after --to/);
    usage(['archive', 'replay', '--from', '2026-11-25', '--to', '2026-11-25', '--page-size', '0'], /--page-size must be a positive integer/);
    usage(['workflows', 'replay', '--limit', 'all'], /--limit must be a positive integer, got "all"/);
  });

  it('exits 2 on an unknown command or flag, naming it, before connecting to anything', () => {
    const unknown = cli('dlq', 'lst');
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /^events: unknown command 'dlq lst'/);
    const flag = cli('archive', 'replay', '--from', '2026-11-25', '--to', '2026-11-25', '--bucket', 'x');
    assert.equal(flag.status, 2);
    assert.match(flag.stderr, /^events: Unknown option '--bucket'/);
    assert.match(flag.stderr, /Usage: events archive reingest/);
  });

  it('bin/events runs the CLI: --help exits 0 and lists the commands', () => {
    const run = spawnSync(join(REPO_ROOT, 'bin', 'events'), ['--help'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(run.status, 0, run.stderr);
    for (const c of ['status', 'dlq list', 'dlq show', 'dlq retry', 'archive reingest', 'workflows check-determinism', 'workflows retry', 'counts backfill'])
      assert.match(run.stdout, new RegExp(`^  ${c}`, 'm'));
  });

  it('status exits 1 and says what is down when nothing answers', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/ops/events.ts', 'status', '--json', '--timeout-ms', '1500'], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        KAFKA_BOOTSTRAP_SERVERS: '127.0.0.1:1',
        TEMPORAL_ADDRESS: '127.0.0.1:1',
        DYNAMODB_ENDPOINT: 'http://127.0.0.1:1',
        S3_ENDPOINT: 'http://127.0.0.1:1',
        PRODUCER_PORT: '1',
        BRIDGE_HTTP_PORT: '1',
      },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(run.status, 1, run.stderr);
    const report = JSON.parse(run.stdout) as StatusReport;
    assert.equal(report.healthy, false);
    assert.deepEqual(upOrDown(report.services), ['kafka down', 'temporal down', 'dynamodb down', 's3 down']);
    assert.deepEqual(upOrDown(report.processes), ['producer down', 'bridge down']);
    assert.ok('error' in report.workflows && 'error' in report.dlq && 'error' in report.consumerLag);
  });
});

describe('events status: lag and formatting', () => {
  it('lag is end minus committed; a partition never committed counts from its low watermark', () => {
    const lags = partitionLags(
      [
        { partition: 1, low: '0', high: '10' },
        { partition: 0, low: '5', high: '12' },
        { partition: 2, low: '3', high: '3' },
      ],
      [
        { partition: 1, offset: '7' },
        { partition: 0, offset: '-1' },
      ],
    );
    assert.deepEqual(lags, [
      { partition: 0, committed: null, low: '5', end: '12', lag: 7 },
      { partition: 1, committed: '7', low: '0', end: '10', lag: 3 },
      { partition: 2, committed: null, low: '3', end: '3', lag: 0 },
    ]);
  });

  it('collects from fakes and prints a table a person reads at a glance', async () => {
    const config = loadConfig({});
    const admin = {
      describeCluster: async () => ({ brokers: [{ nodeId: 1, host: 'localhost', port: 9092 }], controller: 1, clusterId: 'c' }),
      fetchTopicOffsets: async (topic: string) =>
        topic === config.kafka.dlqTopic
          ? [{ partition: 0, offset: '9', low: '4', high: '9' }]
          : [
              { partition: 0, offset: '20', low: '0', high: '20' },
              { partition: 1, offset: '5', low: '0', high: '5' },
            ],
      fetchOffsets: async ({ groupId }: { groupId: string }) => [
        groupId === 'event-processors-counts'
          ? { topic: config.kafka.storedTopic, partitions: [{ partition: 0, offset: '17', metadata: null }] }
          : {
              topic: config.kafka.topic,
              partitions: [
                { partition: 0, offset: '18', metadata: null },
                { partition: 1, offset: '5', metadata: null },
              ],
            },
      ],
    };
    const counts: Record<string, number> = { Running: 2, Failed: 1, Terminated: 0, Completed: 40 };
    const temporal = {
      workflowService: { getSystemInfo: async () => ({}) },
      workflow: { count: async (q: string) => ({ count: counts[/ExecutionStatus = '(\w+)'/.exec(q)![1]!]!, groups: [] }) },
    };
    const fetchFake = (async (url: string | URL) =>
      String(url).includes(':8002')
        ? new Response(JSON.stringify({ status: 'not ready', problems: ['partition 2 backing off'] }), { status: 503 })
        : new Response('{"status":"ready"}', { status: 200 })) as typeof fetch;
    const report = await collectStatus(
      {
        config,
        admin: async () => admin as never,
        temporal: async () => temporal as never,
        dynamo: { send: async () => ({ Table: { TableStatus: 'ACTIVE' } }) } as never,
        s3: { send: async () => ({}) } as never,
        fetch: fetchFake,
      },
      { bridgeUrls: [], timeoutMs: 1_000 },
    );
    assert.equal(report.healthy, false);
    assert.deepEqual(report.workflows, { taskQueue: 'events', running: 2, failed: 1, terminated: 0, completed: 40 });
    assert.ok(!('error' in report.consumerLag) && report.consumerLag.total === 2);
    assert.ok(!('error' in report.dlq) && report.dlq.depth === 5);
    const text = formatStatus(report);
    assert.match(text, /^kafka +up +1 broker\(s\)/m);
    assert.match(text, /^bridge +NOT READY +http:\/\/127\.0\.0\.1:8002\/ready HTTP 503: partition 2 backing off$/m);
    assert.match(text, /^Consumer lag \(group event-processors on events\.raw\): 2$/m);
    assert.match(text, /^0 +18 +20 +2$/m);
    // The counter's group on events.stored: 3 behind on partition 0, partition 1 never committed (5).
    assert.match(text, /^Counts lag \(group event-processors-counts on events\.stored\): 8$/m);
    assert.match(text, /^processEvent runs \(task queue events\): running 2, failed 1, terminated 0, completed 40$/m);
    assert.match(text, /^DLQ events\.dlq: 5 record\(s\)$/m);
    assert.match(text, /^UNHEALTHY: bridge$/m);
  });
});

describe('events dlq: records', () => {
  it('reads a record, an invalid event and garbage, and lists them', () => {
    const e = makeEnvelope();
    const ok = toEntry(
      JSON.stringify({
        original: e,
        error: { stage: 'archiveCold', type: 'S3ServiceException', message: 'down', attempts: 4 },
        failed_at: '2026-11-25T10:00:00.000Z',
        workflow_id: e.event_id,
        run_id: 'r1',
      }),
      '0:7',
    );
    assert.equal(ok.eventId, e.event_id);
    assert.ok(ok.event && !ok.problem);
    const bad = toEntry(
      JSON.stringify({
        original: { event_id: 'X-1' },
        error: { stage: 'bridge', type: 'InvalidEvent', message: 'bad', attempts: 1 },
        failed_at: '2026-11-25T10:00:01.000Z',
      }),
      '1:0',
    );
    assert.equal(bad.eventId, 'x-1');
    assert.match(bad.problem!, /not a valid event/);
    const junk = toEntry('not json', '1:1');
    assert.equal(junk.problem, 'not a dead-letter record');
    const text = formatDlqList([ok, bad, junk].map(listRow));
    assert.match(text, /^POSITION +EVENT_ID +STAGE +FAILED_AT +ATTEMPTS +ERROR$/m);
    assert.match(text, new RegExp(`^0:7 +${e.event_id} +archiveCold +2026-11-25T10:00:00.000Z +4 +S3ServiceException: down$`, 'm'));
    assert.match(text, /^1:1 +- +- +- +- +not a dead-letter record$/m);
    assert.match(text, /^3 record\(s\)$/m);
    assert.equal(formatDlqList([]), 'The DLQ holds no matching records.');
  });
});

describe('events output: nothing a record holds reaches the terminal as a control', () => {
  // What a writer of events.dlq (or of an S3 key, or a server's error) could put in a field:
  // ANSI CSI (clear screen, colours), OSC (set the title, a hyperlink), a C1 CSI, bidi overrides,
  // a carriage return that rewrites the line, a newline that forges one, DEL, BEL, NUL.
  const hostile = [
    '\u001b[2J\u001b[31mred',
    '\u001b]0;owned\u0007',
    '\u001b]8;;https://evil.example\u001b\\click\u001b]8;;\u001b\\',
    '\u009b2J',
    'abc\u202egnp.exe\u202c\u2066x\u2069\u200f',
    'line\rOVERWRITE',
    'one\nforged line',
    'del\u007f bel\u0007 nul\u0000 sep\u2028',
  ];
  // eslint-disable-next-line no-control-regex -- the controls are what is looked for
  const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
  const record = (text: string) =>
    JSON.stringify({
      original: { event_id: text, payload: { note: text } },
      error: { stage: text, type: text, message: text, attempts: 1 },
      errors: [{}, { stage: text, type: text, message: text, attempts: text }],
      failed_at: text,
      workflow_id: text,
      run_id: text,
      source: { topic: text, partition: text, offset: text, key: text },
    });

  it('dlq list and dlq show print every field as text', () => {
    for (const text of hostile) {
      const entry = toEntry(record(text), '0:1');
      const list = formatDlqList([listRow(entry)]);
      assert.doesNotMatch(list, RAW, JSON.stringify(list));
      assert.equal(list.split('\n').length, 3, 'header, one row, the total: no forged line');
      const show = formatDlqShow({ event_id: text, latest_run: text, records: [{ position: '0:1', ...entry.record! }] });
      assert.doesNotMatch(show, RAW, JSON.stringify(show));
      assert.ok(!show.split('\n').some((l) => l.startsWith('forged')), 'a newline in a field forges no line');
    }
    assert.match(formatDlqList([listRow(toEntry(record(hostile[0]!), '0:1'))]), /\\u001b\[2J/, 'shown, escaped, not dropped');
  });

  it('JSON output keeps the values and leaves no control raw', () => {
    for (const text of hostile) {
      const out = jsonText({ text, nested: [text] }, 2);
      assert.doesNotMatch(out, RAW);
      assert.deepEqual(JSON.parse(out), { text, nested: [text] });
    }
  });

  it('every stream of the CLI: text is escaped, the progress line keeps its own prefix', () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = terminalSafe({ out: (t) => out.push(t), err: (t) => err.push(t), errIsTTY: true });
    io.out(`a\nb ${hostile[0]}`);
    io.err(`\r\u001b[Karchive replay: at events/2026/11/25/${hostile[1]}.json`);
    io.err(`events: ${hostile[3]}`);
    assert.deepEqual(out, ['a\nb \\u001b[2J\\u001b[31mred']);
    assert.equal(err[0], '\r\u001b[Karchive replay: at events/2026/11/25/\\u001b]0;owned\\u0007.json');
    assert.equal(err[1], 'events: \\u009b2J');
    // The real command line, through main: a usage error echoing what was typed.
    const run = cli('dlq', 'show', '--x\u001b]0;owned\u0007');
    assert.equal(run.status, 2);
    assert.doesNotMatch(run.stderr, RAW);
  });
});

describe('events workflows replay: the query', () => {
  it('is every processEvent run of the task queue, or the given query narrowed to processEvent', () => {
    assert.equal(checkDeterminismQuery({}, 'events'), "WorkflowType = 'processEvent' AND TaskQueue = 'events'");
    assert.equal(checkDeterminismQuery({ query: "ExecutionStatus = 'Running'" }, 'events'), "WorkflowType = 'processEvent' AND (ExecutionStatus = 'Running')");
  });
});

describe('events workflows replay: a run that would break', () => {
  it('is named, with the non-determinism, and counted as broken', { timeout: 120_000 }, async () => {
    Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } } });
    const text = readFileSync(join(REPO_ROOT, 'test', 'replay', 'histories', 'processEvent-budget-completed.json'), 'utf8');
    // The history says the workflow scheduled an activity today's code never schedules.
    const tampered = text.replace('"name": "archiveCold"', '"name": "archiveToTape"');
    assert.notEqual(tampered, text);
    const histories: Record<string, string> = { 'run-ok': text, 'run-broken': tampered };
    const client = {
      workflow: {
        list: async function* () {
          for (const workflowId of Object.keys(histories)) yield { workflowId, runId: `${workflowId}-r` };
        },
        getHandle: (id: string) => ({ fetchHistory: async () => historyFromJSON(JSON.parse(histories[id]!)) }),
      },
    };
    const results: RunReplay[] = [];
    const totals = await checkDeterminism(client as never, { limit: 10 }, 'events', (r) => results.push(r));
    assert.deepEqual(totals, { replayed: 2, broken: 1 });
    assert.equal(results.find((r) => r.workflow_id === 'run-ok')?.ok, true);
    const broken = results.find((r) => r.workflow_id === 'run-broken')!;
    assert.equal(broken.ok, false);
    assert.equal(broken.kind, 'nondeterminism', broken.error);
    assert.match(formatRunReplay(broken), /^run-broken \S+ BROKEN \(nondeterminism\): /);
  });
});

describe('events archive replay over fake clients', () => {
  const dir = mkdtempSync(join(tmpdir(), 'archive-replay-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const day = (d: string, n: number) =>
    Array.from({ length: n }, (_, i) => makeEnvelope({ timestamp: `${d}T10:00:0${i}.000Z`, event_type: i % 2 ? 'signup' : 'page_view' }));
  const events = [...day('2026-11-23', 2), ...day('2026-11-24', 3), ...day('2026-11-25', 2), ...day('2026-11-26', 1)];
  const objects = new Map(events.map((e) => [`${dayPrefix(e.timestamp.slice(0, 10))}${e.event_id}.json`, serializeEnvelope(e)]));
  const keys = [...objects.keys()].sort();

  /** An S3 that pages like ListObjectsV2 (StartAfter, MaxKeys, ContinuationToken), a table, and Temporal. */
  function fakes(opts: {
    completed: Set<string>;
    items: Set<string>;
    failGetOn?: string;
    /** A start that throws for these event ids (Temporal unreachable while they came up). */
    unreachableFor?: Set<string>;
    /** Objects served instead of the events' own: [body, whether S3 sends its ContentLength]. */
    override?: Map<string, { body: string; withLength: boolean }>;
    retentionDays?: number;
  }) {
    /** How many chunks of each object's body were pulled: an oversized one must not be read. */
    const pulled = new Map<string, number>();
    const listed: number[] = [];
    const s3 = {
      send: async (cmd: unknown) => {
        if (cmd instanceof ListObjectsV2Command) {
          const { StartAfter, ContinuationToken, MaxKeys = 1000 } = cmd.input;
          const after = ContinuationToken ?? StartAfter ?? '';
          const page = keys.filter((k) => k > after).slice(0, MaxKeys);
          listed.push(page.length);
          const more = keys.filter((k) => k > after).length > page.length;
          return { Contents: page.map((Key) => ({ Key })), IsTruncated: more, NextContinuationToken: more ? page.at(-1) : undefined };
        }
        if (cmd instanceof GetObjectCommand) {
          const key = cmd.input.Key!;
          if (key === opts.failGetOn) throw new Error('connection reset');
          const served = opts.override?.get(key) ?? { body: objects.get(key)!, withLength: true };
          const bytes = Buffer.from(served.body);
          async function* chunks() {
            for (let at = 0; at < bytes.length; at += 1024) {
              pulled.set(key, (pulled.get(key) ?? 0) + 1);
              yield bytes.subarray(at, at + 1024);
            }
          }
          return {
            Body: Object.assign(chunks(), { transformToString: async () => served.body }),
            ...(served.withLength ? { ContentLength: bytes.length } : {}),
          };
        }
        throw new Error('unexpected S3 call');
      },
    };
    const dynamo = {
      send: async (cmd: unknown) => {
        if (cmd instanceof PutItemCommand) {
          const id = cmd.input.Item!.event_id!.S!;
          if (opts.items.has(id)) throw new ConditionalCheckFailedException({ message: 'exists', $metadata: {} });
          opts.items.add(id);
          return {};
        }
        if (cmd instanceof GetItemCommand) return opts.items.has(cmd.input.Key!.event_id!.S!) ? { Item: { event_id: cmd.input.Key!.event_id! } } : {};
        throw new Error('unexpected DynamoDB call');
      },
    };
    const started: string[] = [];
    const client = {
      workflow: {
        getHandle: (id: string) => ({
          describe: async () => {
            if (!opts.completed.has(id)) throw new WorkflowNotFoundError('not found', id, undefined);
            return { status: { name: 'COMPLETED' } };
          },
        }),
      },
    };
    // A completed run refuses a second start, as ALLOW_DUPLICATE_FAILED_ONLY does.
    const start = async (e: { event_id: string }) => {
      if (opts.unreachableFor?.has(e.event_id)) throw new Error('14 UNAVAILABLE: No connection established');
      if (opts.completed.has(e.event_id)) return 'already-started' as const;
      started.push(e.event_id);
      opts.completed.add(e.event_id);
      return 'started' as const;
    };
    const deps = { s3, dynamo, client, start, bucket: 'b', table: 't', latestIndexShards: 4, maxEventBytes: 32_768, hotRetentionDays: opts.retentionDays ?? 0 };
    return { deps: deps as never, listed, started, pulled };
  }

  it('pages through the range only, restores missing items of completed runs, starts the rest, and a second run doubles nothing', async () => {
    const inRange = events.filter((e) => e.timestamp >= '2026-11-24' && e.timestamp < '2026-11-26');
    const completed = new Set(inRange.slice(0, 3).map((e) => e.event_id));
    const items = new Set([inRange[0]!.event_id]); // the others' items were lost
    const f = fakes({ completed, items });
    const checkpoint = join(dir, 'a.json');
    const args = parseArchiveReingestArgs(['--from', '2026-11-24', '--to', '2026-11-25', '--page-size', '2', '--checkpoint', checkpoint]);
    const results: ArchiveResult[] = [];
    const announced: string[] = [];
    const counts = await reingestArchive(
      { ...(f.deps as object), announce: async (e: { event_id: string }) => void announced.push(e.event_id) } as never,
      args,
      {
        onResult: (r) => results.push(r),
      },
    );
    assert.deepEqual(
      results.map((r) => r.event_id),
      inRange.map((e) => e.event_id).sort((a, b) => keys.findIndex((k) => k.includes(a)) - keys.findIndex((k) => k.includes(b))),
    );
    assert.equal(counts.present, 1);
    assert.equal(counts.restored, 2);
    assert.deepEqual(
      announced.sort(),
      results
        .filter((r) => r.outcome === 'restored')
        .map((r) => r.event_id)
        .sort(),
      'live subscribers hear of each restored item (a started run announces its own)',
    );
    assert.equal(counts.started, 2);
    assert.deepEqual(f.listed, [2, 2, 2], 'pages of 2 from the first day on; the page reaching 2026-11-26 ends the scan');
    assert.equal(existsSync(checkpoint), false, 'a finished run removes its checkpoint');
    // What started runs write, the fake's start does not: the items of started events appear when their runs store them.
    for (const id of f.started) items.add(id);

    const again = await reingestArchive(fakes({ completed, items }).deps, args, { onResult: () => undefined });
    assert.deepEqual({ started: again.started, restored: again.restored, present: again.present }, { started: 0, restored: 0, present: 5 });
  });

  it('--dry-run changes nothing and writes no checkpoint; --type filters', async () => {
    const items = new Set<string>();
    const f = fakes({ completed: new Set([events[2]!.event_id]), items });
    const checkpoint = join(dir, 'dry.json');
    const counts = await reingestArchive(
      f.deps,
      parseArchiveReingestArgs(['--from', '2026-11-24', '--to', '2026-11-24', '--dry-run', '--checkpoint', checkpoint]),
      { onResult: () => undefined },
    );
    assert.deepEqual({ wouldStart: counts['would-start'], wouldRestore: counts['would-restore'] }, { wouldStart: 2, wouldRestore: 1 });
    assert.equal(items.size, 0);
    assert.deepEqual(f.started, []);
    assert.equal(existsSync(checkpoint), false);
    const typed = await reingestArchive(
      f.deps,
      parseArchiveReingestArgs(['--from', '2026-11-24', '--to', '2026-11-24', '--type', 'signup', '--dry-run', '--checkpoint', checkpoint]),
      { onResult: () => undefined },
    );
    assert.equal(typed['would-start'] + typed['would-restore'], 1);
    assert.equal(typed.skipped, 2);
  });

  it('a run that stopped resumes after the last key of its last finished page', async () => {
    const checkpoint = join(dir, 'resume.json');
    const args = parseArchiveReingestArgs(['--from', '2026-11-23', '--to', '2026-11-26', '--page-size', '3', '--checkpoint', checkpoint]);
    const broken = fakes({ completed: new Set(), items: new Set(), failGetOn: keys[4] });
    // The second page fails on one object; stop the run there, as a crash would.
    await assert.rejects(
      reingestArchive(broken.deps, args, {
        onResult: (r) => {
          if (r.outcome === 'failed') throw new Error('stopped');
        },
      }),
      /stopped/,
    );
    assert.equal((JSON.parse(readFileSync(checkpoint, 'utf8')) as { lastKey: string }).lastKey, keys[2]);
    const resumed = fakes({ completed: new Set(), items: new Set() });
    const notes: string[] = [];
    const counts = await reingestArchive(resumed.deps, args, { onResult: () => undefined, onNote: (n) => notes.push(n) });
    assert.match(notes[0]!, new RegExp(`resuming after ${keys[2]}`));
    assert.equal(counts.started, keys.length - 3);
    assert.equal(existsSync(checkpoint), false);
  });

  it('a resumed run never skips an event that failed before it stopped: the checkpoint stays before it', async () => {
    const checkpoint = join(dir, 'failed-then-stopped.json');
    const args = parseArchiveReingestArgs(['--from', '2026-11-23', '--to', '2026-11-26', '--page-size', '2', '--checkpoint', checkpoint]);
    const idOf = (key: string) => /([^/]+)\.json$/.exec(key)![1]!;
    // Temporal is unreachable while keys[1] (page 1) comes up; the run is stopped on page 3.
    const first = fakes({ completed: new Set(), items: new Set(), unreachableFor: new Set([idOf(keys[1]!)]) });
    const seen: ArchiveResult[] = [];
    await assert.rejects(
      reingestArchive(first.deps, args, {
        onResult: (r) => {
          seen.push(r);
          if (r.key === keys[4]) throw new Error('interrupted');
        },
      }),
      /interrupted/,
    );
    assert.equal(seen.find((r) => r.key === keys[1])?.outcome, 'failed');
    assert.match(seen.find((r) => r.key === keys[1])!.detail, /UNAVAILABLE/);
    assert.equal((JSON.parse(readFileSync(checkpoint, 'utf8')) as { lastKey: string }).lastKey, keys[0], 'not past the failed key');

    // Run again with Temporal back: the failed event is started this time, and nothing is missed.
    const completed = new Set(first.started);
    const rerun = fakes({ completed, items: new Set(first.started) });
    const results: ArchiveResult[] = [];
    const notes: string[] = [];
    const counts = await reingestArchive(rerun.deps, args, { onResult: (r) => results.push(r), onNote: (n) => notes.push(n) });
    assert.match(notes[0]!, new RegExp(`resuming after ${keys[0]}`));
    assert.deepEqual(
      results.map((r) => r.key),
      keys.slice(1),
    );
    assert.equal(results.find((r) => r.key === keys[1])?.outcome, 'started');
    assert.equal(counts.failed, 0);
    assert.equal(existsSync(checkpoint), false);
  });

  it('a run that finished with failures keeps its checkpoint before the first one; the next run retries from there', async () => {
    const checkpoint = join(dir, 'finished-with-failures.json');
    const args = parseArchiveReingestArgs(['--from', '2026-11-23', '--to', '2026-11-26', '--page-size', '3', '--checkpoint', checkpoint]);
    const idOf = (key: string) => /([^/]+)\.json$/.exec(key)![1]!;
    const first = fakes({ completed: new Set(), items: new Set(), unreachableFor: new Set([idOf(keys[4]!), idOf(keys[6]!)]) });
    const notes: string[] = [];
    const counts = await reingestArchive(first.deps, args, { onResult: () => undefined, onNote: (n) => notes.push(n) });
    assert.equal(counts.failed, 2);
    assert.equal((JSON.parse(readFileSync(checkpoint, 'utf8')) as { lastKey: string }).lastKey, keys[3]);
    assert.match(notes.at(-1)!, /2 event\(s\) not done; .* stays after .*run the same command again/);
    const again = await reingestArchive(fakes({ completed: new Set(first.started), items: new Set(first.started) }).deps, args, { onResult: () => undefined });
    assert.deepEqual({ started: again.started, failed: again.failed }, { started: 2, failed: 0 });
    assert.equal(existsSync(checkpoint), false);
    // --restart drops a checkpoint, so a failure on its first key cannot leave an older one to skip past it.
    const restartPath = join(dir, 'restart.json');
    writeFileSync(restartPath, JSON.stringify({ bucket: 'b', from: '2026-11-23', to: '2026-11-26', type: null, user: null, lastKey: keys[5] }));
    const restartArgs = parseArchiveReingestArgs(['--from', '2026-11-23', '--to', '2026-11-26', '--checkpoint', restartPath, '--restart']);
    await reingestArchive(fakes({ completed: new Set(), items: new Set(), unreachableFor: new Set([idOf(keys[0]!)]) }).deps, restartArgs, {
      onResult: () => undefined,
    });
    assert.equal(existsSync(restartPath), false);
  });

  it('an object larger than an event can be is failed with the reason, without being read whole', async () => {
    const checkpoint = join(dir, 'large.json');
    const big = (n: number) => serializeEnvelope({ ...makeEnvelope(), payload: { pad: 'x'.repeat(n) } });
    const override = new Map([
      [keys[2]!, { body: big(1_000_000), withLength: true }],
      [keys[3]!, { body: big(1_000_000), withLength: false }],
      // Just under the limit with the envelope around it: an event the producer could accept.
      [keys[4]!, { body: big(32_768 - 40), withLength: false }],
    ]);
    const f = fakes({ completed: new Set(), items: new Set(), override });
    const results: ArchiveResult[] = [];
    const args = parseArchiveReingestArgs(['--from', '2026-11-23', '--to', '2026-11-26', '--checkpoint', checkpoint, '--restart']);
    const counts = await reingestArchive(f.deps, args, { onResult: (r) => results.push(r) });
    const of = (key: string) => results.find((r) => r.key === key)!;
    assert.equal(of(keys[2]!).outcome, 'failed');
    assert.match(of(keys[2]!).detail, /^failed: object is \d+ bytes, more than one event can be \(33792: MAX_EVENT_BYTES 32768 and the envelope\); not read$/);
    assert.equal(f.pulled.get(keys[2]!) ?? 0, 0, 'refused from its ContentLength, no byte read');
    assert.equal(of(keys[3]!).outcome, 'failed');
    assert.match(of(keys[3]!).detail, /object is over 33792 bytes/);
    assert.ok(f.pulled.get(keys[3]!)! <= 34, `read up to the limit only (${f.pulled.get(keys[3]!)} chunks of 1 KiB)`);
    assert.equal(of(keys[4]!).outcome, 'started');
    assert.equal(counts.failed, 2);
    rmSync(checkpoint, { force: true });
  });

  it('events older than HOT_RETENTION_DAYS are reported and left out of the hot table, and the run exits 0', async () => {
    const checkpoint = join(dir, 'retention.json');
    const items = new Set<string>();
    const old = events.filter((e) => e.timestamp < '2026-11-25');
    const completed = new Set([old[0]!.event_id]);
    const f = fakes({ completed, items, retentionDays: 2 });
    const deps = { ...(f.deps as object), now: () => Date.parse('2026-11-27T00:00:00.000Z') } as never;
    for (const dryRun of [true, false]) {
      const results: ArchiveResult[] = [];
      const args = parseArchiveReingestArgs(['--from', '2026-11-23', '--to', '2026-11-26', '--checkpoint', checkpoint, ...(dryRun ? ['--dry-run'] : [])]);
      const counts = await reingestArchive(deps, args, { onResult: (r) => results.push(r) });
      assert.deepEqual(
        results.filter((r) => r.outcome === 'past-retention').map((r) => r.event_id),
        old.map((e) => e.event_id).sort((a, b) => keys.findIndex((k) => k.includes(a)) - keys.findIndex((k) => k.includes(b))),
      );
      assert.match(results.find((r) => r.outcome === 'past-retention')!.detail, /older than HOT_RETENTION_DAYS \(2 days\)/);
      assert.equal(counts['past-retention'], old.length);
      assert.equal(archiveLeftUndone(counts), false);
      assert.match(archiveSummary(counts), new RegExp(`past HOT_RETENTION_DAYS ${old.length}`));
    }
    for (const e of old) assert.ok(!items.has(e.event_id) && !f.started.includes(e.event_id), 'neither stored nor started');
    assert.equal(existsSync(checkpoint), false);
  });

  it('reads the day of a key', () => {
    assert.equal(keyDay('events/2026/11/25/x.json'), '2026-11-25');
    assert.equal(keyDay('other/2026/11/25/x.json'), undefined);
    assert.equal(dayPrefix('2026-11-25'), 'events/2026/11/25/');
  });
});
