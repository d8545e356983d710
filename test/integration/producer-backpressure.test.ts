/**
 * The producer under a frozen Kafka broker. The broker process is stopped with SIGSTOP (its
 * sockets stay open, so every send hangs rather than failing) while 64 clients post 100 KB
 * batches for 60 s. kafkajs keeps retrying the sends it was given and holds their buffers, so
 * without admission control the producer's memory grows with every request. Checked here:
 * - the producer's RSS (sampled from /proc) stays under RSS_BOUND_MB (stated in the README); its
 *   timeline every 5 s is printed, and levels off once the in-flight caps are reached (a broker
 *   that stops reading no longer collects a copy of each retried request in the socket buffer:
 *   src/platform/kafka/stuckConnectionFix.ts);
 * - every request gets an answer: 202 or 503 with Retry-After, never a hang; once the in-flight
 *   caps are reached the 503s are immediate refusals, counted in /metrics;
 * - the in-flight gauge never exceeds its cap;
 * - after SIGCONT (always sent, in `finally`) the producer recovers on its own: a post gets 202.
 * Needs the stack and the stack lock (it freezes the shared broker; every broker of the cluster profile).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { startPlatform, type Platform } from '../support/platform';
import { stackLayout } from '../support/stack';
import { waitFor } from '../support/wait';
import { HANG_TIMEOUT_MS } from '../support/timeouts';

const FREEZE_MS = 60_000;
const CLIENTS = 64;
/** Each client starts at most one request per this interval (a paced load, not a CPU spin). */
const CLIENT_INTERVAL_MS = 500;
const EVENTS_PER_BATCH = 50;
const PRODUCE_TIMEOUT_MS = 5_000;
/** The bound the README states for the default in-flight caps (16 MiB, 10 000 records). */
const RSS_BOUND_MB = 400;

/** The broker processes of this profile's stack: `kafka`, or every `kafka-N` with STACK_PROFILE=cluster. */
const kafkaPids = (): number[] => {
  const { dir, brokers } = stackLayout();
  return brokers.map((b) => Number(readFileSync(join(dir, 'pids', `${b.service}.pid`), 'utf8').trim()));
};
const rssMb = (pid: number): number => {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(match?.[1], 'VmRSS in /proc/<pid>/status');
  return Number(match[1]) / 1024;
};

let p: Platform;
let url: string;

before(async () => {
  p = await startPlatform({ bridges: 0, workers: 0, graphqls: 0, env: { LOG_LEVEL: 'warn', KAFKA_PRODUCE_TIMEOUT_MS: String(PRODUCE_TIMEOUT_MS) } });
  url = p.producerUrl;
  await waitFor('producer /ready', async () => (await fetch(`${url}/ready`)).ok, { timeoutMs: 60_000 });
});

after(async () => {
  await p?.stop();
});

function batch(client: number, n: number): string {
  const filler = 'x'.repeat(1_900);
  return JSON.stringify({
    events: Array.from({ length: EVENTS_PER_BATCH }, (_, i) => ({ event_type: 'load', user_id: `c${client}`, payload: { n, i, filler } })),
  });
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  const match = new RegExp(`^producer_${name} (\\S+)$`, 'm').exec(text);
  assert.ok(match?.[1], `producer_${name} in /metrics`);
  return Number(match[1]);
}

it(`Kafka frozen for ${FREEZE_MS / 1000} s under ${CLIENTS} clients: bounded memory, immediate 503s, recovery`, { timeout: HANG_TIMEOUT_MS }, async (t) => {
  const post = (body: string) =>
    fetch(`${url}/events/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(PRODUCE_TIMEOUT_MS + 15_000),
    });
  const warm = await post(batch(0, 0));
  assert.equal(warm.status, 202, await warm.text());

  const statuses = new Map<string, number>();
  const count = (key: string) => statuses.set(key, (statuses.get(key) ?? 0) + 1);
  const problems: string[] = [];
  let maxRss = rssMb(p.child('producer').pid!);
  let maxInflightBytes = 0;
  const rssBefore = maxRss;
  const timeline: number[] = [];
  const overloadedBefore = await metric('requests_overloaded_total');

  const pids = kafkaPids();
  for (const pid of pids) process.kill(pid, 'SIGSTOP');
  // Cleared in `finally`: a sampler left running after a failure would keep the test process alive.
  let sampler: NodeJS.Timeout | undefined;
  try {
    const end = Date.now() + FREEZE_MS;
    sampler = setInterval(() => {
      const rss = rssMb(p.child('producer').pid!);
      maxRss = Math.max(maxRss, rss);
      timeline.push(rss);
    }, 250);
    const gauge = (async () => {
      while (Date.now() < end) {
        maxInflightBytes = Math.max(maxInflightBytes, await metric('inflight_bytes'));
        await new Promise((r) => setTimeout(r, 1_000));
      }
    })();
    // The gauge with the clients: its failure (no answer from /metrics) ends the freeze at once.
    const clients = Promise.all(
      Array.from({ length: CLIENTS }, async (_, client) => {
        for (let n = 1; Date.now() < end; n++) {
          const started = Date.now();
          try {
            const res = await post(batch(client, n));
            const body = (await res.json()) as { error?: string };
            if (res.status === 503) {
              if (!res.headers.get('retry-after')) problems.push('503 without Retry-After');
              count(/capacity/.test(body.error ?? '') ? '503 at capacity' : '503 not acknowledged');
            } else {
              count(String(res.status));
              if (res.status !== 202) problems.push(`${res.status}: ${JSON.stringify(body).slice(0, 200)}`);
            }
          } catch (err) {
            problems.push(`no answer: ${(err as Error).message}`);
          }
          const wait = CLIENT_INTERVAL_MS - (Date.now() - started);
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        }
      }),
    );
    await Promise.all([gauge, clients]);
  } finally {
    clearInterval(sampler);
    for (const pid of pids) process.kill(pid, 'SIGCONT');
  }

  t.diagnostic(
    `producer RSS ${rssBefore.toFixed(0)} MB before, ${maxRss.toFixed(0)} MB at most while frozen; in-flight bytes at most ${maxInflightBytes}; answers ${JSON.stringify([...statuses])}`,
  );
  t.diagnostic(
    `RSS every 5 s: ${timeline
      .filter((_, i) => i % 20 === 0)
      .map((v) => v.toFixed(0))
      .join(' ')}`,
  );
  assert.deepEqual(problems.slice(0, 5), [], `${problems.length} requests went wrong`);
  assert.ok(maxRss < RSS_BOUND_MB, `producer RSS reached ${maxRss.toFixed(0)} MB (bound ${RSS_BOUND_MB} MB)`);
  assert.ok(maxInflightBytes <= p.config.kafka.maxInflightBytes, `in-flight bytes ${maxInflightBytes} over the cap ${p.config.kafka.maxInflightBytes}`);
  assert.ok((statuses.get('503 at capacity') ?? 0) > 0, 'requests beyond the cap were refused at once');
  assert.ok((statuses.get('503 at capacity') ?? 0) > (statuses.get('503 not acknowledged') ?? 0), 'most 503s are immediate refusals, not timeouts');
  assert.equal(await metric('requests_overloaded_total'), overloadedBefore + (statuses.get('503 at capacity') ?? 0), '/metrics counts every refusal');

  // Kafka is back: the producer recovers without a restart.
  await waitFor('a post to be accepted after SIGCONT', async () => (await post(batch(0, -1))).status === 202, { timeoutMs: 120_000, intervalMs: 1_000 });
  assert.equal(p.child('producer').exitCode, null, `producer still running (${p.output('producer').slice(-5).join(' | ')})`);
});
