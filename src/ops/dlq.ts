/**
 * `events dlq list | show | retry`: what the dead-letter topic holds, and running the
 * workflows of dead-lettered events again. Each command is a parse (argv to options), a run (the
 * clients injected, a plain result back, nothing printed) and a format (text; JSON is the result).
 *
 * Every command reads the DLQ from its beginning up to its end as of the start of the command (a
 * partition emptied by retention counts as read). Retry starts each event's workflow (workflow
 * ID = event_id, today's retry policy) unless its latest run Completed or is still Running, and
 * says for each event what happened (src/ops/retry.ts): completed earlier, still running,
 * restarted, or refused with the reason. Retrying twice does no harm.
 */
import type { Client } from '@temporalio/client';
import type { Kafka } from 'kafkajs';
import type { StartProcessEvent } from '../bridge/startProcessEvent';
import type { EventEnvelope } from '../events/event';
import { parseExact } from '../events/exactJson';
import { parseEnvelope } from '../events/validate';
import type { DeadLetterRecord } from '../platform/kafka/deadLetter';
import { readTopicToEnd } from '../platform/kafka/readToEnd';
import { isoTime, parseFlags, UsageError, type CommandSpec } from './args';
import { DEAD_LETTER_STAGES } from '../../workflows/contract';
import { formatTable, printable, printableLines } from './format';
import { describeOutcome, latestStatus, OutcomeTally, retryEvent, type OutcomeCounts, type RetryResult } from './retry';

const STAGES = DEAD_LETTER_STAGES;

/** Which records a command looks at; every filter given must match. */
export interface DlqSelection {
  /** Lower-cased event ids; empty = any. */
  eventIds: Set<string>;
  /** Stages the record failed at (error.stage); absent or empty = any. */
  stages?: string[];
  /** Only records whose failed_at is at or after this time (ISO-8601 UTC). */
  since?: string;
}

export interface DlqRetryArgs extends DlqSelection {
  dryRun: boolean;
}

/** One record of the DLQ as read: its position, and the record and event when they parse. */
export interface DlqEntry {
  position: string;
  /** The event's id: from the valid envelope, else whatever `original.event_id` or `workflow_id` says. */
  eventId?: string;
  record?: DeadLetterRecord;
  /** The envelope, when `original` is a valid event (replayable). */
  event?: EventEnvelope;
  /** Why it cannot be replayed, when it cannot. */
  problem?: string;
}

/** The names `dlq retry` had before, still accepted. */
const DLQ_RETRY_OLD_NAMES = ['dlq replay'] as const;

export const DLQ_USAGE = {
  list: `Usage: events dlq list [--since ISO] [--stage ${STAGES.join('|')}]... [--json]`,
  show: 'Usage: events dlq show EVENT_ID [--json]',
  retry: `Usage: events dlq retry [--event-id ID]... [--stage ${STAGES.join('|')}]... [--since ISO] [--dry-run] [--json]`,
};

export const DLQ_HELP = {
  list: `${DLQ_USAGE.list}

Lists the records of the dead-letter topic (KAFKA_DLQ_TOPIC), oldest first per partition: where
each is (partition:offset), its event, the stage that failed, when, after how many attempts and why.

  --since ISO     only records that failed at or after this time (e.g. 2026-11-25T10:00:00Z)
  --stage S       only records that failed at storeHot, archiveCold or bridge (repeatable)
  --json          a JSON array instead of the table
  -h, --help      this help`,
  show: `${DLQ_USAGE.show}

Prints every dead-letter record of one event (the error, the original event, the failed run) and
the status of its latest workflow run. Exits 1 when the event is not in the DLQ.

  --json          JSON instead of text
  -h, --help      this help`,
  retry: `${DLQ_USAGE.retry}

Runs the workflows of dead-lettered events again (workflow ID = event_id, today's retry policy)
and prints one line per event: completed earlier, still running, restarted (previous run ...),
or refused: <reason>; then a count of each. Exits 1 when any was refused.

  --event-id ID   only this event (repeatable)
  --stage S       only records that failed at storeHot, archiveCold or bridge (repeatable)
  --since ISO     only records that failed at or after this time
  --dry-run       say what would happen, start nothing
  --json          {results: [{event_id, outcome, ...}], summary} instead of lines
  -h, --help      this help

'npm run replay-dlq -- <flags>' is the same command; 'events ${DLQ_RETRY_OLD_NAMES[0]}' is its old name.`,
};

