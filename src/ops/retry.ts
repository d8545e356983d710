/**
 * One event's workflow, run again if its last run ended without completing: shared by
 * `events dlq retry` (events from the dead-letter topic) and `events workflows retry` (runs found
 * through Temporal visibility). Each id gets one outcome a user can act on:
 *   completed earlier   the latest run Completed: nothing to do (the event is stored);
 *   still running       the latest run is Running (retrying, or re-run already): nothing to do;
 *   restarted           the latest run had Failed, Terminated, TimedOut or been Canceled, or
 *                       there was none: a new run was started (the reuse policy
 *                       ALLOW_DUPLICATE_FAILED_ONLY lets the same workflow ID run again);
 *   refused             it could not be done; the reason says why.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { StartProcessEvent } from '../bridge/startProcessEvent';
import type { EventEnvelope } from '../events/event';
import { printable } from './format';

/** Status names as Temporal's visibility queries spell them. */
export const ENDED_NOT_COMPLETED = ['Failed', 'Terminated', 'TimedOut', 'Canceled'] as const;
export type EndedStatus = (typeof ENDED_NOT_COMPLETED)[number];

const STATUS_NAMES: Record<string, string> = {
  RUNNING: 'Running',
  COMPLETED: 'Completed',
  FAILED: 'Failed',
  TERMINATED: 'Terminated',
  TIMED_OUT: 'TimedOut',
  CANCELLED: 'Canceled',
  CONTINUED_AS_NEW: 'ContinuedAsNew',
};

export type RetryOutcome =
  { kind: 'completed-earlier' } | { kind: 'still-running' } | { kind: 'restarted' | 'would-restart'; previous: string } | { kind: 'refused'; reason: string };

/** The latest run's status under this workflow ID, or 'none'. */
export async function latestStatus(client: Pick<Client, 'workflow'>, workflowId: string): Promise<string> {
  try {
    const { status } = await client.workflow.getHandle(workflowId).describe();
    return STATUS_NAMES[status.name] ?? status.name;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return 'none';
    throw err;
  }
}

const settled = (status: string): RetryOutcome | undefined =>
  status === 'Completed' ? { kind: 'completed-earlier' } : status === 'Running' ? { kind: 'still-running' } : undefined;

export async function retryEvent(
  client: Pick<Client, 'workflow'>,
  start: StartProcessEvent,
  event: EventEnvelope,
  { dryRun }: { dryRun: boolean },
): Promise<RetryOutcome> {
  try {
    const status = await latestStatus(client, event.event_id);
    const done = settled(status);
    if (done) return done;
    if (dryRun) return { kind: 'would-restart', previous: status };
    if ((await start(event)) === 'started') return { kind: 'restarted', previous: status };
    // Someone else (the bridge, another retry) started it between the look and the start.
    return settled(await latestStatus(client, event.event_id)) ?? { kind: 'refused', reason: 'Temporal refused the start (a run exists)' };
  } catch (err) {
    return { kind: 'refused', reason: (err as Error).message || String(err) };
  }
}

export function describeOutcome(outcome: RetryOutcome): string {
  switch (outcome.kind) {
    case 'completed-earlier':
      return 'completed earlier';
    case 'still-running':
      return 'still running';
    case 'restarted':
      return outcome.previous === 'none' ? 'restarted (it had no run)' : `restarted (previous run ${outcome.previous})`;
    case 'would-restart':
      return outcome.previous === 'none' ? 'would restart (it has no run)' : `would restart (previous run ${outcome.previous})`;
    case 'refused':
      return `refused: ${outcome.reason}`;
  }
}

/** How many events ended each way: the result of a retry (`dlq retry`, `workflows retry`). */
export interface OutcomeCounts {
  restarted: number;
  would_restart: number;
  completed_earlier: number;
  still_running: number;
  refused: number;
}

const KINDS: RetryOutcome['kind'][] = ['restarted', 'would-restart', 'completed-earlier', 'still-running', 'refused'];

/** Counts per outcome, as the retries go. */
export class OutcomeTally {
  private readonly counts_ = new Map<RetryOutcome['kind'], number>();
  add(outcome: RetryOutcome): void {
    this.counts_.set(outcome.kind, (this.counts_.get(outcome.kind) ?? 0) + 1);
  }
  /** The counts by outcome, as a plain object. */
  counts(): OutcomeCounts {
    return Object.fromEntries(KINDS.map((kind) => [kind.replace(/-/g, '_'), this.counts_.get(kind) ?? 0])) as unknown as OutcomeCounts;
  }
}

/** The closing line of a retry: each count, in a fixed order. */
export function formatOutcomeCounts(c: OutcomeCounts): string {
  return `restarted ${c.restarted}, would restart ${c.would_restart}, completed earlier ${c.completed_earlier}, still running ${c.still_running}, refused ${c.refused}`;
}

/** One event's line of a retry, after the id. */
export interface RetryResult {
  event_id: string | null;
  /** Where the record is in the DLQ (partition:offset), for one that names no event. */
  position?: string;
  outcome: RetryOutcome['kind'];
  detail: string;
  /** The stage and message of the dead-letter record the event was retried from. */
  stage?: string;
  error?: string;
}

/** One line per retried event, as the text output prints it. */
export function formatRetryResult(r: RetryResult): string {
  const who = r.event_id === null ? `record ${r.position ?? '?'}` : r.event_id;
  const dead = r.stage !== undefined ? ` [dead-lettered at ${printable(r.stage)}: ${printable(r.error ?? '')}]` : '';
  return `${printable(who)} ${printable(r.detail)}${dead}`;
}
