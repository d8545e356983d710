/**
 * The fault suite (`npm run test:faults`, part of `npm test`): thousands of events through the
 * real platform and the real servers while one fault after another hits it, then an audit from
 * the stores and the Temporal server. A 202 is a promise: every accepted event is stored exactly
 * once (one item, one identical archived object, one Completed run) or dead-lettered with a
 * reason; nothing answered 4xx is stored; nothing is stored twice.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { archiveKey } from '../../src/store/archive/layout';
import { CONSUMER_SESSION } from '../../src/platform/kafka/client';
import { getItem } from '../support/clients';
import { REPO_ROOT } from '../support/paths';
import { startPlatform, type Platform } from '../support/platform';
import { stackLayout } from '../support/stack';
import { waitFor } from '../support/wait';
import { audit, auditCounts, countItems, countRuns, listRuns, type AuditResult } from './audit';
import { createLoad } from './load';
import { HANG_TIMEOUT_MS } from '../support/timeouts';

const stack = (...args: string[]) => promisify(execFile)('bash', [join(REPO_ROOT, 'infra/stack.sh'), ...args]);
const PROFILE = process.env.STACK_PROFILE === 'cluster' ? 'cluster' : 'default';
/** A count from the environment; anything but a positive integer would quietly turn a check off. */
function countFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined) return fallback;
  if (!/^[1-9][0-9]*$/.test(raw.trim())) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return Number(raw);
}
const MIN_EVENTS = countFromEnv('FAULT_SUITE_EVENTS', 5_000);
/**
 * `short` leaves out the three timed outages (Temporal, dynalite, versitygw stopped for 30–60 s):
 * npm test runs it on the default profile when its cluster phase runs the full set afterwards.
 */
const FAULT_SET = process.env.FAULT_SUITE_SET === 'short' ? 'short' : 'full';
/** Every fault hits at least this many accepted events that have not completed yet. */
const MIN_IN_FLIGHT = countFromEnv('FAULT_SUITE_IN_FLIGHT', 500);
/** The backlog whose drain measures the rate the platform sustains, before the first fault. */
const RATE_PROBE_EVENTS = 1_000;
/** The steady load pauses above this many events in flight (the top-ups before faults do not). */
const BACKLOG_CAP = 3 * MIN_IN_FLIGHT;
/** A processor stopped longer than its consumer session loses its partitions. */
const SESSION_TIMEOUT_MS = CONSUMER_SESSION.sessionTimeout;
const seconds = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface FaultRow {
  fault: string;
  inFlight: number;
  recoverSeconds: number;
}

