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
import { ARCHIVE_REINGEST_COMMAND, archiveLeftUndone, archiveSummary, reingestArchive, type ArchiveOutcome } from './archiveReingest';
import { EXIT, UsageError, withUsage } from './args';
import { jsonText, printable, printableLines } from './format';
import { COUNTS_BACKFILL_COMMAND, countsBackfill } from './countsBackfill';
import { DLQ_LIST_COMMAND, DLQ_RETRY_COMMAND, DLQ_SHOW_COMMAND, dlqShow, formatDlqList, formatDlqShow, listDeadLetters, retryDeadLetters } from './dlq';
import { retryEndedRuns, WORKFLOWS_RETRY_COMMAND } from './workflowsRetry';
import { formatOutcomeCounts, formatRetryResult, type OutcomeCounts, type RetryResult } from './retry';
import { collectStatus, formatStatus, STATUS_COMMAND } from './status';
import { CHECK_DETERMINISM_COMMAND, checkDeterminism, formatRunReplay, type RunReplay } from './workflowsCheckDeterminism';

/**
 * Every command, in the order `events --help` lists them. Each module declares its own (name, old
 * names, summary, help, parse step) beside its run and format steps; runCommand below wires the
 * run steps to the clients.
 */
const COMMANDS = [
  STATUS_COMMAND,
  DLQ_LIST_COMMAND,
  DLQ_SHOW_COMMAND,
  DLQ_RETRY_COMMAND,
  ARCHIVE_REINGEST_COMMAND,
  CHECK_DETERMINISM_COMMAND,
  WORKFLOWS_RETRY_COMMAND,
  COUNTS_BACKFILL_COMMAND,
] as const;

type CommandSpec = (typeof COMMANDS)[number];
type Name = CommandSpec['name'];

/** An old name and the command it now names. */
const ALIASES = new Map<string, Name>(COMMANDS.flatMap((c) => c.aliases.map((a) => [a, c.name] as const)));
const BY_NAME = new Map<string, CommandSpec>(COMMANDS.map((c) => [c.name, c]));

const label = (c: CommandSpec) => ('operand' in c ? `${c.name} ${c.operand}` : c.name);
const column = (cells: [string, string][], width: number) => cells.map(([a, b]) => `  ${a.padEnd(width)}${b}`).join('\n');

export const MAIN_HELP = `Usage: events <command> [flags]

Operates the event platform. Configuration comes from the environment (see env.example), the
same variables the platform's processes read.

Commands:
${column(
  COMMANDS.map((c) => [label(c), c.summary]),
  30,
)}

Old names, still accepted (each says its new name on stderr):
${column(
  [...ALIASES].map(([old, now]) => [old, `now '${now}'`]),
  30,
)}

Run 'events <command> --help' for a command's flags.
Exit codes: 0 ok, 1 failed / unhealthy / refused, 2 usage error, 78 invalid configuration.`;

const GROUPS = [...new Set(COMMANDS.filter((c) => c.name.includes(' ')).map((c) => c.name.split(' ')[0]!))];
const subcommandsOf = (group: string) => COMMANDS.filter((c) => c.name.startsWith(`${group} `));

function groupHelp(group: string): string {
  const subs = subcommandsOf(group);
  const words = subs.map((c) => c.name.split(' ')[1]!);
  const old = [...ALIASES].filter(([a]) => a.startsWith(`${group} `));
  return `Usage: events ${group} <${words.join('|')}> [flags]

${column(
  subs.map((c) => [label(c).slice(group.length + 1), c.summary]),
  22,
)}
${
  old.length
    ? `\n${column(
        old.map(([a, now]) => [a.slice(group.length + 1), `old name of '${now}'`]),
        22,
      )}\n`
    : ''
}
Run 'events ${group} <subcommand> --help' for its flags.`;
}

/** The parsed options of each command, by its (new) name. */
export type Options = { [C in CommandSpec as C['name']]: Omit<ReturnType<C['parse']>, 'help'> };

/** A parsed command line: what to run, or a help text to print; `notice` says an old name was used. */
export type Command = ({ kind: 'help'; text: string } | { [K in Name]: { kind: K; args: Options[K] } }[Name]) & { notice?: string };

const isHelp = (a: string | undefined) => a === '--help' || a === '-h';

