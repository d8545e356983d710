/**
 * The durable path, end to end: POST → item + object + Completed run, with the real platform
 * processes (test/support/platform.ts: private topics, table, bucket and task queue, deleted
 * afterwards), compared in the same run on the same servers with
 *  - the layout before the fast path: 2 bridges + 2 workers, regular activities (FAST_PATH_TIMEOUT_MS=0);
 *  - the ceilings of this Temporal server: a bare workflow (plain and eager start) and a workflow
 *    with two no-op regular activities (and two local ones), run by a worker in this process.
 * A run counts as through when Temporal says Completed: processEvent completes only after the
 * conditional put and the archive both succeeded.
 */
import { randomBytes } from 'node:crypto';
import { Client } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker, type WorkerOptions, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { loadConfig } from '../src/platform/config';
import { temporalConnectionOptions } from '../src/platform/temporal/connection';
import { getItem } from '../test/support/clients';
import { startPlatform, type Platform } from '../test/support/platform';

const BATCH = 100;
const IN_FLIGHT_STARTS = 64;

export interface Figures {
  name: string;
  rate: number;
  latency?: { itemP50: number; itemP95: number; itemP99: number; completedP50: number; completedP95: number; completedP99: number };
  historyEvents?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const pct = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};

export async function waitForCount(client: Client, query: string, target: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { count } = await client.workflow.count(query);
    if (count >= target) return;
    if (Date.now() > deadline) throw new Error(`only ${count} of ${target} for ${query} after ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** Starts `n` workflows, `IN_FLIGHT_STARTS` at a time, and waits until all are Completed: runs per second. */
async function ceiling(
  client: Client,
  taskQueue: string,
  workflowType: string,
  n: number,
  requestEagerStart: boolean,
): Promise<{ rate: number; eager: number }> {
  const run = randomBytes(3).toString('hex');
  let next = 0;
  let eager = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT_STARTS }, async () => {
      while (next < n) {
        const i = next++;
        const handle = await client.workflow.start(workflowType, { taskQueue, workflowId: `bench-${run}-${i}`, args: [], requestEagerStart });
        if (handle.eagerlyStarted) eager++;
      }
    }),
  );
  await waitForCount(client, `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Completed'`, n, 300_000);
  return { rate: n / ((performance.now() - started) / 1000), eager };
}

/** The ceiling rounds: a workflow type of bench/workflows.ts and whether its starts ask to be eager. */
const CEILINGS = {
  bare: ['bareWorkflow', false],
  bareEager: ['bareWorkflow', true],
  twoActivities: ['twoActivitiesWorkflow', false],
  twoLocalEager: ['twoLocalActivitiesWorkflow', true],
} as const satisfies Record<string, readonly [workflowType: string, eager: boolean]>;
export type CeilingKind = keyof typeof CEILINGS;

/**
 * Runs `n` workflows of each kind asked for, on a worker in this process with task queues of its
 * own (deleted afterwards): runs per second, and the share of starts that went eagerly.
 */
export async function benchCeilings<K extends CeilingKind>(
  n: number,
  kinds: readonly K[],
  workerOptions: Partial<WorkerOptions> = {},
): Promise<Record<K, { rate: number; eagerShare: number }>> {
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'error', ENVIRONMENT: 'development' });
  Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
  const connection = await NativeConnection.connect(temporalConnectionOptions(config.temporal));
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const workflowBundle: WorkflowBundleWithSourceMap = await bundleWorkflowCode({
    workflowsPath: require.resolve('./workflows'),
    logger: new DefaultLogger('ERROR'),
  });
  const queues: string[] = [];
  const figures = {} as Record<K, { rate: number; eagerShare: number }>;
  try {
    for (const kind of kinds) {
      const [workflowType, eager] = CEILINGS[kind];
      const taskQueue = `bench-ceiling-${randomBytes(4).toString('hex')}`;
      queues.push(taskQueue);
      const worker = await Worker.create({
        connection,
        namespace: config.temporal.namespace,
        taskQueue,
        workflowBundle,
        activities: { noop: async () => undefined },
        ...workerOptions,
      });
      const round = await worker.runUntil(() => ceiling(client, taskQueue, workflowType, n, eager));
      figures[kind] = { rate: round.rate, eagerShare: round.eager / n };
    }
    return figures;
  } finally {
    for (const taskQueue of queues) {
      for await (const wf of client.workflow.list({ query: `TaskQueue = '${taskQueue}'` })) {
        await client.workflowService
          .deleteWorkflowExecution({ namespace: config.temporal.namespace, workflowExecution: { workflowId: wf.workflowId, runId: wf.runId } })
          .catch(() => undefined);
      }
    }
    await connection.close();
  }
}

