/**
 * `events workflows retry` (old name `workflows redrive`; also `npm run redrive -- [options]`):
 * finds every processEvent run that ended other than Completed (Failed, Terminated, TimedOut,
 * Canceled) through Temporal visibility, and runs each event again with the input its run was
 * started with (the event from its history; the retry policy of today's config). Says for each
 * event what happened (src/ops/retry.ts): completed earlier (a later run of the same ID
 * completed), still running, restarted, or refused with the reason.
 *
 * Dead-lettered events are among the Failed runs; `events dlq retry` reaches the same ones from the
 * DLQ. Runs that were Terminated, TimedOut or Canceled never reach the DLQ: this finds them.
 */
import type { Client } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import type { StartProcessEvent } from '../bridge/startProcessEvent';
import { parseEnvelope } from '../events/validate';
import { WORKFLOW_TYPE, type ProcessEventInput } from '../../workflows/contract';
import { isoTime, parseFlags, UsageError, type CommandSpec } from './args';
import {
  describeOutcome,
  ENDED_NOT_COMPLETED,
  OutcomeTally,
  retryEvent,
  type EndedStatus,
  type OutcomeCounts,
  type RetryOutcome,
  type RetryResult,
} from './retry';

/** The names `workflows retry` had before, still accepted. */
const WORKFLOWS_RETRY_OLD_NAMES = ['workflows redrive'] as const;

export const WORKFLOWS_RETRY_USAGE =
  'Usage: events workflows retry [--status Failed|Terminated|TimedOut|Canceled]... [--event-type T] [--closed-after ISO] [--closed-before ISO] [--task-queue Q] [--dry-run] [--json]';

export const WORKFLOWS_RETRY_HELP = `${WORKFLOWS_RETRY_USAGE}

Finds, through Temporal visibility, every processEvent run that ended other than Completed and
runs each event again with the event its run was started with and today's retry policy. Prints
one line per event (completed earlier, still running, restarted, refused: <reason>), then a
count of each. Exits 1 when any was refused.

  --status S          only runs that ended so: Failed, Terminated, TimedOut, Canceled (repeatable;
                      default all four)
  --event-type T      only events of this type
  --closed-after T    only runs that ended after this ISO-8601 time
  --closed-before T   only runs that ended before this ISO-8601 time
  --task-queue Q      runs of this task queue (default TEMPORAL_TASK_QUEUE)
  --dry-run           list what would be restarted, start nothing
  --json              {results: [{event_id, outcome, detail}], summary} instead of lines
  -h, --help          this help

'npm run redrive -- <flags>' is the same command; 'events ${WORKFLOWS_RETRY_OLD_NAMES[0]}' is its old name.`;

export interface WorkflowsRetryArgs {
  help?: boolean;
  /** Present only when --json was given. */
  json?: boolean;
  statuses: EndedStatus[];
  eventType?: string;
  closedAfter?: string;
  closedBefore?: string;
  taskQueue?: string;
  dryRun: boolean;
}

// Values go into a visibility query between single quotes: allow only what cannot break out.
const queryValue = (flag: string, value: string | undefined, pattern: RegExp, what: string): string | undefined => {
  if (value === undefined) return undefined;
  if (!pattern.test(value)) throw new UsageError(`${flag} must be ${what}, got "${value}"`);
  return value;
};

