/**
 * The producer against a bare Express handler, both driven by autocannon from its own process at
 * the same concurrency: the baseline parses the JSON and answers 202; the producer validates,
 * stamps, encodes and waits for Kafka's acks=all (real local broker, private topic deleted
 * afterwards). Single events (POST /events) and batches of 100 (POST /events/batch, reported in
 * events/s). The per-client rate limit is off here: one load generator is one client.
 */
import { createKafka } from '../src/platform/kafka/client';
import { createLogger } from '../src/platform/logger';
import { provisionKafka } from '../src/platform/kafka/topics';
import { configFor, isolatedEnv } from '../test/support/platform';
import { reservePort } from '../test/support/ports';
import { autocannon, median, startServer, type LoadResult } from './load';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const BATCH = 100;

const single = JSON.stringify({ event_type: 'page_view', user_id: '123', payload: { page: '/home', referrer: 'google.com' } });
const batch = JSON.stringify({
  events: Array.from({ length: BATCH }, (_, i) => ({ event_type: 'page_view', user_id: `u${i % 16}`, payload: { page: `/p/${i}`, referrer: 'google.com' } })),
});

export interface ProducerFigures {
  rows: { name: string; result: LoadResult; eventsPerRequest: number; baseline: LoadResult }[];
}

export async function benchProducer({ quick }: { quick: boolean }): Promise<ProducerFigures> {
  const seconds = Number(process.env.BENCH_HTTP_SECONDS ?? (quick ? 3 : 5));
  const rounds = quick ? 1 : 3;
  // autocannon keeps its connections open past HTTP_MAX_REQUESTS_PER_SOCKET (Node then answers 503).
  const env = await isolatedEnv({ LOG_LEVEL: 'error', RATE_LIMIT_WRITE_PER_SECOND: '0', HTTP_MAX_REQUESTS_PER_SOCKET: '0' });
  const config = configFor(env);
  const logger = createLogger(config, 'bench');
  await provisionKafka(config, { logger, deadlineMs: 60_000 });
  const bareUrl = `http://127.0.0.1:${await reservePort()}`;
  const producerUrl = `http://127.0.0.1:${config.http.producerPort}`;
  const answers = async (url: string) => (await fetch(url)).status > 0;
  const load = async (url: string, body: string) => {
    const runs: LoadResult[] = [];
    for (let i = 0; i < rounds; i++)
      runs.push(await autocannon({ url, connections: CONNECTIONS, seconds, method: 'POST', body, headers: { 'content-type': 'application/json' } }));
    // At saturation the producer refuses with 503 + Retry-After (admission, Kafka too slow):
    // counted and shown, not a failure of the bench; only 2xx answers count as throughput.
    const failures = runs.reduce((sum, r) => sum + r.failures, 0);
    return { rps: median(runs.map((r) => r.rps)), p50: median(runs.map((r) => r.p50)), p99: median(runs.map((r) => r.p99)), failures };
  };
  console.log(`\nproducer: autocannon, ${CONNECTIONS} connections, ${seconds} s x ${rounds} round(s) each (median), acks=all on the real broker\n`);
  const bare = await startServer('bench/servers/bareExpress.ts', { PORT: new URL(bareUrl).port }, () => answers(bareUrl));
  let bareSingle: LoadResult;
  let bareBatch: LoadResult;
  try {
    await load(`${bareUrl}/events`, single); // warm-up
    bareSingle = await load(`${bareUrl}/events`, single);
    bareBatch = await load(`${bareUrl}/events/batch`, batch);
  } finally {
    await bare.stop();
  }
  const figures: ProducerFigures = { rows: [] };
  const layouts: [string, Record<string, string>][] = [['producer', {}]];
  if (!quick) layouts.push(['producer, one Kafka produce per request', { PRODUCER_LINGER_MS: '0', PRODUCER_MAX_BATCH_RECORDS: '1' }]);
  for (const [name, extra] of layouts) {
    const producer = await startServer('src/producer/server.ts', { ...env, ...extra }, async () => (await fetch(`${producerUrl}/ready`)).ok);
    try {
      await load(`${producerUrl}/events`, single); // warm-up: JIT, connections, topic metadata
      figures.rows.push({ name: `${name}, POST /events`, result: await load(`${producerUrl}/events`, single), eventsPerRequest: 1, baseline: bareSingle });
      figures.rows.push({
        name: `${name}, POST /events/batch (${BATCH})`,
        result: await load(`${producerUrl}/events/batch`, batch),
        eventsPerRequest: BATCH,
        baseline: bareBatch,
      });
    } finally {
      await producer.stop();
    }
  }
  const admin = createKafka(config.kafka, logger, '-bench').admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [config.kafka.topic, config.kafka.dlqTopic] }).catch(() => undefined);
  await admin.disconnect();

  const line = (name: string, r: LoadResult, perRequest: number, base?: LoadResult) =>
    console.log(
      `${name.padEnd(52)} ${r.rps.toFixed(0).padStart(6)} req/s ${(r.rps * perRequest).toFixed(0).padStart(7)} events/s  p50 ${String(r.p50).padStart(4)} ms  p99 ${String(r.p99).padStart(4)} ms${base ? `  x${(r.rps / base.rps).toFixed(2)} of bare Express` : '  (baseline)'}${r.failures > 0 ? `  (${r.failures} refused or failed)` : ''}`,
    );
  line('bare Express, POST /events', bareSingle, 1);
  line(`bare Express, POST /events/batch (${BATCH})`, bareBatch, BATCH);
  for (const row of figures.rows) line(row.name, row.result, row.eventsPerRequest, row.baseline);
  return figures;
}
