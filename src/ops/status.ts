/**
 * `events status`: the local stack and the platform at a glance. Every probe has its own
 * deadline and runs beside the others, so a server that is down costs a few seconds, never a hang.
 *   - Kafka, Temporal, DynamoDB (the table), S3 (the bucket): reachable or not, and why;
 *   - the producer's and the bridge's GET /ready;
 *   - the bridge consumer group's lag per partition of the raw topic (end offset minus committed
 *     offset; a partition the group never committed counts from its low watermark), and the
 *     counter's total lag on the stored topic (how far eventCounts trail storage);
 *   - processEvent runs by status, from Temporal visibility (count queries);
 *   - the DLQ's depth: end offsets minus low watermarks (what retention has not removed yet).
 * Healthy = every service reachable and both processes ready; lag and DLQ depth inform only.
 */
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Client } from '@temporalio/client';
import type { Admin } from 'kafkajs';
import type { Config } from '../platform/config';
import { WORKFLOW_TYPE } from '../../workflows/contract';
import { countsGroupId } from '../store/counts/consumer';
import { parseFlags, UsageError, type CommandSpec } from './args';
import { formatTable, printable } from './format';

export const STATUS_USAGE = 'Usage: events status [--json] [--producer-url URL] [--bridge-url URL]... [--timeout-ms N]';
export const STATUS_HELP = `${STATUS_USAGE}

The local stack's health (Kafka, Temporal, DynamoDB, S3 reachable), the producer's and the
bridge's readiness (GET /ready), the bridge consumer group's lag per partition of the raw topic,
the counter's lag on the stored topic, processEvent runs by status (running, failed, terminated, completed) and the DLQ's depth.
Exits 0 when every service is reachable and both processes are ready, 1 otherwise.

  --json              the same as JSON
  --producer-url URL  the producer (default http://127.0.0.1:PRODUCER_PORT)
  --bridge-url URL    a bridge's health server (default http://127.0.0.1:BRIDGE_HTTP_PORT,
                      8002; repeatable, e.g. for npm start's second bridge on 8003)
  --timeout-ms N      deadline of each probe (default 5000)
  -h, --help          this help`;

export interface StatusArgs {
  help: boolean;
  json: boolean;
  producerUrl?: string;
  bridgeUrls: string[];
  timeoutMs: number;
}

const httpUrl = (flag: string, value: string): string => {
  if (!/^https?:\/\/[^/\s]+/.test(value)) throw new UsageError(`${flag} must be an http(s) URL such as http://127.0.0.1:8002, got "${value}"`, STATUS_USAGE);
  return value.replace(/\/+$/, '');
};

export function parseStatusArgs(argv: string[]): StatusArgs {
  const { values } = parseFlags(
    argv,
    { json: { type: 'boolean' }, 'producer-url': { type: 'string' }, 'bridge-url': { type: 'string', multiple: true }, 'timeout-ms': { type: 'string' } },
    STATUS_USAGE,
  );
  const timeout = values['timeout-ms'];
  if (timeout !== undefined && (!/^\d+$/.test(timeout) || Number(timeout) < 100 || Number(timeout) > 120_000)) {
    throw new UsageError(`--timeout-ms must be an integer between 100 and 120000, got "${timeout}"`, STATUS_USAGE);
  }
  return {
    help: values.help ?? false,
    json: values.json ?? false,
    ...(values['producer-url'] !== undefined ? { producerUrl: httpUrl('--producer-url', values['producer-url']) } : {}),
    bridgeUrls: (values['bridge-url'] ?? []).map((u) => httpUrl('--bridge-url', u)),
    timeoutMs: timeout === undefined ? 5_000 : Number(timeout),
  };
}

export const STATUS_COMMAND = {
  name: 'status',
  aliases: [],
  summary: "the stack's and the platform's health, consumer lag, runs by status, DLQ depth",
  help: STATUS_HELP,
  parse: parseStatusArgs,
} as const satisfies CommandSpec;

export interface Probe {
  name: string;
  ok: boolean;
  detail: string;
}

export interface PartitionLag {
  partition: number;
  /** The group's committed offset, or null when it never committed on this partition. */
  committed: string | null;
  low: string;
  end: string;
  lag: number;
}

export type GroupLag = { group: string; topic: string; total: number; partitions: PartitionLag[] } | { group: string; topic: string; error: string };

export interface StatusReport {
  healthy: boolean;
  services: Probe[];
  processes: (Probe & { url: string })[];
  consumerLag: GroupLag;
  /** The counter's group on the stored topic (eventCounts follow storage by this many announcements); null with EVENT_COUNTS=false. */
  countsLag: GroupLag | null;
  workflows: { taskQueue: string; running: number; failed: number; terminated: number; completed: number } | { taskQueue: string; error: string };
  dlq: { topic: string; depth: number; partitions: { partition: number; low: string; end: string; depth: number }[] } | { topic: string; error: string };
}