export function parseWorkflowsRetryArgs(argv: string[]): WorkflowsRetryArgs {
  const { values } = parseFlags(
    argv,
    {
      status: { type: 'string', multiple: true },
      'event-type': { type: 'string' },
      'closed-after': { type: 'string' },
      'closed-before': { type: 'string' },
      'task-queue': { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      json: { type: 'boolean' },
    },
    WORKFLOWS_RETRY_USAGE,
  );
  const statuses = (values.status ?? []).map((s) => {
    const match = ENDED_NOT_COMPLETED.find((known) => known.toLowerCase() === s.toLowerCase());
    if (!match) throw new UsageError(`--status must be one of ${ENDED_NOT_COMPLETED.join(', ')}, got "${s}"`);
    return match;
  });
  const closedAfter = isoTime('--closed-after', values['closed-after']);
  const closedBefore = isoTime('--closed-before', values['closed-before']);
  if (closedAfter !== undefined && closedBefore !== undefined && closedAfter >= closedBefore) {
    throw new UsageError(`--closed-after (${closedAfter}) must be before --closed-before (${closedBefore})`);
  }
  return {
    help: values.help ?? false,
    ...(values.json ? { json: true } : {}),
    statuses: statuses.length > 0 ? [...new Set(statuses)] : [...ENDED_NOT_COMPLETED],
    eventType: queryValue('--event-type', values['event-type'], /^[A-Za-z0-9_.:-]{1,128}$/, 'an event type ([A-Za-z0-9_.:-], 1-128 characters)'),
    closedAfter,
    closedBefore,
    taskQueue: queryValue('--task-queue', values['task-queue'], /^[A-Za-z0-9_.:\-/]{1,256}$/, 'a task queue name'),
    dryRun: values['dry-run'] ?? false,
  };
}

export const WORKFLOWS_RETRY_COMMAND = {
  name: 'workflows retry',
  aliases: WORKFLOWS_RETRY_OLD_NAMES,
  summary: 'start again the events whose runs ended Failed, Terminated, TimedOut or Canceled',
  help: WORKFLOWS_RETRY_HELP,
  parse: parseWorkflowsRetryArgs,
} as const satisfies CommandSpec;

/** The visibility query for the runs to look at. */
export function workflowsRetryQuery(args: WorkflowsRetryArgs, taskQueue: string): string {
  const parts = [
    `WorkflowType = '${WORKFLOW_TYPE}'`,
    `TaskQueue = '${args.taskQueue ?? taskQueue}'`,
    `(${args.statuses.map((s) => `ExecutionStatus = '${s}'`).join(' OR ')})`,
  ];
  if (args.eventType) parts.push(`EventType = '${args.eventType}'`);
  if (args.closedAfter) parts.push(`CloseTime > '${args.closedAfter}'`);
  if (args.closedBefore) parts.push(`CloseTime < '${args.closedBefore}'`);
  return parts.join(' AND ');
}

/** The input a run was started with, from the first event of its history. */
async function originalInput(client: WorkflowsRetryClient, workflowId: string, runId: string): Promise<ProcessEventInput> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const payloads = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads;
  return decodeFromPayloadsAtIndex<ProcessEventInput>(client.options.loadedDataConverter, 0, payloads);
}

/** What `workflows retry` needs of a Temporal client: visibility, handles, and the data converter to read inputs. */
export type WorkflowsRetryClient = Pick<Client, 'workflow'> & { options: Pick<Client['options'], 'loadedDataConverter'> };

/**
 * `workflows retry`'s run: each ended run's event started again, once per workflow ID (through
 * its latest run). Each event's result goes to `onResult` as it is known; the counts come back.
 */
export async function retryEndedRuns(
  deps: { client: WorkflowsRetryClient; start: StartProcessEvent; taskQueue: string },
  args: WorkflowsRetryArgs,
  onResult: (result: RetryResult) => void = () => undefined,
): Promise<OutcomeCounts> {
  const tally = new OutcomeTally();
  // Visibility lists every run; one workflow ID is looked at once, through its latest run.
  const seen = new Set<string>();
  for await (const run of deps.client.workflow.list({ query: workflowsRetryQuery(args, deps.taskQueue) })) {
    if (seen.has(run.workflowId)) continue;
    seen.add(run.workflowId);
    let outcome: RetryOutcome;
    try {
      const input = await originalInput(deps.client, run.workflowId, run.runId);
      const envelope = parseEnvelope(input?.event);
      outcome = envelope.ok
        ? await retryEvent(deps.client, deps.start, envelope.value, { dryRun: args.dryRun })
        : { kind: 'refused', reason: `its input is not a valid event (${envelope.errors.map((e) => e.field).join(', ')})` };
    } catch (err) {
      outcome = { kind: 'refused', reason: `cannot read its input: ${(err as Error).message}` };
    }
    tally.add(outcome);
    onResult({ event_id: run.workflowId, outcome: outcome.kind, detail: describeOutcome(outcome) });
  }
  return tally.counts();
}
