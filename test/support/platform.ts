/**
 * Runs the real platform processes (producer, bridges, workers, GraphQL) against the local stack,
 * on a private copy of every resource: topics, consumer group, table, bucket and task queue get
 * a per-run suffix, and `stop()` deletes them and the run's workflows. Tests in different files,
 * or a developer's own `npm start`, never see each other's events.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type { Kafka } from 'kafkajs';
import { pino } from 'pino';
import { createDynamoClient, createS3Client } from '../../src/platform/aws';
import { loadConfig, type Config } from '../../src/platform/config';
import { createKafka } from '../../src/platform/kafka/client';
import { deprovision, provisionAll } from '../../src/ops/provisioning';
import { createTemporalClient } from '../../src/platform/temporal/connection';
import { REPO_ROOT } from './paths';
import { releasePort, reservePort } from './ports';
import { applyProfileEnv } from './stack';
import { perSuite } from './suite';
import { waitFor } from './wait';

// Every test reaches its stack through here: a file run on its own with STACK_PROFILE=cluster gets
// the profile's configuration (its brokers) as under npm test.
applyProfileEnv();

export const quietLogger = pino({ level: 'silent' });

/** Environment for a private copy of every named resource, with ports of its own (./ports.ts). */
export async function isolatedEnv(extra: Record<string, string> = {}): Promise<Record<string, string>> {
  const run = randomBytes(4).toString('hex');
  return {
    ENVIRONMENT: 'test',
    LOG_LEVEL: 'info',
    KAFKA_TOPIC: `events.raw.test-${run}`,
    KAFKA_DLQ_TOPIC: `events.dlq.test-${run}`,
    KAFKA_STORED_TOPIC: `events.stored.test-${run}`,
    KAFKA_CONSUMER_GROUP: `event-processors-test-${run}`,
    DYNAMODB_TABLE: `EventsHot-test-${run}`,
    DYNAMODB_COUNTS_TABLE: `EventCounts-test-${run}`,
    S3_BUCKET: `event-platform-test-${run}`,
    TEMPORAL_TASK_QUEUE: `events-test-${run}`,
    PRODUCER_PORT: String(await reservePort()),
    GRAPHQL_PORT: String(await reservePort()),
    // Each bridge picks a free port for /health, /ready, /metrics and logs it ("bridge running").
    BRIDGE_HTTP_PORT: '0',
    ...extra,
  };
}

export function configFor(env: Record<string, string>): Config {
  return loadConfig({ ...process.env, ...env });
}

const ENTRY = {
  producer: 'src/producer/server.ts',
  processor: 'workers/processor.ts',
  bridge: 'src/bridge/main.ts',
  worker: 'workers/main.ts',
  graphql: 'src/graphql/server.ts',
} as const;

interface Proc {
  name: string;
  child: ChildProcess;
  output: string[];
  exited: Promise<number | null>;
}

export interface Platform {
  env: Record<string, string>;
  config: Config;
  producerUrl: string;
  graphqlUrl: string;
  /** Every GraphQL instance, `graphql` first (the others: `graphql-2`…, see `graphqls`). */
  graphqlUrls: string[];
  temporal: Client;
  kafka: Kafka;
  dynamo: ReturnType<typeof createDynamoClient>;
  s3: ReturnType<typeof createS3Client>;
  /** Lines a process printed (JSON logs). */
  output(name: string): string[];
  /** One process as it runs now (its pid, exit code); a restart replaces it. */
  child(name: string): ChildProcess;
  /** Sends a signal to one process; resolves with its exit code once it exited. */
  signal(name: string, signal: NodeJS.Signals): Promise<number | null>;
  /** Starts a process again under the same name (after it exited), and waits until it is ready. */
  restart(name: string): Promise<void>;
  /** Names of the platform processes, such as `producer`, `bridge-1`, `worker-2`, `processor-1`. */
  processes(): string[];
  /** The Temporal SDK's metrics exporter of a worker or processor (its own WORKER_METRICS_PORT). */
  workerMetricsUrl(name: string): string;
  stop(): Promise<void>;
}

