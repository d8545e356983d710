/**
 * `events archive reingest --from DATE --to DATE` (old name `archive replay`): re-ingests events from the S3 archive
 * (src/store/archive/), for example after the table was lost. Each archived event in the range is
 * started as processEvent (workflow ID = event_id); one whose run already exists gets its item
 * through the hot table's conditional put instead, so nothing can double. The checkpoint never
 * passes an event that failed or was invalid, so a run that stopped resumes at the first of them.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Client } from '@temporalio/client';
import type { StartProcessEvent } from '../bridge/startProcessEvent';
import type { EventEnvelope } from '../events/event';
import { parseExact } from '../events/exactJson';
import { parseEnvelope } from '../events/validate';
import { hasEventItem, putEventItem, type HotTable } from '../store/hot/writer';
import { dayPrefix, keyDay, keyEventId } from '../store/archive/layout';
import { archivedKeyPages, readArchivedObject } from '../store/archive/reader';
import type { ArchiveBucket } from '../store/archive/writer';
import { pastRetention } from '../store/hot/layout';
import { inParallel } from '../platform/inParallel';
import { parseFlags, positiveInt, utcDate, UsageError, type CommandSpec } from './args';
import { latestStatus } from './retry';

export const ARCHIVE_REINGEST_USAGE =
  'Usage: events archive reingest --from DATE --to DATE [--type T] [--user U] [--dry-run] [--json] [--checkpoint PATH] [--restart] [--page-size N]';

/** Where the checkpoint lives unless --checkpoint says otherwise: the checkout's .stack/ (its name kept from the old command name, so a run stopped before the rename resumes). */
export const DEFAULT_CHECKPOINT = resolve(__dirname, '..', '..', '.stack', 'archive-replay.checkpoint.json');

/** The names `archive reingest` had before, still accepted. */
const ARCHIVE_REINGEST_OLD_NAMES = ['archive replay'] as const;

export const ARCHIVE_REINGEST_HELP = `${ARCHIVE_REINGEST_USAGE}

Re-ingests archived events (S3_BUCKET, keys events/YYYY/MM/DD/{event_id}.json) whose date is
from --from to --to (UTC days, both included): starts processEvent for each (workflow ID =
event_id). An event whose run already Completed (or is Running) is not started again; its
DynamoDB item is written with the same conditional put the workflow uses, so a lost item is
restored and a present one left alone. Running it twice stores nothing twice.

One line per event: started, restored (item written), present (nothing to do), past
retention (older than HOT_RETENTION_DAYS: left in the archive, not put back into the hot table,
whose sweep would delete it again; narrow --from/--to to leave them out), or invalid / failed
with the reason (an object larger than one event can be, MAX_EVENT_BYTES, is failed unread);
then a count of each. Exits 1 when any event was invalid or failed, 0 otherwise.

  --from DATE        first day, e.g. 2026-11-25
  --to DATE          last day (included)
  --type T           only events of this event_type
  --user U           only events of this user_id
  --dry-run          say what would happen (would start / would restore / present), change nothing
  --json             JSON lines: one {event_id, key, outcome, detail} per event, then {summary}
  --checkpoint PATH  resume file (default .stack/archive-replay.checkpoint.json): the last key
                     before which every event is done, written after each page; it stops
                     before the first failed or invalid event, so running the same command
                     again retries from there; a run with nothing failed removes it
  --restart          ignore the checkpoint and start from --from
  --page-size N      objects per listing page (default 1000)
  -h, --help         this help

Progress goes to stderr when it is a terminal. 'events ${ARCHIVE_REINGEST_OLD_NAMES[0]}' is its old name.`;

export interface ArchiveReingestArgs {
  help?: boolean;
  from: string;
  to: string;
  type?: string;
  user?: string;
  dryRun: boolean;
  json: boolean;
  checkpoint: string;
  restart: boolean;
  pageSize: number;
}