/** Lag per partition: end minus committed; with no commit, the whole retained partition (end minus low). */
export function partitionLags(ends: { partition: number; low: string; high: string }[], committed: { partition: number; offset: string }[]): PartitionLag[] {
  return ends
    .map((e) => {
      const c = committed.find((x) => x.partition === e.partition)?.offset;
      const has = c !== undefined && BigInt(c) >= 0n;
      const from = has ? BigInt(c) : BigInt(e.low);
      const lag = BigInt(e.high) - from;
      return { partition: e.partition, committed: has ? c : null, low: e.low, end: e.high, lag: Number(lag > 0n ? lag : 0n) };
    })
    .sort((a, b) => a.partition - b.partition);
}

export interface StatusDeps {
  config: Config;
  /** Resolves to a connected admin client (or rejects when Kafka cannot be reached). */
  admin: () => Promise<Pick<Admin, 'describeCluster' | 'fetchTopicOffsets' | 'fetchOffsets'>>;
  temporal: () => Promise<Pick<Client, 'workflow' | 'workflowService'>>;
  dynamo: Pick<DynamoDBClient, 'send'>;
  s3: Pick<S3Client, 'send'>;
  fetch: typeof fetch;
}

const message = (err: unknown) => {
  const e = err as { message?: string; name?: string; code?: string };
  return (e?.message || e?.name || e?.code || String(err)).split('\n')[0]!;
};

function withDeadline<T>(what: string, ms: number, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work(), deadline]).finally(() => clearTimeout(timer));
}

async function readiness(f: typeof fetch, name: string, base: string, ms: number): Promise<Probe & { url: string }> {
  const url = `${base}/ready`;
  try {
    const res = await f(url, { signal: AbortSignal.timeout(ms) });
    const body = (await res.json().catch(() => ({}))) as { status?: string; problems?: string[] };
    const why = body.problems?.length ? `: ${body.problems.join('; ')}` : body.status ? ` (${body.status})` : '';
    return { name, url, ok: res.status === 200, detail: `HTTP ${res.status}${why}` };
  } catch (err) {
    return { name, url, ok: false, detail: `unreachable: ${message((err as { cause?: unknown }).cause ?? err)}` };
  }
}

export async function collectStatus(deps: StatusDeps, args: Pick<StatusArgs, 'producerUrl' | 'bridgeUrls' | 'timeoutMs'>): Promise<StatusReport> {
  const { config } = deps;
  const ms = args.timeoutMs;
  const localHost = (h: string) => (h === '0.0.0.0' || h === '::' ? '127.0.0.1' : h);
  const producerUrl = args.producerUrl ?? `http://${localHost(config.http.host)}:${config.http.producerPort}`;
  const bridgeUrls = args.bridgeUrls.length > 0 ? args.bridgeUrls : [`http://127.0.0.1:${config.bridge.httpPort || 8002}`];
  const { topic, dlqTopic, consumerGroup } = config.kafka;
  const taskQueue = config.temporal.taskQueue;

  const kafkaProbe = withDeadline('Kafka', ms, async () => {
    const admin = await deps.admin();
    const cluster = await admin.describeCluster();
    return { admin, detail: `${cluster.brokers.length} broker(s), ${config.kafka.brokers.join(',')}` };
  });
  const temporalProbe = withDeadline('Temporal', ms, async () => {
    const client = await deps.temporal();
    await client.workflowService.getSystemInfo({});
    return client;
  });

  const services: Promise<Probe>[] = [
    kafkaProbe.then(
      (k) => ({ name: 'kafka', ok: true, detail: k.detail }),
      (err: unknown) => ({ name: 'kafka', ok: false, detail: `unreachable (${config.kafka.brokers.join(',')}): ${message(err)}` }),
    ),
    temporalProbe.then(
      () => ({ name: 'temporal', ok: true, detail: `${config.temporal.address}, namespace ${config.temporal.namespace}` }),
      (err: unknown) => ({ name: 'temporal', ok: false, detail: `unreachable (${config.temporal.address}): ${message(err)}` }),
    ),
    withDeadline('DynamoDB', ms, () => deps.dynamo.send(new DescribeTableCommand({ TableName: config.aws.table }))).then(
      (out) => ({ name: 'dynamodb', ok: true, detail: `table ${config.aws.table} ${out.Table?.TableStatus ?? ''}`.trim() }),
      (err: unknown) => ({ name: 'dynamodb', ok: false, detail: `table ${config.aws.table}: ${message(err)}` }),
    ),
    withDeadline('S3', ms, () => deps.s3.send(new HeadBucketCommand({ Bucket: config.aws.bucket }))).then(
      () => ({ name: 's3', ok: true, detail: `bucket ${config.aws.bucket}` }),
      (err: unknown) => ({ name: 's3', ok: false, detail: `bucket ${config.aws.bucket}: ${message(err)}` }),
    ),
  ];
  const processes = [
    readiness(deps.fetch, 'producer', producerUrl, ms),
    ...bridgeUrls.map((u, i) => readiness(deps.fetch, bridgeUrls.length > 1 ? `bridge-${i + 1}` : 'bridge', u, ms)),
  ];

  const groupLag = (group: string, groupTopic: string): Promise<GroupLag> =>
    kafkaProbe
      .then(({ admin }) =>
        withDeadline('consumer lag', ms, async () => {
          const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(groupTopic), admin.fetchOffsets({ groupId: group, topics: [groupTopic] })]);
          const partitions = partitionLags(ends, committed[0]?.partitions ?? []);
          return { group, topic: groupTopic, total: partitions.reduce((n, p) => n + p.lag, 0), partitions };
        }),
      )
      .catch((err: unknown) => ({ group, topic: groupTopic, error: message(err) }));
  const consumerLag = groupLag(consumerGroup, topic);
  const countsLag = config.counts.enabled ? groupLag(countsGroupId(consumerGroup), config.kafka.storedTopic) : Promise.resolve(null);

  const dlq: Promise<StatusReport['dlq']> = kafkaProbe
    .then(({ admin }) =>
      withDeadline('DLQ offsets', ms, async () => {
        const offsets = await admin.fetchTopicOffsets(dlqTopic);
        const partitions = offsets
          .map((o) => ({ partition: o.partition, low: o.low, end: o.high, depth: Number(BigInt(o.high) - BigInt(o.low)) }))
          .sort((a, b) => a.partition - b.partition);
        return { topic: dlqTopic, depth: partitions.reduce((n, p) => n + p.depth, 0), partitions };
      }),
    )
    .catch((err: unknown) => ({ topic: dlqTopic, error: message(err) }));

  const workflows: Promise<StatusReport['workflows']> = temporalProbe
    .then((client) =>
      withDeadline('visibility counts', ms, async () => {
        const count = async (status: string) =>
          (await client.workflow.count(`WorkflowType = '${WORKFLOW_TYPE}' AND TaskQueue = '${taskQueue}' AND ExecutionStatus = '${status}'`)).count;
        const [running, failed, terminated, completed] = await Promise.all(['Running', 'Failed', 'Terminated', 'Completed'].map(count));
        return { taskQueue, running: running!, failed: failed!, terminated: terminated!, completed: completed! };
      }),
    )
    .catch((err: unknown) => ({ taskQueue, error: message(err) }));

  const [s, p, lag, counts, wf, d] = await Promise.all([Promise.all(services), Promise.all(processes), consumerLag, countsLag, workflows, dlq]);
  return { healthy: s.every((x) => x.ok) && p.every((x) => x.ok), services: s, processes: p, consumerLag: lag, countsLag: counts, workflows: wf, dlq: d };
}