const stagesOf = (values: string[] | undefined): string[] | undefined => {
  for (const s of values ?? []) {
    if (!(STAGES as readonly string[]).includes(s)) throw new UsageError(`--stage must be one of ${STAGES.join(', ')}, got "${s}"`);
  }
  return values && values.length > 0 ? [...new Set(values)] : undefined;
};

export function parseDlqListArgs(argv: string[]): { help: boolean; json: boolean; selection: DlqSelection } {
  const { values } = parseFlags(argv, { since: { type: 'string' }, stage: { type: 'string', multiple: true }, json: { type: 'boolean' } }, DLQ_USAGE.list);
  if (values.help) return { help: true, json: false, selection: { eventIds: new Set() } };
  return {
    help: false,
    json: values.json ?? false,
    selection: { eventIds: new Set(), stages: stagesOf(values.stage), since: isoTime('--since', values.since) },
  };
}

export function parseDlqShowArgs(argv: string[]): { help: boolean; json: boolean; eventId: string } {
  const { values, positionals } = parseFlags(argv, { json: { type: 'boolean' } }, DLQ_USAGE.show, { positionals: ['EVENT_ID'] });
  if (values.help) return { help: true, json: false, eventId: '' };
  const eventId = positionals[0];
  if (!eventId) throw new UsageError('EVENT_ID is required', DLQ_USAGE.show);
  return { help: false, json: values.json ?? false, eventId: eventId.toLowerCase() };
}

export function parseDlqRetryArgs(argv: string[]): DlqRetryArgs & { help: boolean; json: boolean } {
  const { values } = parseFlags(
    argv,
    {
      'event-id': { type: 'string', multiple: true },
      stage: { type: 'string', multiple: true },
      since: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      json: { type: 'boolean' },
    },
    DLQ_USAGE.retry,
  );
  return {
    help: values.help ?? false,
    json: values.json ?? false,
    eventIds: new Set((values['event-id'] ?? []).map((id) => id.toLowerCase())),
    stages: stagesOf(values.stage),
    since: isoTime('--since', values.since),
    dryRun: values['dry-run'] ?? false,
  };
}

export const DLQ_LIST_COMMAND = {
  name: 'dlq list',
  aliases: [],
  summary: 'the records of the dead-letter topic',
  help: DLQ_HELP.list,
  parse: parseDlqListArgs,
} as const satisfies CommandSpec;

export const DLQ_SHOW_COMMAND = {
  name: 'dlq show',
  aliases: [],
  summary: "one event's dead-letter records and its latest run",
  help: DLQ_HELP.show,
  parse: parseDlqShowArgs,
  operand: 'EVENT_ID',
} as const satisfies CommandSpec;

export const DLQ_RETRY_COMMAND = {
  name: 'dlq retry',
  aliases: DLQ_RETRY_OLD_NAMES,
  summary: 'start the workflows of dead-lettered events again, one outcome per event',
  help: DLQ_HELP.retry,
  parse: parseDlqRetryArgs,
} as const satisfies CommandSpec;

const filtered = (sel: DlqSelection) => sel.eventIds.size > 0 || (sel.stages?.length ?? 0) > 0 || sel.since !== undefined;

function matches(entry: DlqEntry, sel: DlqSelection): boolean {
  if (!entry.record) return !filtered(sel); // an unreadable record has no stage, time or id to match
  if (sel.stages?.length && !sel.stages.includes(entry.record.error?.stage)) return false;
  if (sel.since !== undefined) {
    const at = Date.parse(entry.record.failed_at);
    if (Number.isNaN(at) || at < Date.parse(sel.since)) return false;
  }
  if (sel.eventIds.size > 0 && (!entry.eventId || !sel.eventIds.has(entry.eventId))) return false;
  return true;
}

