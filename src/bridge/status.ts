/**
 * What one bridge is doing, for GET /ready and GET /metrics: its counters, whether its consumer
 * is running, how far behind each partition is, and which partitions are backing off and why.
 */
import { Counter, Gauge, Registry } from 'prom-client';

/** Why a partition's window is waiting instead of moving on. */
export type BackoffKind =
  /** Temporal refuses every start (setup problem: search attributes, namespace, permissions). */
  | 'systemic'
  /** Temporal unreachable, slow or overloaded. */
  | 'transient'
  /** The dead-letter topic refuses records (Kafka down, ACL, ...). */
  | 'dead-letter';

export interface Backoff {
  kind: BackoffKind;
  /** When this partition's current outage began (ms since epoch). */
  since: number;
  step: number;
  retryInMs: number;
  /** Records of the window still waiting. */
  waiting: number;
  code?: string;
  reason: string;
}

export type ConsumerState = 'starting' | 'running' | 'crashed' | 'stopped';

/**
 * What GET /ready says, to anyone (it needs no key): which dependency is not ready and since
 * when, never an error's own text, which can carry hosts, paths or a server's internals. The
 * bridge logs the full error at each backoff step and crash.
 */
export interface Readiness {
  ready: boolean;
  consumer: ConsumerState;
  /** One line per reason the bridge is not ready. */
  problems: string[];
  backoff: ({ partition: number } & Omit<Backoff, 'reason'>)[];
  /** The last crash: when, and the error's class name (KafkaJSProtocolError, say). */
  lastCrash?: { at: string; type: string };
}

interface Lag {
  topic: string;
  partition: number;
  lag: number;
}

export class BridgeStatus {
  /** Counters since the process started. `started` is read by the bench. */
  readonly stats = {
    /** Records finished: started, found already started, or dead-lettered. */
    consumed: 0,
    started: 0,
    alreadyStarted: 0,
    deadLettered: 0,
    /** Start attempts that failed on something any record would hit and will be retried. */
    transientFailures: 0,
    systemicFailures: 0,
    deadLetterFailures: 0,
    consumerCrashes: 0,
    consumerRestarts: 0,
    /** Times this member (re)joined its group: once at start, then once per rebalance it took part in. */
    groupJoins: 0,
    heartbeatFailures: 0,
  };

  private consumer: ConsumerState = 'starting';
  private lastCrash?: { at: string; type: string };
  private readonly backoffs = new Map<number, Backoff>();
  private readonly lags = new Map<string, Lag>();
  readonly registry: Registry;

  /** `registry`: the process's (createProcessRegistry); a bare one of its own when not given. */
  constructor(opts: { registry?: Registry } = {}) {
    this.registry = opts.registry ?? new Registry();
    registerBridgeMetrics(this.registry, this, {
      consumer: () => this.consumer,
      backoffs: () => [...this.backoffs.values()],
      lags: () => [...this.lags.values()],
    });
  }

  consumerState(): ConsumerState {
    return this.consumer;
  }

  setConsumer(state: ConsumerState, error?: Error): void {
    if (state === 'running' && this.consumer === 'crashed') this.stats.consumerRestarts++;
    if (state === 'crashed') {
      this.stats.consumerCrashes++;
      // A class name only (its message is logged): an error's name is the code's, not the server's.
      const type = error?.name && /^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(error.name) ? error.name : 'Error';
      this.lastCrash = { at: new Date().toISOString(), type };
      // The partitions are gone with the crash; the next owner reports its own backoff and lag.
      this.backoffs.clear();
      this.lags.clear();
    }
    if (state === 'stopped') this.lags.clear();
    this.consumer = state;
  }

  backoffOf(partition: number): Backoff | undefined {
    return this.backoffs.get(partition);
  }

  setBackoff(partition: number, backoff: Backoff): void {
    this.backoffs.set(partition, backoff);
  }

  clearBackoff(partition: number): void {
    this.backoffs.delete(partition);
  }

  readiness(): Readiness {
    const problems: string[] = [];
    if (this.consumer !== 'running') problems.push(`Kafka consumer is ${this.consumer}`);
    const backoff = [...this.backoffs].map(([partition, { reason: _detail, ...b }]) => ({ partition, ...b }));
    for (const b of backoff) {
      const what =
        b.kind === 'systemic'
          ? 'Temporal rejects every workflow start (fix the namespace setup)'
          : b.kind === 'transient'
            ? 'Temporal is unreachable or failing'
            : 'the dead-letter topic refuses records';
      // The gRPC status name is one of a fixed set; the server's message is in the log.
      problems.push(`partition ${b.partition}: ${what}${b.code ? ` (${b.code})` : ''}; the bridge log has the error`);
    }
    return { ready: problems.length === 0, consumer: this.consumer, problems, backoff, ...(this.lastCrash ? { lastCrash: this.lastCrash } : {}) };
  }

