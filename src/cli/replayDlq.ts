/**
 * `npm run replay-dlq -- [options]`: runs the workflows of dead-lettered events again, and says
 * for each event what happened (src/cli/rerun.ts): completed earlier, still running, restarted,
 * or refused with the reason. Exits 1 when any was refused, 2 on a bad flag.
 *
 * Reads the DLQ from its beginning up to its end as of the start of the command, then starts
 * each event's workflow (workflow ID = event_id, today's retry policy) unless its latest run
 * Completed or is still Running. Replaying twice does no harm.
 *   --event-id ID   only this event (repeatable)
 *   --stage S       only records that failed at storeHot, archiveCold or bridge
 *   --dry-run       say what would happen, start nothing
 */
import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import type { Kafka } from 'kafkajs';
import { createStartProcessEvent, type StartProcessEvent } from '../bridge/startProcessEvent';
import { loadConfigOrExit } from '../config';
import type { EventEnvelope } from '../events/event';
import { parseExact } from '../events/exactJson';
import { parseEnvelope } from '../events/validate';
import { createKafka } from '../kafka/client';
import type { DeadLetterRecord } from '../kafka/deadLetter';
import { readTopicToEnd } from '../kafka/readToEnd';
import { createLogger } from '../logger';
import { createTemporalClient } from '../temporal/connection';
import { describeOutcome, OutcomeTally, rerun } from './rerun';

const STAGES = ['storeHot', 'archiveCold', 'bridge'];
const USAGE = `Usage: npm run replay-dlq -- [--event-id ID]... [--stage ${STAGES.join('|')}] [--dry-run]`;

export interface ReplayArgs {
  eventIds: Set<string>;
  stage?: string;
  dryRun: boolean;
}

export function parseReplayArgs(argv: string[]): ReplayArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      'event-id': { type: 'string', multiple: true },
      stage: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.stage !== undefined && !STAGES.includes(values.stage)) {
    throw new Error(`--stage must be one of ${STAGES.join(', ')}, got "${values.stage}"`);
  }
  return { eventIds: new Set((values['event-id'] ?? []).map((id) => id.toLowerCase())), stage: values.stage, dryRun: values['dry-run'] ?? false };
}

/** What the DLQ holds for the selection: one entry per event, and what cannot be replayed. */
export async function readDeadLetters(
  kafka: Pick<Kafka, 'admin' | 'consumer'>,
  dlqTopic: string,
  args: ReplayArgs,
): Promise<{ events: Map<string, { event: EventEnvelope; record: DeadLetterRecord }>; unusable: { position: string; reason: string }[] }> {
  const events = new Map<string, { event: EventEnvelope; record: DeadLetterRecord }>();
  const unusable: { position: string; reason: string }[] = [];
  await readTopicToEnd(kafka, dlqTopic, (message, partition) => {
    const position = `${partition}:${message.offset}`;
    let record: DeadLetterRecord;
    try {
      record = parseExact(message.value?.toString('utf8') ?? '') as DeadLetterRecord;
    } catch {
      if (args.eventIds.size === 0 && !args.stage) unusable.push({ position, reason: 'not a dead-letter record' });
      return;
    }
    const envelope = parseEnvelope(record.original);
    const id = envelope.ok ? envelope.value.event_id : undefined;
    if (args.stage && record.error?.stage !== args.stage) return;
    if (args.eventIds.size > 0 && (!id || !args.eventIds.has(id))) return;
    if (!envelope.ok) {
      unusable.push({ position, reason: `not a valid event (${envelope.errors.map((e) => e.field).join(', ')}); fix it and POST it to /events` });
      return;
    }
    // The latest record of an event wins; the outcome does not depend on which one.
    events.set(envelope.value.event_id, { event: envelope.value, record });
  });
  return { events, unusable };
}

export async function replayDeadLetters(
  deps: { kafka: Pick<Kafka, 'admin' | 'consumer'>; dlqTopic: string; client: Pick<Client, 'workflow'>; start: StartProcessEvent },
  args: ReplayArgs,
  write: (line: string) => void,
): Promise<OutcomeTally> {
  const tally = new OutcomeTally();
  const { events, unusable } = await readDeadLetters(deps.kafka, deps.dlqTopic, args);
  for (const { position, reason } of unusable) {
    tally.add({ kind: 'refused', reason });
    write(`record ${position} refused: ${reason}`);
  }
  for (const [id, { event, record }] of events) {
    const outcome = await rerun(deps.client, deps.start, event, { dryRun: args.dryRun });
    tally.add(outcome);
    write(`${id} ${describeOutcome(outcome)} [dead-lettered at ${record.error?.stage}: ${record.error?.message}]`);
  }
  for (const id of args.eventIds) {
    if (!events.has(id)) {
      tally.add({ kind: 'refused', reason: 'not in the DLQ' });
      write(`${id} refused: not in the DLQ${args.stage ? ` at stage ${args.stage}` : ''}`);
    }
  }
  write(tally.summary());
  return tally;
}

async function main(): Promise<void> {
  let args: ReplayArgs;
  try {
    args = parseReplayArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`replay-dlq: ${(err as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  const config = loadConfigOrExit();
  const logger = createLogger({ ...config, logLevel: 'warn' }, 'replay-dlq');
  const kafka = createKafka(config.kafka, logger, '-replay');
  const client = await createTemporalClient(config.temporal);
  try {
    const start = createStartProcessEvent(client, config.temporal, config.retries);
    const tally = await replayDeadLetters({ kafka, dlqTopic: config.kafka.dlqTopic, client, start }, args, (line) => process.stdout.write(`${line}\n`));
    process.exitCode = tally.refused > 0 ? 1 : 0;
  } finally {
    await client.connection.close();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`replay-dlq: ${(err as Error).message ?? String(err)}\n`);
    process.exit(1);
  });
}
