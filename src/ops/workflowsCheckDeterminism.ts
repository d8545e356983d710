/**
 * `events workflows check-determinism` (old name `workflows replay`): downloads the histories of processEvent runs from the server and
 * replays them against the workflow code of this checkout (workflows/) with the SDK's
 * Worker.runReplayHistories, the same check as test/unit/replay.test.ts on recorded histories.
 * A run that would not replay (non-determinism: the code now issues other commands than the
 * history recorded) would get stuck on its next workflow task after a deploy; this names it
 * before the deploy, and exits 1.
 */
import type { Client, HistoryAndWorkflowId } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { exactDataConverter } from '../platform/temporal/dataConverter';
import { WORKFLOW_TYPE } from '../../workflows/contract';
import { parseFlags, positiveInt, UsageError, type CommandSpec } from './args';
import { printable } from './format';

/** The names `workflows check-determinism` had before, still accepted. */
const CHECK_DETERMINISM_OLD_NAMES = ['workflows replay'] as const;

export const CHECK_DETERMINISM_USAGE = 'Usage: events workflows check-determinism [--query "<visibility query>"] [--limit N] [--json]';
export const CHECK_DETERMINISM_HELP = `${CHECK_DETERMINISM_USAGE}

Fetches the histories of processEvent runs from Temporal and replays them against the current
workflow code (workflows/). Prints one line per run (ok, or what broke) and exits 1 when any run
would break (non-determinism), 0 when all replay.

  --query Q    a visibility query selecting the runs, combined with WorkflowType = 'processEvent'
               (default: every run of TEMPORAL_TASK_QUEUE), e.g. "ExecutionStatus = 'Running'"
  --limit N    at most N runs, newest first (default 100)
  --json       {results: [{workflow_id, run_id, ok, error}], replayed, broken} instead of lines
  -h, --help   this help

'events ${CHECK_DETERMINISM_OLD_NAMES[0]}' is its old name.`;

export interface CheckDeterminismArgs {
  help: boolean;
  query?: string;
  limit: number;
  json: boolean;
}

export function parseCheckDeterminismArgs(argv: string[]): CheckDeterminismArgs {
  const { values } = parseFlags(argv, { query: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } }, CHECK_DETERMINISM_USAGE);
  return {
    help: values.help ?? false,
    ...(values.query !== undefined ? { query: nonBlank('--query', values.query) } : {}),
    limit: positiveInt('--limit', values.limit, 100, MAX_LIMIT),
    json: values.json ?? false,
  };
}

export const CHECK_DETERMINISM_COMMAND = {
  name: 'workflows check-determinism',
  aliases: CHECK_DETERMINISM_OLD_NAMES,
  summary: "check that runs' recorded histories still replay on the current workflow code",
  help: CHECK_DETERMINISM_HELP,
  parse: parseCheckDeterminismArgs,
} as const satisfies CommandSpec;

export function checkDeterminismQuery(args: Pick<CheckDeterminismArgs, 'query'>, taskQueue: string): string {
  const base = `WorkflowType = '${WORKFLOW_TYPE}'`;
  return args.query?.trim() ? `${base} AND (${args.query})` : `${base} AND TaskQueue = '${taskQueue}'`;
}

/** Each run is downloaded and replayed: a bound that keeps a typo from meaning hours. */
const MAX_LIMIT = 100_000;

const nonBlank = (flag: string, value: string) => {
  // A blank query would silently mean "every run of the task queue".
  if (value.trim() === '') throw new UsageError(`${flag} must not be blank`, CHECK_DETERMINISM_USAGE);
  return value;
};

export interface RunReplay {
  workflow_id: string;
  run_id: string;
  ok: boolean;
  /** 'nondeterminism' or 'replay-error' when it broke. */
  kind?: string;
  error?: string;
}

/** The newest `limit` runs the query finds, each with its history. */
async function* histories(client: Pick<Client, 'workflow'>, query: string, limit: number): AsyncGenerator<HistoryAndWorkflowId> {
  let n = 0;
  for await (const run of client.workflow.list({ query })) {
    if (n++ >= limit) return;
    yield { workflowId: run.workflowId, history: await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory() };
  }
}

export async function checkDeterminism(
  client: Pick<Client, 'workflow'>,
  args: Pick<CheckDeterminismArgs, 'query' | 'limit'>,
  taskQueue: string,
  onResult: (r: RunReplay) => void,
): Promise<{ replayed: number; broken: number }> {
  let replayed = 0;
  let broken = 0;
  const results = Worker.runReplayHistories(
    { workflowsPath: require.resolve('../../workflows'), replayName: WORKFLOW_TYPE, dataConverter: exactDataConverter },
    histories(client, checkDeterminismQuery(args, taskQueue), args.limit),
  );
  for await (const r of results) {
    replayed++;
    if (r.error) broken++;
    onResult({
      workflow_id: r.workflowId,
      run_id: r.runId,
      ok: r.error === undefined,
      ...(r.error ? { kind: r.error.name === 'DeterminismViolationError' ? 'nondeterminism' : 'replay-error', error: r.error.message } : {}),
    });
  }
  return { replayed, broken };
}

export function formatRunReplay(r: RunReplay): string {
  const run = `${printable(r.workflow_id)} ${printable(r.run_id)}`;
  return r.ok ? `${run} ok` : `${run} BROKEN (${r.kind}): ${printable(r.error ?? '')}`;
}