export function formatStatus(r: StatusReport): string {
  const out: string[] = [];
  out.push(
    formatTable(
      ['COMPONENT', 'STATE', 'DETAIL'],
      [
        ...r.services.map((s) => [s.name, s.ok ? 'up' : 'DOWN', s.detail]),
        ...r.processes.map((p) => [p.name, p.ok ? 'ready' : 'NOT READY', `${p.url} ${p.detail}`]),
      ],
      120,
    ),
  );
  out.push('');
  const lag = r.consumerLag;
  if ('error' in lag) out.push(`Consumer lag (group ${lag.group} on ${lag.topic}): unknown, ${printable(lag.error)}`);
  else {
    out.push(`Consumer lag (group ${lag.group} on ${lag.topic}): ${lag.total}`);
    out.push(
      formatTable(
        ['PARTITION', 'COMMITTED', 'END', 'LAG'],
        lag.partitions.map((p) => [String(p.partition), p.committed ?? '-', p.end, String(p.lag)]),
      ),
    );
  }
  const counts = r.countsLag;
  if (counts === null) out.push('Counts: off (EVENT_COUNTS=false)');
  else if ('error' in counts) out.push(`Counts lag (group ${counts.group} on ${counts.topic}): unknown, ${printable(counts.error)}`);
  else out.push(`Counts lag (group ${counts.group} on ${counts.topic}): ${counts.total}`);
  out.push('');
  const wf = r.workflows;
  if ('error' in wf) out.push(`processEvent runs (task queue ${wf.taskQueue}): unknown, ${printable(wf.error)}`);
  else
    out.push(
      `processEvent runs (task queue ${wf.taskQueue}): running ${wf.running}, failed ${wf.failed}, terminated ${wf.terminated}, completed ${wf.completed}`,
    );
  const dlq = r.dlq;
  if ('error' in dlq) out.push(`DLQ ${dlq.topic}: unknown, ${printable(dlq.error)}`);
  else
    out.push(
      `DLQ ${dlq.topic}: ${dlq.depth} record(s)${dlq.partitions.length > 1 ? ` (${dlq.partitions.map((p) => `partition ${p.partition}: ${p.depth}`).join(', ')})` : ''}`,
    );
  out.push('');
  const down = [...r.services, ...r.processes].filter((x) => !x.ok).map((x) => x.name);
  out.push(r.healthy ? 'healthy' : `UNHEALTHY: ${down.join(', ')}`);
  return out.join('\n');
}
