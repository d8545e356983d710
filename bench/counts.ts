/**
 * What exact counts cost and give, on the real platform (2 processors, as npm start runs it):
 *  - the durable path with counting on (the default) against EVENT_COUNTS=false, same events, same run;
 *  - how long after the last event is Completed the counts have every event (the counter's lag);
 *  - eventCounts latency for a day of hourly and of minute buckets, over the type that holds all
 *    the events and over one holding a handful, against `{ __typename }` on the same server: the
 *    read costs the buckets, not the events they count.
 */
import { graphql, countsCaughtUp, countedEvents } from '../test/support/clients';
import { startPlatform, type Platform } from '../test/support/platform';
import { completedQuery, pct, post, waitForCount } from './pipeline';

const BATCH = 100;

async function postAll(p: Platform, n: number, eventType: string): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < n; i += BATCH) {
    const events = Array.from({ length: Math.min(BATCH, n - i) }, (_, j) => ({ event_type: eventType, user_id: `u${(i + j) % 64}`, payload: { i: i + j } }));
    await post(p, '/events/batch', { events });
  }
  await waitForCount(p.temporal, completedQuery(p), n + 20, 900_000);
  return performance.now() - started;
}

async function latency(p: Platform, query: string, requests: number): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  for (let i = 0; i < requests; i++) {
    const t0 = performance.now();
    const out = await graphql(p, query);
    if (out.errors) throw new Error(JSON.stringify(out.errors));
    times.push(performance.now() - t0);
  }
  return { p50: pct(times, 50), p99: pct(times, 99) };
}

async function round(counting: boolean, n: number, requests: number) {
  // Reads unthrottled: the bench measures the server, not the per-client rate limit.
  const p = await startPlatform({ processors: 2, env: { EVENT_COUNTS: String(counting), RATE_LIMIT_READ_PER_SECOND: '0' } });
  try {
    await post(p, '/events/batch', { events: Array.from({ length: 20 }, (_, i) => ({ event_type: 'bench-small', user_id: `w${i}`, payload: { i } })) });
    await waitForCount(p.temporal, completedQuery(p), 20, 120_000);
    const elapsed = await postAll(p, n, 'bench');
    const rate = n / (elapsed / 1000);
    if (!counting) return { rate };
    const t0 = performance.now();
    await countsCaughtUp(p);
    const catchUpMs = performance.now() - t0;
    const day = new Date().toISOString().slice(0, 10);
    const from = `${day}T00:00:00Z`;
    const to = new Date(Date.parse(from) + 86_400_000).toISOString();
    const counted = await countedEvents(p, 'eventType: "bench"', from, to);
    if (counted !== n) throw new Error(`eventCounts has ${counted} of ${n} events`);
    const q = (type: string, interval: string) => `{ eventCounts(eventType: "${type}", from: "${from}", to: "${to}", interval: ${interval}) { start count } }`;
    return {
      rate,
      catchUpMs,
      baseline: await latency(p, '{ __typename }', requests),
      hourlyAll: await latency(p, q('bench', 'HOUR'), requests),
      hourlySmall: await latency(p, q('bench-small', 'HOUR'), requests),
      minutesAll: await latency(p, q('bench', 'MINUTE'), requests),
    };
  } finally {
    await p.stop();
  }
}

export async function benchCounts({ quick }: { quick: boolean }): Promise<void> {
  const n = Number(process.env.BENCH_COUNTS_EVENTS ?? (quick ? 400 : 1500));
  const requests = quick ? 100 : 300;
  console.log(`\ncounts: ${n} events of one type over 64 users in batches of ${BATCH}, 2 processors; eventCounts read ${requests} times each\n`);
  const off = await round(false, n, requests);
  const on = await round(true, n, requests);
  const ms = (x: { p50: number; p99: number }) => `p50 ${x.p50.toFixed(1)} ms, p99 ${x.p99.toFixed(1)} ms`;
  console.log(`durable path, EVENT_COUNTS=false (baseline)    ${off.rate.toFixed(1)} events/s`);
  console.log(`durable path, counting on (default)            ${on.rate.toFixed(1)} events/s  x${(on.rate / off.rate).toFixed(2)} of the baseline`);
  console.log(`counts complete after the last Completed run   ${on.catchUpMs!.toFixed(0)} ms`);
  console.log(`{ __typename } (baseline)                      ${ms(on.baseline!)}`);
  console.log(`a day hourly, type with ${n} events            ${ms(on.hourlyAll!)}`);
  console.log(`a day hourly, type with 20 events              ${ms(on.hourlySmall!)}`);
  console.log(`a day of minutes (1 440 buckets), ${n} events  ${ms(on.minutesAll!)}`);
}