describe('fault suite: zero lost, zero doubled', { timeout: 4 * HANG_TIMEOUT_MS }, () => {
  let p: Platform;
  let phase = 'warm-up';
  const load = { current: undefined as ReturnType<typeof createLoad> | undefined };
  const rows: FaultRow[] = [];
  let governor: NodeJS.Timeout | undefined;

  before(async () => {
    // npm start's layout: bridge + worker processes, eager starts, the fast path.
    p = await startPlatform({
      processors: 2,
      env: {
        // A killed worker's activities are retried after this, not after the 30 s default.
        ACTIVITY_TIMEOUT_MS: '10000',
        KAFKA_PRODUCE_TIMEOUT_MS: '5000',
        // Outages last up to 60 s here; retries back off to 5 s so recovery is visible quickly.
        HOT_RETRY_MAX_INTERVAL_MS: '5000',
        COLD_RETRY_MAX_INTERVAL_MS: '5000',
      },
    });
  });

  after(async () => {
    clearInterval(governor);
    await load.current?.stop();
    // Whatever happened, the shared servers are left running for the next suite.
    // The brokers as one group (`kafka`: stack.sh starts them together, as a quorum needs), then the rest.
    const { services, brokers } = stackLayout();
    const others = services.filter((svc) => !brokers.some((b) => b.service === svc));
    for (const svc of ['kafka', ...others]) await stack('start', svc).catch(() => undefined);
    await p?.stop();
  });

  /**
   * Posts a probe and waits until it is stored, archived and Completed: the platform works again.
   * The probe queues behind the backlog the fault left (its partition, then the task queue), so
   * how long that takes is what the table reports; the deadline only catches a platform that
   * never recovers.
   */
  async function recovered(name: string, since: number): Promise<number> {
    const id = await load.current!.probe(name);
    await waitFor(`probe ${id} stored after "${name}"`, () => getItem(p, id), { timeoutMs: HANG_TIMEOUT_MS, intervalMs: 250 });
    const key = archiveKey({ event_id: id, timestamp: load.current!.ledger.accepted.get(id)!.request.timestamp as string });
    await waitFor(`probe ${id} archived`, () => p.s3.send(new HeadObjectCommand({ Bucket: p.config.aws.bucket, Key: key })).then(() => true), {
      timeoutMs: HANG_TIMEOUT_MS,
      intervalMs: 250,
    });
    await waitFor(`probe ${id} completed`, async () => (await p.temporal.workflow.getHandle(id).describe()).status.name === 'COMPLETED', {
      timeoutMs: HANG_TIMEOUT_MS,
      intervalMs: 250,
    });
    return (Date.now() - since) / 1000;
  }

  /** Accepted but not yet through: no Completed run yet (stored, archived and closed). */
  const inFlightNow = async () => load.current!.ledger.accepted.size - (await countRuns(p, 'Completed'));

  async function fault(name: string, inject: () => Promise<void>, restore: () => Promise<void>): Promise<void> {
    phase = name;
    // A fault at an idle pipeline proves little: top the backlog up to MIN_IN_FLIGHT first.
    let inFlight = await inFlightNow();
    for (let attempt = 0; inFlight < MIN_IN_FLIGHT && attempt < 5; attempt++) {
      await load.current!.burst(MIN_IN_FLIGHT - inFlight + 200 * (attempt + 1));
      inFlight = await inFlightNow();
    }
    await inject();
    await restore();
    const restoredAt = Date.now();
    const recoverSeconds = await recovered(name, restoredAt);
    rows.push({ fault: name, inFlight, recoverSeconds });
    process.stdout.write(`# ${name}: ${inFlight} in flight, recovered in ${recoverSeconds.toFixed(1)} s\n`);
    phase = `after ${name}`;
    await seconds(5_000); // steady load between faults
  }

  /** A stack command as a fault step. */
  const stackStep =
    (...args: string[]) =>
    () =>
      stack(...args).then(() => undefined);

  /** A server stopped for a while, then started again. */
  const outage = (what: string, service: string, ms: number) =>
    fault(
      `${what} stopped for ${ms / 1000} s`,
      async () => {
        await stack('stop', service);
        await seconds(ms);
      },
      stackStep('start', service),
    );

  const killAndRestart = async (name: string, signal: NodeJS.Signals) => {
    await p.signal(name, signal);
    await p.restart(name);
  };

  /**
   * The rate the platform sustains here, measured in this run (a busy machine gives less): the
   * completed runs per second while a backlog of RATE_PROBE_EVENTS drains.
   */
  async function measureSustainedRate(): Promise<number> {
    // Nothing else is posted meanwhile: the steady load would add to what is measured draining.
    load.current!.setRate(0);
    const before = await countRuns(p, 'Completed');
    const started = Date.now();
    await load.current!.burst(RATE_PROBE_EVENTS);
    await waitFor('the rate probe drained', async () => (await countRuns(p, 'Completed')) >= before + RATE_PROBE_EVENTS, {
      timeoutMs: HANG_TIMEOUT_MS,
      intervalMs: 500,
    });
    return ((await countRuns(p, 'Completed')) - before) / ((Date.now() - started) / 1000);
  }

  /** The broker (stack service kafka-N) that leads partition 0 of the raw topic now. */
  async function rawLeader(): Promise<string> {
    const admin = p.kafka.admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [p.config.kafka.topic] });
      const leader = topics[0]?.partitions.find((x) => x.partitionId === 0)?.leader;
      const broker = stackLayout().brokers.find((b) => b.nodeId === leader);
      assert.ok(broker, `partition 0 of ${p.config.kafka.topic} has a leader of this stack (node ${leader})`);
      return broker.service;
    } finally {
      await admin.disconnect();
    }
  }

  it(`posts through every fault (${FAULT_SET} set) on the ${PROFILE} profile, then audits the stores: every 202 stored exactly once`, async () => {
    load.current = createLoad({ producerUrl: p.producerUrl, ratePerSecond: 10, phase: () => phase });
    const l = load.current;
    l.start();
    await waitFor('first events stored', async () => (await countItems(p)) > 20, { timeoutMs: 120_000, intervalMs: 500 });
    phase = 'rate probe';
    const sustained = await measureSustainedRate();
    // Half the sustained rate between faults: busy, with room to drain what a fault piles up.
    const steady = Math.max(1, Math.round(sustained / 2));
    l.setRate(steady);
    // A moment slower than the measurement (a busy machine) must not pile up a backlog without
    // bound: the steady load pauses while more than BACKLOG_CAP events are in flight.
    governor = setInterval(() => {
      inFlightNow()
        .then((n) => l.setRate(n > BACKLOG_CAP ? 0 : steady))
        .catch(() => undefined); // Temporal down: keep the last rate
    }, 2_000);
    process.stdout.write(
      `# ${PROFILE} profile: sustains ${sustained.toFixed(1)} events/s; posting ${steady}/s between faults, >= ${MIN_IN_FLIGHT} in flight at each\n`,
    );
    phase = 'warm-up';

    // With processors, killing one kills a worker and a bridge at once: each row kills one.
    const has = (name: string) => p.processes().includes(name);
    const workerTarget = has('worker-1') ? 'worker-1' : 'processor-1';
    const bridgeTarget = has('bridge-1') ? 'bridge-1' : 'processor-2';
    await fault(
      'kill -9 a worker during its activities',
      () => killAndRestart(workerTarget, 'SIGKILL'),
      async () => undefined,
    );
    await fault(
      'kill -9 a bridge mid-window, restart it',
      () => killAndRestart(bridgeTarget, 'SIGKILL'),
      async () => undefined,
    );
    await fault('restart the Kafka broker', stackStep('stop', 'kafka'), stackStep('start', 'kafka'));
    if (PROFILE === 'cluster') {
      let leader = '';
      await fault(
        'kill -9 the leader broker of events.raw partition 0',
        async () => {
          leader = await rawLeader();
          await stack('kill', leader);
        },
        () => stackStep('start', leader)(),
      );
      let second = '';
      await fault(
        'kill -9 a second broker while one is down: 503s, min ISR unmet',
        async () => {
          leader = await rawLeader();
          second = stackLayout().brokers.find((b) => b.service !== leader)!.service;
          const refusedBefore = l.ledger.statuses.get('503') ?? 0;
          await stack('kill', leader);
          await stack('kill', second);
          // With one replica of three, no write can be acknowledged: the producer must say so.
          await waitFor('the producer answers 503 with two brokers down', () => (l.ledger.statuses.get('503') ?? 0) > refusedBefore, {
            timeoutMs: 120_000,
            intervalMs: 500,
          });
        },
        async () => {
          await stack('start', second);
          await stack('start', leader);
        },
      );
      await fault('kill -9 the Temporal server', stackStep('kill', 'temporal'), stackStep('start', 'temporal'));
      await fault('restart PostgreSQL', stackStep('stop', 'postgres'), stackStep('start', 'postgres'));
    }
    const stopTarget = has('processor-2') ? 'processor-2' : 'bridge-2';
    await fault(
      `SIGSTOP a processor past the ${SESSION_TIMEOUT_MS / 1000} s session timeout, then SIGCONT`,
      async () => {
        // A zombie: its partitions move to the other consumer, then it wakes up holding stale ones.
        void p.signal(stopTarget, 'SIGSTOP');
        await seconds(SESSION_TIMEOUT_MS + 10_000);
      },
      async () => {
        void p.signal(stopTarget, 'SIGCONT');
      },
    );
    if (FAULT_SET === 'full') {
      await outage('Temporal', 'temporal', 60_000);
      await outage('dynalite', 'dynamodb', 30_000);
      await outage('versitygw', 's3', 60_000);
    }
    await fault(
      'SIGTERM every platform process, start them again',
      async () => {
        const codes = await Promise.all(p.processes().map(async (name) => [name, await p.signal(name, 'SIGTERM')] as const));
        const unclean = codes.filter(([, code]) => code !== 0);
        assert.deepEqual(unclean, [], 'every process drains and exits 0 on SIGTERM');
      },
      async () => {
        for (const name of p.processes().sort((a, b) => order(a) - order(b))) await p.restart(name);
      },
    );

    phase = 'final load';
    if (l.ledger.accepted.size < MIN_EVENTS) await l.burst(MIN_EVENTS - l.ledger.accepted.size);
    await waitFor(`${MIN_EVENTS} events accepted`, () => l.ledger.accepted.size >= MIN_EVENTS, { timeoutMs: 900_000, intervalMs: 1_000 });
    clearInterval(governor);
    await l.stop();

    const accepted = l.ledger.accepted.size;
    // Drained when every accepted event has a closed run and none is still running.
    await waitFor(
      'every accepted event processed',
      async () => {
        const runs = await listRuns(p);
        const open = [...runs.values()].some((r) => r.other > 0);
        return !open && [...l.ledger.accepted.keys()].every((id) => (runs.get(id)?.completed ?? 0) + (runs.get(id)?.failed ?? 0) > 0);
      },
      { timeoutMs: HANG_TIMEOUT_MS, intervalMs: 5_000 },
    );

    const result = await audit(p, l.ledger);
    // Counting follows storage through the stored topic: the counts must reach the items exactly.
    let countDifferences: string[] = [];
    const countsDeadline = Date.now() + 180_000;
    do {
      countDifferences = await auditCounts(p);
      if (countDifferences.length > 0) await seconds(2_000);
    } while (countDifferences.length > 0 && Date.now() < countsDeadline);
    const table = report(rows, result, l.ledger, countDifferences);
    process.stdout.write(`${table}\n`);
    mkdirSync(join(REPO_ROOT, '.stack'), { recursive: true });
    writeFileSync(join(REPO_ROOT, '.stack', `fault-suite-report-${PROFILE}.md`), `${table}\n`);

    const bad = result.verdicts.filter((v) => v.outcome === 'lost' || v.outcome === 'doubled' || v.outcome === 'mismatch');
    assert.ok(accepted >= MIN_EVENTS, `at least ${MIN_EVENTS} accepted events (got ${accepted})`);
    const idle = rows.filter((r) => r.inFlight < MIN_IN_FLIGHT).map((r) => `${r.fault}: ${r.inFlight}`);
    assert.deepEqual(idle, [], `every fault hits at least ${MIN_IN_FLIGHT} events in flight`);
    assert.deepEqual(bad.slice(0, 10), [], `${bad.length} accepted events not stored exactly once`);
    assert.deepEqual(result.rejectedButStored, [], 'events answered 4xx are never stored');
    assert.deepEqual(result.phantoms.slice(0, 10), [], 'nothing stored that no client was answered for');
    assert.deepEqual(result.doubledSeqs, [], 'no event stored under two ids');
    assert.deepEqual(countDifferences.slice(0, 10), [], `${countDifferences.length} eventCounts buckets differ from the stored items`);
    for (const v of result.verdicts.filter((x) => x.outcome === 'dead-lettered')) assert.ok(v.detail, `dead-lettered ${v.eventId} has a reason`);
    assert.ok(l.ledger.reposted.size > 0, 'some client event_ids were posted twice');
    assert.ok(l.ledger.rejected.size > 0, 'some invalid events were posted');
  });
});

