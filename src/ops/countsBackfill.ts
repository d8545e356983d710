/**
 * `events counts backfill`: counts what is in the hot table but was never counted (events stored
 * before counting was turned on, or announced on a stored topic whose retention has since removed
 * them). It re-announces every item of the table on the stored topic, marked for the counter only,
 * and the counter counts them as it counts any announcement: an event that already has its mark
 * adds nothing, so the command is safe to run at any time, as often as you like, beside the live
 * counter. Items are read through the time index, shard by shard, oldest first (never a Scan of
 * the base table), and the retention cutoff applies as for every read.
 */
import { unmarshallItem } from '../store/hot/itemCodec';
import { envelopeOf, retentionCutoff, type EventItem } from '../store/hot/layout';
import { timeIndexPages, type TimeIndex } from '../store/hot/timeIndex';
import type { EventEnvelope } from '../events/event';
import { parseFlags, type CommandSpec } from './args';

export const COUNTS_BACKFILL_USAGE = 'Usage: events counts backfill [--json]';
export const COUNTS_BACKFILL_HELP = `${COUNTS_BACKFILL_USAGE}

Re-announces every event of the hot table (DYNAMODB_TABLE) on the stored topic
(KAFKA_STORED_TOPIC) for the counter only: events that were never counted get counted, events
already counted are skipped by their marks. Live subscribers do not receive them. Safe to run
again; follow the counter with 'events status' (Counts lag).

  --json    the summary as JSON`;

export function parseCountsBackfillArgs(argv: string[]): { json: boolean; help: boolean } {
  const { values } = parseFlags(argv, { json: { type: 'boolean', default: false } }, COUNTS_BACKFILL_USAGE);
  return { json: values.json === true, help: values.help === true };
}

export const COUNTS_BACKFILL_COMMAND = {
  name: 'counts backfill',
  aliases: [],
  summary: 'count the stored events that were never counted (safe to run again)',
  help: COUNTS_BACKFILL_HELP,
  parse: parseCountsBackfillArgs,
} as const satisfies CommandSpec;

export interface CountsBackfillDeps extends TimeIndex {
  retentionDays?: number;
  /** Publishes one page of envelopes (announceForCounting). */
  announce(events: EventEnvelope[]): Promise<void>;
  now?: () => number;
}

/** Announces every item; returns how many, reporting each page's total so far. */
export async function countsBackfill(deps: CountsBackfillDeps, onProgress: (announced: number) => void = () => undefined): Promise<number> {
  const from = retentionCutoff(deps.retentionDays ?? 0, (deps.now ?? Date.now)());
  let announced = 0;
  for await (const page of timeIndexPages(deps, { from })) {
    const events = page.map((i) => envelopeOf(unmarshallItem<EventItem>(i)));
    await deps.announce(events);
    announced += events.length;
    onProgress(announced);
  }
  return announced;
}