export function parseArchiveReingestArgs(argv: string[]): ArchiveReingestArgs {
  const { values } = parseFlags(
    argv,
    {
      from: { type: 'string' },
      to: { type: 'string' },
      type: { type: 'string' },
      user: { type: 'string' },
      'dry-run': { type: 'boolean' },
      json: { type: 'boolean' },
      checkpoint: { type: 'string' },
      restart: { type: 'boolean' },
      'page-size': { type: 'string' },
    },
    ARCHIVE_REINGEST_USAGE,
  );
  if (values.help) return { help: true, from: '', to: '', dryRun: false, json: false, checkpoint: '', restart: false, pageSize: 0 };
  const from = utcDate('--from', values.from);
  const to = utcDate('--to', values.to);
  if (from > to) throw new UsageError(`--from (${from}) must not be after --to (${to})`, ARCHIVE_REINGEST_USAGE);
  if (values.type !== undefined && !/^[A-Za-z0-9_.:-]{1,128}$/.test(values.type)) {
    throw new UsageError(`--type must be an event type ([A-Za-z0-9_.:-], 1-128 characters), got "${values.type}"`, ARCHIVE_REINGEST_USAGE);
  }
  if (values.user !== undefined && (values.user.length < 1 || values.user.length > 256))
    throw new UsageError('--user must be 1-256 characters', ARCHIVE_REINGEST_USAGE);
  const pageSize = positiveInt('--page-size', values['page-size'], 1000, 1000); // S3's largest page
  return {
    help: false,
    from,
    to,
    ...(values.type !== undefined ? { type: values.type } : {}),
    ...(values.user !== undefined ? { user: values.user } : {}),
    dryRun: values['dry-run'] ?? false,
    json: values.json ?? false,
    checkpoint: checkpointPath(values.checkpoint),
    restart: values.restart ?? false,
    pageSize,
  };
}

export const ARCHIVE_REINGEST_COMMAND = {
  name: 'archive reingest',
  aliases: ARCHIVE_REINGEST_OLD_NAMES,
  summary: 'feed archived events from S3 back in by date (restores lost DynamoDB items)',
  help: ARCHIVE_REINGEST_HELP,
  parse: parseArchiveReingestArgs,
} as const satisfies CommandSpec;

/** The checkpoint file: a file path, never a directory (the run would fail at its first page). */
function checkpointPath(value: string | undefined): string {
  if (value === undefined) return DEFAULT_CHECKPOINT;
  if (/[/\\]$/.test(value) || value === '.' || value === '..')
    throw new UsageError(`--checkpoint must be a file path, got the directory "${value}"`, ARCHIVE_REINGEST_USAGE);
  return resolve(value);
}

export type ArchiveOutcome = 'started' | 'restored' | 'present' | 'would-start' | 'would-restore' | 'past-retention' | 'invalid' | 'failed';
export const ARCHIVE_OUTCOMES: ArchiveOutcome[] = ['started', 'restored', 'present', 'would-start', 'would-restore', 'past-retention', 'invalid', 'failed'];

/** Outcomes that leave an event undone: the checkpoint never passes one, and the run exits 1. */
const UNDONE: ReadonlySet<ArchiveOutcome | 'skipped'> = new Set(['invalid', 'failed']);

export interface ArchiveResult {
  event_id: string | null;
  key: string;
  outcome: ArchiveOutcome;
  detail: string;
}

export interface ArchiveDeps extends HotTable, ArchiveBucket {
  client: Pick<Client, 'workflow'>;
  start: StartProcessEvent;
  /** Tells live subscribers about an item restored here (a started run's storeHot does it itself). */
  announce?: (event: EventEnvelope) => Promise<void>;
  /** MAX_EVENT_BYTES: an object larger than one event can be is reported failed without being read. */
  maxEventBytes: number;
  now?: () => number;
}