export async function post(p: Platform, path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${p.producerUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await res.json()) as Record<string, unknown>;
  if (res.status !== 202) throw new Error(`POST ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

export const completedQuery = (p: Platform) => `TaskQueue = '${p.config.temporal.taskQueue}' AND ExecutionStatus = 'Completed'`;

/** One layout: warm-up, idle latency (one event at a time), then `n` events posted in batches. */
export async function pipelineRound(name: string, opts: Parameters<typeof startPlatform>[0], n: number, idleEvents: number): Promise<Figures> {
  const p = await startPlatform(opts);
  try {
    let total = 0;
    const event = (i: number) => ({ event_type: 'bench', user_id: `u${i % 64}`, payload: { i } });
    // Warm-up: workflow bundles loaded, connections open, partitions assigned.
    await post(p, '/events/batch', { events: Array.from({ length: 20 }, (_, i) => event(i)) });
    total += 20;
    await waitForCount(p.temporal, completedQuery(p), total, 120_000);

    const toItem: number[] = [];
    const toCompleted: number[] = [];
    const ids: string[] = [];
    for (let i = 0; i < idleEvents; i++) {
      const t0 = performance.now();
      const id = (await post(p, '/events', event(i))).event_id as string;
      ids.push(id);
      total++;
      const deadline = Date.now() + 60_000;
      const until = async (what: string, probe: () => Promise<unknown>) => {
        while (!(await probe().catch(() => false))) {
          if (Date.now() > deadline) throw new Error(`${name}: event ${id} not ${what} after 60 s`);
          await sleep(5);
        }
      };
      const item = until('stored', () => getItem(p, id)).then(() => toItem.push(performance.now() - t0));
      // The run exists once the bridge started it; then the result is a long poll on its history.
      await until('started', () => p.temporal.workflow.getHandle(id).describe());
      await p.temporal.workflow.getHandle(id).result();
      toCompleted.push(performance.now() - t0);
      await item;
    }

    const started = performance.now();
    for (let i = 0; i < n; i += BATCH) {
      await post(p, '/events/batch', { events: Array.from({ length: Math.min(BATCH, n - i) }, (_, j) => event(i + j)) });
    }
    total += n;
    await waitForCount(p.temporal, completedQuery(p), total, 900_000);
    const rate = n / ((performance.now() - started) / 1000);

    const lengths = await Promise.all(ids.slice(0, 5).map(async (id) => (await p.temporal.workflow.getHandle(id).fetchHistory()).events?.length ?? 0));
    return {
      name,
      rate,
      latency: {
        itemP50: pct(toItem, 50),
        itemP95: pct(toItem, 95),
        itemP99: pct(toItem, 99),
        completedP50: pct(toCompleted, 50),
        completedP95: pct(toCompleted, 95),
        completedP99: pct(toCompleted, 99),
      },
      historyEvents: Math.max(...lengths),
    };
  } finally {
    await p.stop();
  }
}

export async function benchPipeline({ quick, levers = !quick }: { quick: boolean; levers?: boolean }): Promise<void> {
  const n = Number(process.env.BENCH_PIPELINE_EVENTS ?? (quick ? 400 : 1500));
  const idle = Number(process.env.BENCH_IDLE_EVENTS ?? (quick ? 20 : 50));
  const ceilingRuns = Number(process.env.BENCH_CEILING_RUNS ?? (quick ? 200 : 1000));
  console.log(
    `\npipeline: POST → item + object + Completed run; ${n} events in batches of ${BATCH}, ${idle} idle events one at a time; ceilings from ${ceilingRuns} runs each\n`,
  );

  const ceilings = await benchCeilings(ceilingRuns, ['bare', 'bareEager', 'twoActivities', 'twoLocalEager']);
  const c = {
    bare: ceilings.bare.rate,
    bareEager: ceilings.bareEager.rate,
    twoActivities: ceilings.twoActivities.rate,
    twoLocalEager: ceilings.twoLocalEager.rate,
    eagerShare: ceilings.bareEager.eagerShare,
  };
  console.log(
    `ceilings/s: bare ${c.bare.toFixed(1)}, bare eager ${c.bareEager.toFixed(1)} (${(100 * c.eagerShare).toFixed(0)}% eager), two regular activities ${c.twoActivities.toFixed(1)}, two local eager ${c.twoLocalEager.toFixed(1)}`,
  );
  const rounds: [string, Parameters<typeof startPlatform>[0]][] = [
    ['before: 2 bridges + 2 workers, regular activities', { bridges: 2, workers: 2, env: { FAST_PATH_TIMEOUT_MS: '0' } }],
    ['now: 2 processors, eager start, fast path', { processors: 2 }],
  ];
  if (levers) {
    // Each lever taken away from the new default, one at a time.
    rounds.push(
      ['now without eager start', { processors: 2, env: { PROCESSOR_EAGER_START: 'false' } }],
      ['now without the fast path', { processors: 2, env: { FAST_PATH_TIMEOUT_MS: '0' } }],
      ['now with 40 workflow task slots (SDK default)', { processors: 2, env: { WORKER_WORKFLOW_TASK_SLOTS: '40' } }],
      ['separate: 2 bridges + 2 workers, fast path', { bridges: 2, workers: 2 }],
    );
  }
  const results: Figures[] = [];
  for (const [name, opts] of rounds) {
    const f = await pipelineRound(name, opts, n, idle);
    console.log(`${name}: ${f.rate.toFixed(1)}/s`);
    results.push(f);
  }
  const before = results[0]!;
  const after = results[1]!;

  console.log('');
  const row = (what: string, rate: number, note = '') =>
    console.log(
      `${what.padEnd(58)} ${rate.toFixed(1).padStart(7)}/s  x${(rate / before.rate).toFixed(2)} of before  ${((100 * rate) / c.bareEager).toFixed(0).padStart(3)}% of eager bare${note}`,
    );
  row('ceiling: bare workflow', c.bare);
  row('ceiling: bare workflow, eager start', c.bareEager, `  (${(100 * c.eagerShare).toFixed(0)}% started eagerly)`);
  row('ceiling: two no-op regular activities', c.twoActivities);
  row('ceiling: two no-op local activities, eager start', c.twoLocalEager);
  for (const f of results) {
    const l = f.latency!;
    row(f.name, f.rate);
    console.log(
      `${''.padEnd(58)} idle: POST→item p50 ${l.itemP50.toFixed(0)} ms p95 ${l.itemP95.toFixed(0)} ms p99 ${l.itemP99.toFixed(0)} ms; POST→Completed p50 ${l.completedP50.toFixed(0)} ms p95 ${l.completedP95.toFixed(0)} ms p99 ${l.completedP99.toFixed(0)} ms; ${f.historyEvents} history events`,
    );
  }
  const goal = Math.max(40, 0.75 * c.bareEager);
  console.log(
    `\ngoal: ≥ ${goal.toFixed(1)}/s (40/s or 75% of the eager bare ceiling, whichever is higher): ${after.rate >= goal ? 'met' : `short by ${(goal - after.rate).toFixed(1)}/s`}; ` +
      `idle p50 ≤ 80 ms: ${after.latency!.completedP50 <= 80 ? 'met' : 'not met'}; ≤ 8 history events: ${after.historyEvents! <= 8 ? 'met' : 'not met'}`,
  );
}