/** Restart order after a full stop: consumers first, so the producer's first events find them. */
function order(name: string): number {
  return name.startsWith('worker') || name.startsWith('processor') ? 0 : name.startsWith('bridge') ? 1 : name === 'producer' ? 2 : 3;
}

function report(rows: FaultRow[], result: AuditResult, ledger: ReturnType<typeof createLoad>['ledger'], countDifferences: string[]): string {
  const byPhase = (fault: string, outcome: string) =>
    result.verdicts.filter((v) => (v.phase === fault || v.phase === `after ${fault}`) && v.outcome === outcome).length;
  const accepted = (fault: string) => result.verdicts.filter((v) => v.phase === fault).length;
  const lines = [
    '| profile | fault | events accepted while it lasted | in flight when it hit | lost | doubled | dead-lettered | time to recover |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${PROFILE} | ${r.fault} | ${accepted(r.fault)} | ${r.inFlight} | ${byPhase(r.fault, 'lost')} | ${byPhase(r.fault, 'doubled')} | ${byPhase(r.fault, 'dead-lettered')} | ${r.recoverSeconds.toFixed(1)} s |`,
    ),
    '',
    `Total: ${ledger.accepted.size} events accepted (${ledger.reposted.size} client event_ids posted twice), ` +
      `${result.verdicts.filter((v) => v.outcome === 'stored').length} stored exactly once, ` +
      `${result.verdicts.filter((v) => v.outcome === 'lost').length} lost, ` +
      `${result.verdicts.filter((v) => v.outcome === 'doubled').length + result.doubledSeqs.length} doubled, ` +
      `${result.deadLettered} dead-lettered, ${ledger.rejected.size} rejected (4xx) and none of them stored; ` +
      `${result.items} items, ${result.objects} objects; ${ledger.unknown.size} posts with an unknown outcome. ` +
      `Answers: ${[...ledger.statuses.entries()].map(([s, n]) => `${s} × ${n}`).join(', ')}. ` +
      `eventCounts against the items (every interval; each type; sampled users and type-user pairs): ${countDifferences.length} buckets differ.`,
  ];
  return lines.join('\n');
}
