/**
 * What one bridge is doing, for GET /ready and GET /metrics: its counters, whether its consumer
 * is running, and which partitions are backing off and why.
 */

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

export interface Readiness {
  ready: boolean;
  consumer: ConsumerState;
  /** One line per reason the bridge is not ready. */
  problems: string[];
  backoff: ({ partition: number } & Backoff)[];
  lastCrash?: { at: string; error: string };
}

export class BridgeStatus {
  /** Counters since the process started. `started` is read by the bench. */
  readonly stats = {
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
  private lastCrash?: { at: string; error: string };
  private readonly backoffs = new Map<number, Backoff>();

  consumerState(): ConsumerState {
    return this.consumer;
  }

  setConsumer(state: ConsumerState, error?: Error): void {
    if (state === 'running' && this.consumer === 'crashed') this.stats.consumerRestarts++;
    if (state === 'crashed') {
      this.stats.consumerCrashes++;
      this.lastCrash = { at: new Date().toISOString(), error: `${error?.name ?? 'Error'}: ${error?.message ?? 'unknown'}` };
      // The partitions are gone with the crash; the next owner reports its own backoff.
      this.backoffs.clear();
    }
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
    const backoff = [...this.backoffs].map(([partition, b]) => ({ partition, ...b }));
    for (const b of backoff) {
      const what =
        b.kind === 'systemic'
          ? 'Temporal rejects every workflow start (fix the namespace setup)'
          : b.kind === 'transient'
            ? 'Temporal is unreachable or failing'
            : 'the dead-letter topic refuses records';
      problems.push(`partition ${b.partition}: ${what}: ${b.code ? `${b.code} ` : ''}${b.reason}`);
    }
    return { ready: problems.length === 0, consumer: this.consumer, problems, backoff, ...(this.lastCrash ? { lastCrash: this.lastCrash } : {}) };
  }

  /** Prometheus text exposition format. */
  render(): string {
    const lines: string[] = [];
    const metric = (name: string, type: 'counter' | 'gauge', help: string, samples: [string, number][]) => {
      lines.push(`# HELP bridge_${name} ${help}`, `# TYPE bridge_${name} ${type}`);
      for (const [labels, value] of samples) lines.push(`bridge_${name}${labels} ${value}`);
    };
    const s = this.stats;
    metric('records_started_total', 'counter', 'Records whose processEvent workflow this bridge started.', [['', s.started]]);
    metric('records_already_started_total', 'counter', 'Redelivered records whose workflow had already started.', [['', s.alreadyStarted]]);
    metric('records_dead_lettered_total', 'counter', 'Records sent to the dead-letter topic by the bridge (unusable or rejected by Temporal).', [['', s.deadLettered]]);
    metric('start_transient_failures_total', 'counter', 'Workflow starts that failed because Temporal was unreachable, slow or overloaded (retried).', [['', s.transientFailures]]);
    metric('start_systemic_failures_total', 'counter', 'Workflow starts Temporal refused in a way that hits every record (retried, never dead-lettered).', [['', s.systemicFailures]]);
    metric('dead_letter_failures_total', 'counter', 'Dead-letter publishes that failed (retried).', [['', s.deadLetterFailures]]);
    metric('consumer_crashes_total', 'counter', 'Times the Kafka consumer crashed.', [['', s.consumerCrashes]]);
    metric('consumer_restarts_total', 'counter', 'Times the Kafka consumer rejoined the group after a crash.', [['', s.consumerRestarts]]);
    metric('group_joins_total', 'counter', 'Times this member joined its consumer group (1 at start, +1 per rebalance).', [['', s.groupJoins]]);
    metric('heartbeat_failures_total', 'counter', 'Consumer-group heartbeats that failed while a window was in flight.', [['', s.heartbeatFailures]]);
    metric('consumer_running', 'gauge', '1 while the Kafka consumer is a running member of its group.', [['', this.consumer === 'running' ? 1 : 0]]);
    const kinds: BackoffKind[] = ['systemic', 'transient', 'dead-letter'];
    const backoffs = [...this.backoffs.values()];
    metric(
      'partitions_backing_off',
      'gauge',
      'Partitions whose window is waiting out a failure that hits every record, by kind.',
      kinds.map((kind) => [`{kind="${kind}"}`, backoffs.filter((b) => b.kind === kind).length]),
    );
    const oldest = backoffs.reduce((min, b) => Math.min(min, b.since), Date.now());
    metric('backoff_seconds', 'gauge', 'How long the oldest ongoing backoff has lasted (0 when none).', [['', (Date.now() - oldest) / 1000]]);
    metric('ready', 'gauge', '1 when GET /ready answers 200.', [['', this.readiness().ready ? 1 : 0]]);
    return `${lines.join('\n')}\n`;
  }
}
