/**
 * `events`: the operator's command line (package.json "bin", so `npx events --help` works in the
 * checkout). Configuration comes from the environment through src/platform/config/, like every process
 * of the platform; connections from the platform's own client modules; every client is closed
 * before the process ends.
 *
 * Exit codes: 0 done / healthy; 1 something failed, is down or was refused; 2 a usage error
 * (unknown command or flag, bad value), named in the message; 78 an invalid configuration.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Client } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { Kafka, type Producer } from 'kafkajs';
import { announceForCounting, publishStored } from '../platform/kafka/storedNotice';
import { pino } from 'pino';
import { createDynamoClient, createS3Client } from '../platform/aws';
import { createStartProcessEvent } from '../bridge/startProcessEvent';
import { loadConfigOrExit, type Config } from '../platform/config';
import { kafkaClientConfig } from '../platform/kafka/client';
import { createTemporalClient } from '../platform/temporal/connection';
import { ARCHIVE_HELP, archiveLeftUndone, archiveReplay, archiveSummary, parseArchiveReplayArgs, type ArchiveOutcome } from './archiveReplay';
import { EXIT, UsageError } from './args';
import { jsonText, printable, printableLines } from './format';
import { COUNTS_BACKFILL_HELP, countsBackfill, parseCountsBackfillArgs } from './countsBackfill';
import {
  DLQ_HELP,
  dlqShow,
  formatDlqList,
  formatDlqShow,
  listRow,
  parseDlqListArgs,
  parseDlqShowArgs,
  parseReplayArgs,
  replayDeadLetters,
  scanDeadLetters,
  type ReplayResult,
} from './dlq';
import { parseRedriveArgs, REDRIVE_HELP, redrive, type RedriveArgs } from './redrive';
import { collectStatus, formatStatus, parseStatusArgs, STATUS_HELP } from './status';
import { formatRunReplay, parseWorkflowsReplayArgs, replayRuns, WORKFLOWS_REPLAY_HELP, type RunReplay } from './workflowsReplay';

export const MAIN_HELP = `Usage: events <command> [flags]

Operates the event platform. Configuration comes from the environment (see env.example), the
same variables the platform's processes read.

Commands:
  status              the stack's and the platform's health, consumer lag, runs by status, DLQ depth
  dlq list            the records of the dead-letter topic
  dlq show EVENT_ID   one event's dead-letter records and its latest run
  dlq replay          run dead-lettered events again, one outcome per event
  archive replay      re-ingest archived events from S3 by date (restores lost DynamoDB items)
  workflows replay    replay runs' histories against the current workflow code
  workflows redrive   run again the events whose runs ended Failed, Terminated, TimedOut or Canceled
  counts backfill     count the stored events that were never counted (safe to run again)

Run 'events <command> --help' for a command's flags.
Exit codes: 0 ok, 1 failed / unhealthy / refused, 2 usage error, 78 invalid configuration.`;

const GROUP_HELP: Record<string, string> = {
  dlq: `Usage: events dlq <list|show|replay> [flags]

  list                 the records of the dead-letter topic
  show EVENT_ID        one event's dead-letter records and its latest run
  replay               run dead-lettered events again

Run 'events dlq <subcommand> --help' for its flags.`,
  archive: `Usage: events archive replay --from DATE --to DATE [flags]

  replay               re-ingest archived events from S3 by date

Run 'events archive replay --help' for its flags.`,
  counts: `Usage: events counts backfill [flags]

  backfill             count the stored events that were never counted

Run 'events counts backfill --help' for its flags.`,
  workflows: `Usage: events workflows <replay|redrive> [flags]

  replay               replay runs' histories against the current workflow code
  redrive              run again the events whose runs ended other than Completed

Run 'events workflows <subcommand> --help' for its flags.`,
};

const SUBCOMMANDS: Record<string, string[]> = { dlq: ['list', 'show', 'replay'], archive: ['replay'], workflows: ['replay', 'redrive'], counts: ['backfill'] };

/** A parsed command line: what to run, or a help text to print. */
export type Command =
  | { kind: 'help'; text: string }
  | { kind: 'status'; args: ReturnType<typeof parseStatusArgs> }
  | { kind: 'dlq list'; args: ReturnType<typeof parseDlqListArgs> }
  | { kind: 'dlq show'; args: ReturnType<typeof parseDlqShowArgs> }
  | { kind: 'dlq replay'; args: ReturnType<typeof parseReplayArgs> }
  | { kind: 'archive replay'; args: ReturnType<typeof parseArchiveReplayArgs> }
  | { kind: 'workflows replay'; args: ReturnType<typeof parseWorkflowsReplayArgs> }
  | { kind: 'workflows redrive'; args: RedriveArgs }
  | { kind: 'counts backfill'; args: ReturnType<typeof parseCountsBackfillArgs> };

