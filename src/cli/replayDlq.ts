/**
 * `npm run replay-dlq -- [options]`: puts dead-lettered events back on the raw topic, so the
 * bridge starts their workflows again. A workflow whose last run Failed may run again under the
 * same ID; one that has since Completed refuses the start, so replaying twice does no harm.
 *
 * Reads the DLQ from its beginning up to its end as of the start of the command, then exits.
 *   --event-id ID   only this event (repeatable)
 *   --stage S       only records that failed at storeHot, archiveCold or bridge
 *   --dry-run       print what would be replayed, publish nothing
 */
import { parseArgs } from 'node:util';
import { loadConfigOrExit } from '../config';
import { serializeEnvelope } from '../events/event';
import { parseEnvelope } from '../events/validate';
import { createKafka, createProducer } from '../kafka/client';
import type { DeadLetterRecord } from '../kafka/deadLetter';
import { readTopicToEnd } from '../kafka/readToEnd';
import { createLogger } from '../logger';

const STAGES = ['storeHot', 'archiveCold', 'bridge'];

export function parseReplayArgs(argv: string[]): { eventIds: Set<string>; stage?: string; dryRun: boolean } {
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

async function main(): Promise<void> {
  let args: ReturnType<typeof parseReplayArgs>;
  try {
    args = parseReplayArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`replay-dlq: ${(err as Error).message}\nUsage: npm run replay-dlq -- [--event-id ID]... [--stage ${STAGES.join('|')}] [--dry-run]\n`);
    process.exit(2);
  }
  const config = loadConfigOrExit();
  const logger = createLogger({ ...config, logLevel: 'warn' }, 'replay-dlq');
  const kafka = createKafka(config.kafka, logger, '-replay');
  const producer = createProducer(kafka);
  const seen = new Set<string>();
  const counts = { replayed: 0, skipped: 0 };
  await producer.connect();

  async function handle(value: string, position: string): Promise<void> {
    let record: DeadLetterRecord;
    try {
      record = JSON.parse(value) as DeadLetterRecord;
    } catch {
      counts.skipped++;
      process.stdout.write(`skip ${position}: not a dead-letter record\n`);
      return;
    }
    const envelope = parseEnvelope(record.original);
    const id = envelope.ok ? envelope.value.event_id : undefined;
    if (args.stage && record.error?.stage !== args.stage) return;
    if (args.eventIds.size > 0 && (!id || !args.eventIds.has(id))) return;
    if (!envelope.ok) {
      counts.skipped++;
      process.stdout.write(`skip ${position}: not a valid event (${envelope.errors.map((e) => e.field).join(', ')}); fix it and POST it to /events\n`);
      return;
    }
    if (seen.has(envelope.value.event_id)) return;
    seen.add(envelope.value.event_id);
    counts.replayed++;
    process.stdout.write(`${args.dryRun ? 'would replay' : 'replay'} ${envelope.value.event_id} (${record.error.stage}: ${record.error.message})\n`);
    if (!args.dryRun) {
      await producer.send({
        topic: config.kafka.topic,
        acks: -1,
        messages: [{ key: envelope.value.user_id, value: serializeEnvelope(envelope.value), headers: { replayed_from: position } }],
      });
    }
  }

  await readTopicToEnd(kafka, config.kafka.dlqTopic, (message, partition) => handle(message.value?.toString('utf8') ?? '', `${partition}:${message.offset}`));
  await producer.disconnect();
  process.stdout.write(`${args.dryRun ? 'would replay' : 'replayed'} ${counts.replayed}, skipped ${counts.skipped}\n`);
}

if (require.main === module) void main();