/** The checkpoint: which run it belongs to, and the last key whose event is done. */
interface Checkpoint {
  bucket: string;
  from: string;
  to: string;
  type: string | null;
  user: string | null;
  lastKey: string;
}

const sameRun = (c: Checkpoint, bucket: string, a: ArchiveReingestArgs) =>
  c.bucket === bucket && c.from === a.from && c.to === a.to && c.type === (a.type ?? null) && c.user === (a.user ?? null);

function readCheckpoint(path: string): Checkpoint | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Checkpoint;
  } catch {
    return undefined;
  }
}

/** Written to a temporary file and renamed, so a crash mid-write never leaves half a checkpoint. */
function writeCheckpoint(path: string, c: Checkpoint): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(`${path}.tmp`, `${JSON.stringify(c)}\n`);
  renameSync(`${path}.tmp`, path);
}

/** One archived event: started, or its item restored, or nothing to do. */
export async function reingestEvent(deps: ArchiveDeps, event: EventEnvelope, dryRun: boolean): Promise<{ outcome: ArchiveOutcome; detail: string }> {
  const days = deps.hotRetentionDays ?? 0;
  if (pastRetention(event.timestamp, days, (deps.now ?? Date.now)())) {
    // Decided before any start: a run would store it only for the sweep to delete it again.
    return {
      outcome: 'past-retention',
      detail: `past retention: older than HOT_RETENTION_DAYS (${days} days), left in the archive and not put back into the hot table`,
    };
  }
  if (dryRun) {
    const status = await latestStatus(deps.client, event.event_id);
    if (status !== 'Completed' && status !== 'Running') {
      return { outcome: 'would-start', detail: status === 'none' ? 'would start (it has no run)' : `would start (previous run ${status})` };
    }
    return (await hasEventItem(deps, event.event_id))
      ? { outcome: 'present', detail: `present (run ${status}, item stored)` }
      : { outcome: 'would-restore', detail: `would restore the item (run ${status}, item missing)` };
  }
  if ((await deps.start(event)) === 'started') return { outcome: 'started', detail: 'started' };
  // A run of this id is Running or Completed: Temporal refused a second one. Its item may still
  // be missing (the table was lost after the run): the conditional put restores it or finds it.
  const put = await putEventItem(deps, event);
  if (put === 'stored') await deps.announce?.(event);
  return put === 'stored'
    ? { outcome: 'restored', detail: 'restored (its run exists; item written)' }
    : { outcome: 'present', detail: 'present (its run exists; item stored)' };
}

export interface ArchiveReingestHooks {
  /** Each event's result, in key order. */
  onResult(result: ArchiveResult): void;
  /** Called after each page with the totals so far (for a progress line). */
  onProgress?(p: { scanned: number; lastKey: string }): void;
  /** Notes for a person (resuming from a checkpoint, ...). */
  onNote?(note: string): void;
}