const isHelp = (a: string | undefined) => a === '--help' || a === '-h';

/** Parses a command's flags; a usage error that names no usage gets the command's own. */
function withUsage<T>(help: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof UsageError && !err.usage) throw new UsageError(err.message, help);
    throw err;
  }
}

/** Reads the command line; throws UsageError (exit 2) naming what is wrong. Touches nothing. */
export function parseCommand(argv: string[]): Command {
  const [first, second, ...rest] = argv;
  if (first === undefined) throw new UsageError('missing command', MAIN_HELP);
  if (isHelp(first) || first === 'help') return { kind: 'help', text: MAIN_HELP };
  if (first.startsWith('-')) throw new UsageError(`unknown option '${first}'`, MAIN_HELP);
  if (first === 'status') {
    const args = withUsage(STATUS_HELP, () => parseStatusArgs(argv.slice(1)));
    return args.help ? { kind: 'help', text: STATUS_HELP } : { kind: 'status', args };
  }
  const subs = SUBCOMMANDS[first];
  if (!subs) throw new UsageError(`unknown command '${first}'`, MAIN_HELP);
  if (second === undefined) throw new UsageError(`missing subcommand of '${first}' (one of ${subs.join(', ')})`, GROUP_HELP[first]);
  if (isHelp(second)) return { kind: 'help', text: GROUP_HELP[first]! };
  if (!subs.includes(second))
    throw new UsageError(`unknown command '${first} ${second}' (one of ${subs.map((s) => `${first} ${s}`).join(', ')})`, GROUP_HELP[first]);
  const kind = `${first} ${second}`;
  switch (kind) {
    case 'dlq list': {
      const args = withUsage(DLQ_HELP.list, () => parseDlqListArgs(rest));
      return args.help ? { kind: 'help', text: DLQ_HELP.list } : { kind, args };
    }
    case 'dlq show': {
      const args = withUsage(DLQ_HELP.show, () => parseDlqShowArgs(rest));
      return args.help ? { kind: 'help', text: DLQ_HELP.show } : { kind, args };
    }
    case 'dlq replay': {
      const args = withUsage(DLQ_HELP.replay, () => parseReplayArgs(rest));
      return args.help ? { kind: 'help', text: DLQ_HELP.replay } : { kind, args };
    }
    case 'archive replay': {
      const args = withUsage(ARCHIVE_HELP, () => parseArchiveReplayArgs(rest));
      return args.help ? { kind: 'help', text: ARCHIVE_HELP } : { kind, args };
    }
    case 'workflows redrive': {
      const args = withUsage(REDRIVE_HELP, () => parseRedriveArgs(rest));
      return args.help ? { kind: 'help', text: REDRIVE_HELP } : { kind, args };
    }
    case 'counts backfill': {
      const args = withUsage(COUNTS_BACKFILL_HELP, () => parseCountsBackfillArgs(rest));
      return args.help ? { kind: 'help', text: COUNTS_BACKFILL_HELP } : { kind, args };
    }
    default: {
      const args = withUsage(WORKFLOWS_REPLAY_HELP, () => parseWorkflowsReplayArgs(rest));
      return args.help ? { kind: 'help', text: WORKFLOWS_REPLAY_HELP } : { kind: 'workflows replay', args };
    }
  }
}

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** stderr is a terminal: progress lines are worth drawing. */
  errIsTTY: boolean;
}

/**
 * The clients a command needs, made on first use and all closed by `close()`. kafkajs logs
 * nothing (its errors reach the command as exceptions) unless LOG_LEVEL is debug or trace.
 */