/**
 * The platform the tests of the describe (or file) this is called in share: `start` (startPlatform
 * or startWatchedPlatform with the options the tests need) runs before them, `stop` after them.
 */
export function platformPerSuite<P extends Platform>(start: () => Promise<P>): () => P {
  return perSuite('the platform', start, (p) => p.stop());
}

/**
 * `bridges` / `workers`: separate bridge and worker processes (2 of each unless given);
 * `processors`: bridge + worker processes (workers/processor.ts, what `npm start` runs), named
 * `processor-1`…, instead of the separate ones unless those are given too. `graphqls`: GraphQL
 * processes (default 1): `graphql` on GRAPHQL_PORT, then `graphql-2`… on ports of their own;
 * `{ bridges: 0, workers: 0, graphqls: 0 }` runs the producer alone.
 */
export async function startPlatform(
  opts: { bridges?: number; workers?: number; processors?: number; graphqls?: number; env?: Record<string, string>; built?: string } = {},
): Promise<Platform> {
  const separate = opts.processors === undefined ? 2 : 0;
  const env = await isolatedEnv(opts.env);
  const config = configFor(env);
  const provisioned = await provisionAll(config, { logger: quietLogger, deadlineMs: 30_000 });
  if (!provisioned.ok) throw new Error(`provisioning failed:\n${provisioned.lines.join('\n')}`);

  const logDir = join(REPO_ROOT, '.stack', 'test-logs', config.temporal.taskQueue);
  mkdirSync(logDir, { recursive: true });
  const procs: Proc[] = [];
  const entries = new Map<string, { entry: string; extraEnv: Record<string, string> }>();
  // Every worker and processor of a run gets a port of its own for the SDK's metrics exporter,
  // kept across restarts; the default (9464) would collide between them and with other runs.
  const workerMetricsPorts = new Map<string, number>();
  for (const name of [
    ...Array.from({ length: opts.workers ?? separate }, (_, i) => `worker-${i + 1}`),
    ...Array.from({ length: opts.processors ?? 0 }, (_, i) => `processor-${i + 1}`),
  ]) {
    workerMetricsPorts.set(name, Number(opts.env?.WORKER_METRICS_PORT ?? (await reservePort())));
  }
  const spawnProc = (name: string, entry: string, extraEnv: Record<string, string> = {}) => {
    entries.set(name, { entry, extraEnv });
    const metricsPort = workerMetricsPorts.get(name);
    // `built`: the output folder of a production build (npm run build): its compiled entry points.
    const args = opts.built === undefined ? ['--import', 'tsx', entry] : [join(opts.built, entry.replace(/\.ts$/, '.js'))];
    const child = spawn(process.execPath, args, {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env, ...(metricsPort === undefined ? {} : { WORKER_METRICS_PORT: String(metricsPort) }), ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    const file = createWriteStream(join(logDir, `${name}.log`), { flags: 'a' }); // a restart appends
    for (const stream of [child.stdout, child.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        file.write(chunk);
        output.push(...chunk.split('\n').filter(Boolean));
      });
    }
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => (file.end(), resolve(code))));
    const existing = procs.findIndex((p) => p.name === name);
    if (existing >= 0) procs.splice(existing, 1);
    procs.push({ name, child, output, exited });
  };

  spawnProc('producer', ENTRY.producer);
  const graphqlPorts = new Map<string, number>();
  if ((opts.graphqls ?? 1) > 0) {
    spawnProc('graphql', ENTRY.graphql);
    graphqlPorts.set('graphql', config.http.graphqlPort);
  }
  for (let i = 2; i <= (opts.graphqls ?? 1); i++) {
    const port = await reservePort();
    graphqlPorts.set(`graphql-${i}`, port);
    spawnProc(`graphql-${i}`, ENTRY.graphql, { GRAPHQL_PORT: String(port) });
  }
  for (let i = 1; i <= (opts.workers ?? separate); i++) spawnProc(`worker-${i}`, ENTRY.worker);
  for (let i = 1; i <= (opts.bridges ?? separate); i++) spawnProc(`bridge-${i}`, ENTRY.bridge);
  for (let i = 1; i <= (opts.processors ?? 0); i++) spawnProc(`processor-${i}`, ENTRY.processor);

  const producerUrl = `http://127.0.0.1:${config.http.producerPort}`;
  const graphqlUrl = `http://127.0.0.1:${config.http.graphqlPort}`;
  const temporal = await createTemporalClient(config.temporal);
  const kafka = createKafka(config.kafka, quietLogger, '-test');
  const dynamo = createDynamoClient(config.aws);
  const s3 = createS3Client(config.aws);

  const stop = async () => {
    await Promise.all(
      procs.map(async (p) => {
        if (p.child.exitCode === null) p.child.kill('SIGTERM');
        const timer = setTimeout(() => p.child.kill('SIGKILL'), 30_000);
        await p.exited;
        clearTimeout(timer);
      }),
    );
    // The run's workflows: deleted, so the Web UI keeps only real ones.
    for await (const wf of temporal.workflow.list({ query: `TaskQueue = '${config.temporal.taskQueue}'` })) {
      await temporal.workflowService
        .deleteWorkflowExecution({ namespace: config.temporal.namespace, workflowExecution: { workflowId: wf.workflowId, runId: wf.runId } })
        .catch(() => undefined);
    }
    await temporal.connection.close();
    await deprovision(config, quietLogger);
    dynamo.destroy();
    s3.destroy();
    for (const port of new Set([config.http.producerPort, config.http.graphqlPort, ...graphqlPorts.values(), ...workerMetricsPorts.values()]))
      releasePort(port);
  };

  const running = (name: string) => {
    const p = procs.find((x) => x.name === name)!;
    if (p.child.exitCode !== null || p.child.signalCode !== null) {
      throw new Error(`${name} exited with ${p.child.exitCode ?? p.child.signalCode}:\n${p.output.slice(-20).join('\n')}`);
    }
    return p;
  };
  const ready = async (name: string) => {
    if (name === 'producer') {
      await waitFor('producer /health', async () => (running('producer'), (await fetch(`${producerUrl}/health`)).ok), { timeoutMs: 60_000 });
    } else if (graphqlPorts.has(name)) {
      const url = `http://127.0.0.1:${graphqlPorts.get(name)}`;
      await waitFor(`${name} /health`, async () => (running(name), (await fetch(`${url}/health`)).ok), { timeoutMs: 60_000 });
    } else {
      const markers = name.startsWith('worker') ? ['worker running'] : name.startsWith('bridge') ? ['bridge running'] : ['worker running', 'bridge running'];
      await waitFor(`${name} to start`, () => markers.every((m) => running(name).output.some((l) => l.includes(m))), { timeoutMs: 90_000 });
    }
  };

  try {
    for (const p of [...procs]) await ready(p.name);
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    env,
    config,
    producerUrl,
    graphqlUrl,
    graphqlUrls: [...graphqlPorts.values()].map((port) => `http://127.0.0.1:${port}`),
    temporal,
    kafka,
    dynamo,
    s3,
    output: (name) => procs.find((p) => p.name === name)?.output ?? [],
    child: (name) => {
      const proc = procs.find((p) => p.name === name);
      if (!proc) throw new Error(`no process ${name}`);
      return proc.child;
    },
    signal: (name, signal) => {
      const proc = procs.find((p) => p.name === name);
      if (!proc) throw new Error(`no process ${name}`);
      proc.child.kill(signal);
      return proc.exited;
    },
    async restart(name) {
      const proc = procs.find((p) => p.name === name);
      const spawned = entries.get(name);
      if (!proc || !spawned) throw new Error(`no process ${name}`);
      if (proc.child.exitCode === null && proc.child.signalCode === null) throw new Error(`${name} is still running`);
      spawnProc(name, spawned.entry, spawned.extraEnv);
      await ready(name);
    },
    processes: () => procs.map((p) => p.name),
    workerMetricsUrl(name) {
      const port = workerMetricsPorts.get(name);
      if (!port) throw new Error(`${name} has no metrics exporter (not a worker or processor, or WORKER_METRICS_PORT=0)`);
      return `http://127.0.0.1:${port}/metrics`;
    },
    stop,
  };
}