export async function reingestArchive(
  deps: ArchiveDeps,
  args: ArchiveReingestArgs,
  hooks: ArchiveReingestHooks,
): Promise<Record<ArchiveOutcome | 'skipped', number>> {
  const counts = Object.fromEntries([...ARCHIVE_OUTCOMES, 'skipped'].map((k) => [k, 0])) as Record<ArchiveOutcome | 'skipped', number>;
  const startKey = dayPrefix(args.from); // every key of that day sorts after its prefix
  let startAfter = startKey;
  const saved = args.restart || args.dryRun ? undefined : readCheckpoint(args.checkpoint);
  // Starting over: an older checkpoint left in place would let a later run skip what this one fails.
  if (args.restart && !args.dryRun) rmSync(args.checkpoint, { force: true });
  if (saved && sameRun(saved, deps.bucket, args) && saved.lastKey > startKey) {
    startAfter = saved.lastKey;
    hooks.onNote?.(`resuming after ${saved.lastKey} (checkpoint ${args.checkpoint}; --restart starts over)`);
  } else if (saved) {
    hooks.onNote?.(`ignoring checkpoint ${args.checkpoint}: it belongs to another range, filter or bucket`);
  }

  let scanned = 0;
  // The checkpoint: the last key up to which every event is done. Once one is not (failed,
  // invalid), it stays before that key for the rest of the run, so a resumed run retries it.
  let doneThrough: string | undefined;
  let firstUndone: string | undefined;
  for await (const page of archivedKeyPages(deps, { startAfter, pageSize: args.pageSize })) {
    let pastRange = false;
    const keys: string[] = [];
    for (const key of page) {
      const day = keyDay(key);
      if (day === undefined || day < args.from) continue;
      // Keys sort by day: the first one past --to ends the scan without listing the rest.
      if (day > args.to) {
        pastRange = true;
        break;
      }
      keys.push(key);
    }
    const results = await inParallel(keys, 8, async (key): Promise<ArchiveResult | undefined> => {
      try {
        const body = await readArchivedObject(deps, key, deps.maxEventBytes);
        if (typeof body !== 'string') return { event_id: keyEventId(key), key, outcome: 'failed', detail: `failed: ${body.tooLarge}` };
        const parsed = parseEnvelope(parseExact(body));
        if (!parsed.ok)
          return { event_id: null, key, outcome: 'invalid', detail: `invalid: not a valid event (${parsed.errors.map((e) => e.field).join(', ')})` };
        const event = parsed.value;
        if ((args.type !== undefined && event.event_type !== args.type) || (args.user !== undefined && event.user_id !== args.user)) return undefined;
        return { event_id: event.event_id, key, ...(await reingestEvent(deps, event, args.dryRun)) };
      } catch (err) {
        return { event_id: keyEventId(key), key, outcome: 'failed', detail: `failed: ${(err as Error).message || String(err)}` };
      }
    });
    const checkpointWas = doneThrough;
    results.forEach((r, i) => {
      if (r) {
        counts[r.outcome]++;
        hooks.onResult(r);
      } else counts.skipped++;
      if (firstUndone !== undefined) return;
      if (r && UNDONE.has(r.outcome)) firstUndone = keys[i];
      else doneThrough = keys[i];
    });
    scanned += keys.length;
    if (doneThrough !== checkpointWas && doneThrough !== undefined && !args.dryRun) {
      writeCheckpoint(args.checkpoint, {
        bucket: deps.bucket,
        from: args.from,
        to: args.to,
        type: args.type ?? null,
        user: args.user ?? null,
        lastKey: doneThrough,
      });
    }
    const lastKey = keys.at(-1);
    if (lastKey) hooks.onProgress?.({ scanned, lastKey });
    if (pastRange) break;
  }
  if (args.dryRun) return counts;
  if (firstUndone === undefined) rmSync(args.checkpoint, { force: true });
  else {
    const undone = counts.failed + counts.invalid;
    const kept = doneThrough ?? (saved && sameRun(saved, deps.bucket, args) ? saved.lastKey : undefined);
    hooks.onNote?.(
      `${undone} event(s) not done; ${kept ? `the checkpoint ${args.checkpoint} stays after ${kept}` : 'no checkpoint was written'}, ` +
        `before the first of them (${firstUndone}): run the same command again to retry from there`,
    );
  }
  return counts;
}

export function archiveSummary(counts: Record<ArchiveOutcome | 'skipped', number>): string {
  const label = (k: string) => (k === 'past-retention' ? 'past HOT_RETENTION_DAYS' : k.replace('-', ' '));
  return [...ARCHIVE_OUTCOMES, 'skipped' as const].map((k) => `${label(k)} ${counts[k]}`).join(', ');
}

/** Whether a run left events undone (exit 1): an invalid or failed one. */
export function archiveLeftUndone(counts: Record<ArchiveOutcome | 'skipped', number>): boolean {
  return [...UNDONE].some((k) => counts[k] > 0);
}