  /** The consumer lag of a partition: records after the last one this bridge finished. */
  setLag(topic: string, partition: number, lag: number): void {
    this.lags.set(`${topic}\u0000${partition}`, { topic, partition, lag: Math.max(0, lag) });
  }

  /**
   * After a rebalance: partitions no longer assigned to this member stop reporting, so a moved
   * partition is not shown by two bridges (its old owner's value would stay frozen).
   */
  keepLagOf(assigned: Record<string, number[]>): void {
    for (const [key, { topic, partition }] of this.lags) if (!assigned[topic]?.includes(partition)) this.lags.delete(key);
  }

  /** Prometheus text of the bridge's registry (its process's in a bridge or processor process). */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

type BridgeStat = keyof BridgeStatus['stats'];

/**
 * Each of BridgeStatus.stats as a Prometheus counter: its name (after `bridge_`) and help. Keyed
 * by the stat (alphabetically), so a stat added without its counter does not compile; they are
 * registered in the order of `stats`.
 */
const COUNTERS: Record<BridgeStat, { name: string; help: string }> = {
  alreadyStarted: { name: 'records_already_started_total', help: 'Redelivered records whose workflow had already started.' },
  consumed: {
    name: 'records_consumed_total',
    help: 'Records of the raw topic this bridge finished (started, found started or dead-lettered); rate() is records per second.',
  },
  consumerCrashes: { name: 'consumer_crashes_total', help: 'Times the Kafka consumer crashed.' },
  consumerRestarts: { name: 'consumer_restarts_total', help: 'Times the Kafka consumer rejoined the group after a crash.' },
  deadLetterFailures: { name: 'dead_letter_failures_total', help: 'Dead-letter publishes that failed (retried).' },
  deadLettered: { name: 'records_dead_lettered_total', help: 'Records sent to the dead-letter topic by the bridge (unusable or rejected by Temporal).' },
  groupJoins: { name: 'group_joins_total', help: 'Times this member joined its consumer group (1 at start, +1 per rebalance).' },
  heartbeatFailures: { name: 'heartbeat_failures_total', help: 'Consumer-group heartbeats that failed while a window was in flight.' },
  started: { name: 'records_started_total', help: 'Records whose processEvent workflow this bridge started.' },
  systemicFailures: {
    name: 'start_systemic_failures_total',
    help: 'Workflow starts Temporal refused in a way that hits every record (retried, never dead-lettered).',
  },
  transientFailures: {
    name: 'start_transient_failures_total',
    help: 'Workflow starts that failed because Temporal was unreachable, slow or overloaded (retried).',
  },
};

/**
 * The bridge's metrics in `registry`, read at scrape time from the status: the counters stay the
 * plain numbers the bridge logs and the bench reads, and a scrape costs a few map reads.
 */
function registerBridgeMetrics(
  registry: Registry,
  status: BridgeStatus,
  view: { consumer: () => ConsumerState; backoffs: () => Backoff[]; lags: () => Lag[] },
): void {
  const gauge = <L extends string>(name: string, help: string, labelNames: L[], collect: (g: Gauge<L>) => void) =>
    new Gauge<L>({
      name: `bridge_${name}`,
      help,
      labelNames,
      registers: [registry],
      collect() {
        collect(this);
      },
    });
  for (const stat of Object.keys(status.stats) as BridgeStat[]) {
    const { name, help } = COUNTERS[stat];
    new Counter({
      name: `bridge_${name}`,
      help,
      registers: [registry],
      // A counter mirrored from a number that only grows: reset, then set to it.
      collect() {
        this.reset();
        this.inc(status.stats[stat]);
      },
    });
  }
  gauge('consumer_running', '1 while the Kafka consumer is a running member of its group.', [], (g) => g.set(view.consumer() === 'running' ? 1 : 0));
  gauge(
    'consumer_lag',
    'Per assigned partition: records behind the partition end (high watermark of the last fetch minus the next offset to finish).',
    ['topic', 'partition'],
    (g) => {
      g.reset();
      for (const { topic, partition, lag } of view.lags()) g.set({ topic, partition: String(partition) }, lag);
    },
  );
  const kinds: BackoffKind[] = ['systemic', 'transient', 'dead-letter'];
  gauge('partitions_backing_off', 'Partitions whose window is waiting out a failure that hits every record, by kind.', ['kind'], (g) => {
    const backoffs = view.backoffs();
    for (const kind of kinds) g.set({ kind }, backoffs.filter((b) => b.kind === kind).length);
  });
  gauge('backoff_seconds', 'How long the oldest ongoing backoff has lasted (0 when none).', [], (g) => {
    const now = Date.now();
    g.set((now - view.backoffs().reduce((min, b) => Math.min(min, b.since), now)) / 1000);
  });
  gauge('ready', '1 when GET /ready answers 200.', [], (g) => g.set(status.readiness().ready ? 1 : 0));
}