/** Reads one DLQ message into an entry; never throws. */
export function toEntry(value: string, position: string): DlqEntry {
  let record: DeadLetterRecord;
  try {
    record = parseExact(value) as DeadLetterRecord;
    if (record === null || typeof record !== 'object' || typeof record.error !== 'object' || record.error === null) throw new Error('not a record');
  } catch {
    return { position, problem: 'not a dead-letter record' };
  }
  const envelope = parseEnvelope(record.original);
  if (envelope.ok) return { position, eventId: envelope.value.event_id, record, event: envelope.value };
  const claimed = (record.original as { event_id?: unknown } | null)?.event_id;
  const eventId = typeof claimed === 'string' ? claimed.toLowerCase() : record.workflow_id?.toLowerCase();
  return {
    position,
    ...(eventId ? { eventId } : {}),
    record,
    problem: `not a valid event (${envelope.errors.map((e) => e.field).join(', ')}); fix it and POST it to /events`,
  };
}

/** Every DLQ record matching the selection, in the order read. */
export async function scanDeadLetters(kafka: Pick<Kafka, 'admin' | 'consumer'>, dlqTopic: string, sel: DlqSelection): Promise<DlqEntry[]> {
  const entries: DlqEntry[] = [];
  await readTopicToEnd(kafka, dlqTopic, (message, partition) => {
    const entry = toEntry(message.value?.toString('utf8') ?? '', `${partition}:${message.offset}`);
    if (matches(entry, sel)) entries.push(entry);
  });
  return entries;
}

/** What the DLQ holds for the selection: one entry per event, and what cannot be replayed. */
export async function readDeadLetters(
  kafka: Pick<Kafka, 'admin' | 'consumer'>,
  dlqTopic: string,
  sel: DlqSelection,
): Promise<{ events: Map<string, { event: EventEnvelope; record: DeadLetterRecord }>; unusable: { position: string; reason: string }[] }> {
  const events = new Map<string, { event: EventEnvelope; record: DeadLetterRecord }>();
  const unusable: { position: string; reason: string }[] = [];
  for (const entry of await scanDeadLetters(kafka, dlqTopic, sel)) {
    // The latest record of an event wins; the outcome does not depend on which one.
    if (entry.event && entry.record) events.set(entry.event.event_id, { event: entry.event, record: entry.record });
    else unusable.push({ position: entry.position, reason: entry.problem ?? 'not replayable' });
  }
  return { events, unusable };
}

/** One line of `dlq list --json`. */
export interface DlqListRow {
  position: string;
  event_id: string | null;
  event_type: string | null;
  user_id: string | null;
  stage: string | null;
  error_type: string | null;
  message: string | null;
  attempts: number | null;
  failed_at: string | null;
  workflow_id: string | null;
  run_id: string | null;
  truncated: boolean;
  problem: string | null;
}

export function listRow(entry: DlqEntry): DlqListRow {
  const r = entry.record;
  return {
    position: entry.position,
    event_id: entry.eventId ?? null,
    event_type: entry.event?.event_type ?? null,
    user_id: entry.event?.user_id ?? null,
    stage: r?.error?.stage ?? null,
    error_type: r?.error?.type ?? null,
    message: r?.error?.message ?? null,
    attempts: typeof r?.error?.attempts === 'number' ? r.error.attempts : null,
    failed_at: r?.failed_at ?? null,
    workflow_id: r?.workflow_id ?? null,
    run_id: r?.run_id ?? null,
    truncated: r?.truncated !== undefined,
    problem: entry.problem ?? null,
  };
}

/** `dlq list`'s run: the matching records, one row each. */
export async function listDeadLetters(deps: { kafka: Pick<Kafka, 'admin' | 'consumer'>; dlqTopic: string }, sel: DlqSelection): Promise<DlqListRow[]> {
  return (await scanDeadLetters(deps.kafka, deps.dlqTopic, sel)).map(listRow);
}

export function formatDlqList(rows: DlqListRow[]): string {
  if (rows.length === 0) return 'The DLQ holds no matching records.';
  const table = formatTable(
    ['POSITION', 'EVENT_ID', 'STAGE', 'FAILED_AT', 'ATTEMPTS', 'ERROR'],
    rows.map((r) => [
      r.position,
      r.event_id ?? '-',
      r.stage ?? '-',
      r.failed_at ?? '-',
      r.attempts === null ? '-' : String(r.attempts),
      r.problem && !r.message ? r.problem : `${r.error_type ?? 'Error'}: ${r.message ?? ''}${r.truncated ? ' (truncated)' : ''}`,
    ]),
  );
  return `${table}\n${rows.length} record(s)`;
}