/** Reads the command line; throws UsageError (exit 2) naming what is wrong. Touches nothing. */
export function parseCommand(argv: string[]): Command {
  const [first, second] = argv;
  if (first === undefined) throw new UsageError('missing command', MAIN_HELP);
  if (isHelp(first) || first === 'help') return { kind: 'help', text: MAIN_HELP };
  if (first.startsWith('-')) throw new UsageError(`unknown option '${first}'`, MAIN_HELP);
  let typed: string;
  let rest: string[];
  if (BY_NAME.has(first)) {
    typed = first;
    rest = argv.slice(1);
  } else {
    if (!GROUPS.includes(first)) throw new UsageError(`unknown command '${first}'`, MAIN_HELP);
    const words = subcommandsOf(first).map((c) => c.name.split(' ')[1]!);
    if (second === undefined) throw new UsageError(`missing subcommand of '${first}' (one of ${words.join(', ')})`, groupHelp(first));
    if (isHelp(second)) return { kind: 'help', text: groupHelp(first) };
    typed = `${first} ${second}`;
    rest = argv.slice(2);
    if (!BY_NAME.has(typed) && !ALIASES.has(typed))
      throw new UsageError(`unknown command '${typed}' (one of ${words.map((w) => `${first} ${w}`).join(', ')})`, groupHelp(first));
  }
  const spec = BY_NAME.get(ALIASES.get(typed) ?? typed)!;
  const notice = ALIASES.has(typed) ? { notice: `events: '${typed}' is now '${spec.name}'; the old name keeps working` } : {};
  let parsed: { help?: boolean };
  try {
    parsed = withUsage(spec.help, () => spec.parse(rest));
  } catch (err) {
    // The notice rides with the usage error too: an old name with a wrong flag learns both.
    if (err instanceof UsageError && 'notice' in notice) throw Object.assign(err, notice);
    throw err;
  }
  if (parsed.help) return { kind: 'help', text: spec.help, ...notice };
  const { help: _help, ...args } = parsed;
  return { kind: spec.name, args, ...notice } as Command;
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

type Runnable = Exclude<Command, { kind: 'help' }>;

/** Runs a parsed command: the command's run step on real clients, then its format step; returns the exit code. */
export async function runCommand(cmd: Runnable, config: Config, io: Io): Promise<number> {
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
        const rows = await listDeadLetters({ kafka: clients.kafka(), dlqTopic: config.kafka.dlqTopic }, cmd.args.selection);
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
      case 'dlq retry': {
        const client = await clients.temporal();
        const start = createStartProcessEvent(client, config.temporal, config.retries);
        return await printRetry(io, cmd.args.json, (onResult) =>
          retryDeadLetters({ kafka: clients.kafka(), dlqTopic: config.kafka.dlqTopic, client, start }, cmd.args, onResult),
        );
      }
      case 'workflows retry': {
        const client = await clients.temporal();
        const start = createStartProcessEvent(client, config.temporal, config.retries);
        return await printRetry(io, cmd.args.json === true, (onResult) =>
          retryEndedRuns({ client, start, taskQueue: config.temporal.taskQueue }, cmd.args, onResult),
        );
      }
      case 'archive reingest':
        return await runArchiveReingest(cmd.args, config, clients, io);
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
      case 'workflows check-determinism': {
        // The replay worker logs each failing task at WARN; the per-run lines say it once.
        Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } } });
        const results: RunReplay[] = [];
        const { replayed, broken } = await checkDeterminism(await clients.temporal(), cmd.args, config.temporal.taskQueue, (r) => {
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

/** The format step of both retries: a line per event as it is known, then the counts; or one JSON document. Exit 1 when any was refused. */
async function printRetry(io: Io, asJson: boolean, run: (onResult: (r: RetryResult) => void) => Promise<OutcomeCounts>): Promise<number> {
  const results: RetryResult[] = [];
  const summary = await run((r) => (asJson ? results.push(r) : io.out(formatRetryResult(r))));
  io.out(asJson ? json({ results, summary }) : formatOutcomeCounts(summary));
  return summary.refused > 0 ? EXIT.failed : EXIT.ok;
}

async function runArchiveReingest(args: Options['archive reingest'], config: Config, clients: Clients, io: Io): Promise<number> {
  const client = await clients.temporal();
  const running: Partial<Record<ArchiveOutcome, number>> = {};
  let lastDrawn = 0;
  let drawn = false;
  const counts = await reingestArchive(
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
        io.err(`\r\x1b[Karchive reingest: ${scanned} objects scanned${parts ? `, ${parts}` : ''}; at ${printable(lastKey)}`.slice(0, 200));
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
    // The mistake comes first; an old name's notice after it.
    const notice = (err as UsageError & { notice?: string }).notice;
    if (notice) io.err(notice);
    return EXIT.usage;
  }
  if (cmd.notice) io.err(cmd.notice);
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