class Clients {
  private kafkaClient?: Kafka;
  private temporalClient?: Promise<Client>;
  private dynamoClient?: DynamoDBClient;
  private s3Client?: S3Client;
  private readonly admins: { disconnect(): Promise<void> }[] = [];
  private producerClient?: Producer;
  private producerConnected?: Promise<Producer>;
  constructor(private readonly config: Config) {}
  kafka(): Kafka {
    const level = this.config.logLevel === 'debug' || this.config.logLevel === 'trace' ? this.config.logLevel : 'silent';
    this.kafkaClient ??= new Kafka({
      ...kafkaClientConfig(this.config.kafka, pino({ level }, pino.destination(2)), '-cli'),
      // A person is waiting: fail fast instead of the processes' long reconnect schedule.
      retry: { initialRetryTime: 200, retries: 2, maxRetryTime: 1_000 },
    });
    return this.kafkaClient;
  }
  async admin() {
    const admin = this.kafka().admin();
    this.admins.push(admin);
    await admin.connect();
    return admin;
  }
  /** A Kafka producer, connected once, on first use. */
  producer(): Promise<Producer> {
    this.producerConnected ??= (async () => {
      const producer = (this.producerClient = this.kafka().producer());
      await producer.connect();
      return producer;
    })();
    return this.producerConnected;
  }
  temporal(): Promise<Client> {
    this.temporalClient ??= createTemporalClient(this.config.temporal);
    return this.temporalClient;
  }
  dynamo(): DynamoDBClient {
    this.dynamoClient ??= createDynamoClient(this.config.aws);
    return this.dynamoClient;
  }
  s3(): S3Client {
    this.s3Client ??= createS3Client(this.config.aws);
    return this.s3Client;
  }
  async close(): Promise<void> {
    await Promise.all(this.admins.map((a) => a.disconnect().catch(() => undefined)));
    await this.producerClient?.disconnect().catch(() => undefined);
    const temporal = await this.temporalClient?.catch(() => undefined);
    await temporal?.connection.close().catch(() => undefined);
    this.dynamoClient?.destroy();
    this.s3Client?.destroy();
  }
}

const json = (value: unknown) => jsonText(value, 2);

/** Runs a parsed command; returns the exit code. */
export async function runCommand(cmd: Exclude<Command, { kind: 'help' }>, config: Config, io: Io): Promise<number> {
  const clients = new Clients(config);
  try {
    switch (cmd.kind) {
      case 'status': {
        const report = await collectStatus(
          { config, admin: () => clients.admin(), temporal: () => clients.temporal(), dynamo: clients.dynamo(), s3: clients.s3(), fetch },
          cmd.args,
        );
        io.out(cmd.args.json ? json(report) : formatStatus(report));
        return report.healthy ? EXIT.ok : EXIT.failed;
      }
      case 'dlq list': {
        const rows = (await scanDeadLetters(clients.kafka(), config.kafka.dlqTopic, cmd.args.selection)).map(listRow);
        io.out(cmd.args.json ? json(rows) : formatDlqList(rows));
        return EXIT.ok;
      }
      case 'dlq show': {
        // The records are worth showing while Temporal is away; the run's status then says so.
        const client = await clients.temporal().catch((err: unknown) => err as Error);
        const shown = await dlqShow({ kafka: clients.kafka(), dlqTopic: config.kafka.dlqTopic, client }, cmd.args.eventId);
        io.out(cmd.args.json ? json(shown) : formatDlqShow(shown));
        if (shown.records.length === 0) {
          io.err(`events: ${cmd.args.eventId} is not in the DLQ (${config.kafka.dlqTopic})`);
          return EXIT.failed;
        }
        return EXIT.ok;
      }
      case 'dlq replay': {
        const client = await clients.temporal();
        const start = createStartProcessEvent(client, config.temporal, config.retries);
        const results: ReplayResult[] = [];
        const tally = await replayDeadLetters(
          { kafka: clients.kafka(), dlqTopic: config.kafka.dlqTopic, client, start },
          cmd.args,
          cmd.args.json ? () => undefined : io.out,
          (r) => results.push(r),
        );
        if (cmd.args.json) io.out(json({ results, summary: tally.counts() }));
        return tally.refused > 0 ? EXIT.failed : EXIT.ok;
      }
      case 'archive replay':
        return await runArchiveReplay(cmd.args, config, clients, io);
      case 'counts backfill': {
        if (!config.counts.enabled) io.err('events: EVENT_COUNTS=false here; the announcements wait on the topic until a counter runs');
        const producer = await clients.producer();
        const announced = await countsBackfill(
          {
            dynamo: clients.dynamo(),
            table: config.aws.table,
            shards: config.latestIndexShards,
            retentionDays: config.retention.hotDays,
            announce: (events) => announceForCounting(producer, config.kafka.storedTopic, events),
          },
          (n) => {
            if (io.errIsTTY) io.err(`\r\x1b[Kcounts backfill: ${n} events announced`);
          },
        );
        if (io.errIsTTY) io.err('\r\x1b[K');
        io.out(
          cmd.args.json
            ? json({ announced, topic: config.kafka.storedTopic })
            : `announced ${announced} stored events on ${config.kafka.storedTopic} for counting; those already counted add nothing ('events status' shows the Counts lag)`,
        );
        return EXIT.ok;
      }
      case 'workflows redrive': {
        const client = await clients.temporal();
        const start = createStartProcessEvent(client, config.temporal, config.retries);
        const tally = await redrive({ client, start, taskQueue: config.temporal.taskQueue }, cmd.args, io.out);
        return tally.refused > 0 ? EXIT.failed : EXIT.ok;
      }
      case 'workflows replay': {
        // The replay worker logs each failing task at WARN; the per-run lines say it once.
        Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } } });
        const results: RunReplay[] = [];
        const { replayed, broken } = await replayRuns(await clients.temporal(), cmd.args, config.temporal.taskQueue, (r) => {
          results.push(r);
          if (!cmd.args.json) io.out(formatRunReplay(r));
        });
        if (cmd.args.json) io.out(json({ results, replayed, broken }));
        else io.out(`replayed ${replayed}, broken ${broken}`);
        if (replayed === 0) io.err('events: no processEvent run matched the query');
        return broken > 0 ? EXIT.failed : EXIT.ok;
      }
    }
  } finally {
    await clients.close();
  }
}