export async function dlqShow(
  deps: { kafka: Pick<Kafka, 'admin' | 'consumer'>; dlqTopic: string; client: Pick<Client, 'workflow'> | Error },
  eventId: string,
): Promise<{ event_id: string; records: (DeadLetterRecord & { position: string })[]; latest_run: string }> {
  const entries = await scanDeadLetters(deps.kafka, deps.dlqTopic, { eventIds: new Set([eventId]) });
  const { client } = deps;
  const latest =
    client instanceof Error
      ? `unknown (Temporal unreachable: ${client.message})`
      : await latestStatus(client, eventId).catch((err: unknown) => `unknown (${(err as Error).message})`);
  return { event_id: eventId, records: entries.map((e) => ({ position: e.position, ...e.record! })), latest_run: latest };
}

export function formatDlqShow(shown: Awaited<ReturnType<typeof dlqShow>>): string {
  // Every field is the DLQ's, which anyone able to write to the topic wrote: printed as text only.
  const t = (value: unknown) => printable(String(value));
  const lines = [`event ${t(shown.event_id)}: ${shown.records.length} dead-letter record(s); latest workflow run: ${t(shown.latest_run)}`];
  for (const r of shown.records) {
    lines.push(
      '',
      `record ${t(r.position)}`,
      `  failed at   ${t(r.failed_at)}`,
      `  stage       ${t(r.error?.stage)}`,
      `  error       ${t(r.error?.type)}: ${t(r.error?.message)}`,
      `  attempts    ${t(r.error?.attempts)}`,
    );
    for (const e of r.errors?.slice(1) ?? []) lines.push(`  also        ${t(e.stage)} ${t(e.type)}: ${t(e.message)} (${t(e.attempts)} attempts)`);
    if (r.workflow_id) lines.push(`  run         ${t(r.workflow_id)} / ${t(r.run_id ?? '?')}`);
    if (r.source) lines.push(`  source      ${t(r.source.topic)} ${t(r.source.partition)}:${t(r.source.offset)}`);
    if (r.truncated) lines.push(`  truncated   ${t(r.truncated.original_bytes)} bytes, sha256 ${t(r.truncated.sha256)}`);
    lines.push(
      '  original',
      ...printableLines(JSON.stringify(r.original, null, 2) ?? 'null')
        .split('\n')
        .map((l) => `    ${l}`),
    );
  }
  return lines.join('\n');
}

/**
 * `dlq retry`'s run: each matching event's workflow started again unless it completed or runs.
 * Each event's result goes to `onResult` as it is known (a long DLQ shows progress); the counts
 * come back.
 */
export async function retryDeadLetters(
  deps: { kafka: Pick<Kafka, 'admin' | 'consumer'>; dlqTopic: string; client: Pick<Client, 'workflow'>; start: StartProcessEvent },
  args: DlqRetryArgs,
  onResult: (result: RetryResult) => void = () => undefined,
): Promise<OutcomeCounts> {
  const tally = new OutcomeTally();
  const { events, unusable } = await readDeadLetters(deps.kafka, deps.dlqTopic, args);
  for (const { position, reason } of unusable) {
    tally.add({ kind: 'refused', reason });
    onResult({ event_id: null, position, outcome: 'refused', detail: `refused: ${reason}` });
  }
  for (const [id, { event, record }] of events) {
    const outcome = await retryEvent(deps.client, deps.start, event, { dryRun: args.dryRun });
    tally.add(outcome);
    onResult({
      event_id: id,
      outcome: outcome.kind,
      detail: describeOutcome(outcome),
      stage: String(record.error?.stage),
      error: String(record.error?.message),
    });
  }
  for (const id of args.eventIds) {
    if (!events.has(id)) {
      tally.add({ kind: 'refused', reason: 'not in the DLQ' });
      const detail = `refused: not in the DLQ${args.stages?.length ? ` at stage ${args.stages.join(' or ')}` : ''}${args.since ? ` since ${args.since}` : ''}`;
      onResult({ event_id: id, outcome: 'refused', detail });
    }
  }
  return tally.counts();
}