async function runArchiveReplay(args: ReturnType<typeof parseArchiveReplayArgs>, config: Config, clients: Clients, io: Io): Promise<number> {
  const client = await clients.temporal();
  const running: Partial<Record<ArchiveOutcome, number>> = {};
  let lastDrawn = 0;
  let drawn = false;
  const counts = await archiveReplay(
    {
      s3: clients.s3(),
      dynamo: clients.dynamo(),
      client,
      start: createStartProcessEvent(client, config.temporal, config.retries),
      bucket: config.aws.bucket,
      table: config.aws.table,
      announce: async (event) => publishStored(await clients.producer(), config.kafka.storedTopic, event),
      latestIndexShards: config.latestIndexShards,
      hotRetentionDays: config.retention.hotDays,
      maxEventBytes: config.limits.maxEventBytes,
    },
    args,
    {
      onResult: (r) => {
        running[r.outcome] = (running[r.outcome] ?? 0) + 1;
        // The progress line is wiped before each result line, so a terminal showing both
        // streams never gets a result glued to it.
        if (drawn) {
          io.err('\r\x1b[K');
          drawn = false;
        }
        io.out(args.json ? jsonText(r) : `${printable(r.event_id ?? r.key)} ${printable(r.detail)}`);
      },
      onProgress: ({ scanned, lastKey }) => {
        if (!io.errIsTTY || Date.now() - lastDrawn < 250) return;
        lastDrawn = Date.now();
        drawn = true;
        const parts = Object.entries(running)
          .map(([k, n]) => `${k} ${n}`)
          .join(', ');
        io.err(`\r\x1b[Karchive replay: ${scanned} objects scanned${parts ? `, ${parts}` : ''}; at ${printable(lastKey)}`.slice(0, 200));
      },
      onNote: (note) => io.err(`events: ${printable(note)}`),
    },
  );
  if (drawn) io.err('\r\x1b[K');
  io.out(args.json ? jsonText({ summary: counts }) : archiveSummary(counts));
  return archiveLeftUndone(counts) ? EXIT.failed : EXIT.ok;
}

/**
 * The streams every command writes through: whatever a formatter missed, no control reaches the
 * terminal raw (see src/ops/format.ts). The progress line's own "\r ESC[K" prefix is the one kept.
 */
export function terminalSafe(io: Io): Io {
  const PROGRESS = '\r\x1b[K';
  return {
    out: (text) => io.out(printableLines(text)),
    err: (text) => io.err(text.startsWith(PROGRESS) ? `${PROGRESS}${printableLines(text.slice(PROGRESS.length))}` : printableLines(text)),
    errIsTTY: io.errIsTTY,
  };
}

export async function main(argv: string[], rawIo: Io): Promise<number> {
  const io = terminalSafe(rawIo);
  let cmd: Command;
  try {
    cmd = parseCommand(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`events: ${err.message}\n${err.usage ? `${err.usage.split('\n\n')[0]}\n` : ''}Run 'events --help' for help.`);
    return EXIT.usage;
  }
  if (cmd.kind === 'help') {
    io.out(cmd.text);
    return EXIT.ok;
  }
  const config = loadConfigOrExit();
  try {
    return await runCommand(cmd, config, io);
  } catch (err) {
    io.err(`events: ${printable((err as Error).message || String(err))}`);
    return EXIT.failed;
  }
}

if (require.main === module) {
  const io: Io = {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(text.startsWith('\r') ? text : `${text}\n`),
    errIsTTY: process.stderr.isTTY === true,
  };
  main(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
      // Every client is closed by now; a library timer left behind must not keep a person waiting.
      setTimeout(() => process.exit(code), 2_000).unref();
    },
    (err: unknown) => {
      process.stderr.write(`events: ${printable((err as Error).message ?? String(err))}\n`);
      process.exit(EXIT.failed);
    },
  );
}
