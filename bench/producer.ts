/**
 * Producer throughput against the real local Kafka.
 *
 * Baseline: every request is its own Kafka produce request (linger 0, batch of 1), which is
 * what kafkajs does without the batching module. Candidate: the default coalescing (linger
 * PRODUCER_LINGER_MS, up to PRODUCER_MAX_BATCH_RECORDS). Both run in this process on the same
 * machine, one after the other, on a private topic that is deleted afterwards; figures are
 * reported as ratios against the baseline.
 */
import { Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import { loadConfig } from '../src/config';
import { createBatchingProducer } from '../src/kafka/batcher';
import { createKafka, createProducer } from '../src/kafka/client';
import { createLogger } from '../src/logger';
import { createProducerApp } from '../src/producer/app';
import { ProducerMetrics } from '../src/producer/metrics';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 4000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

const config = loadConfig({ ...process.env, KAFKA_TOPIC: `bench-${randomBytes(4).toString('hex')}`, LOG_LEVEL: 'error', ENVIRONMENT: 'development' });
const logger = createLogger(config, 'bench');
const kafka = createKafka(config.kafka, logger, '-bench');
const body = JSON.stringify({ event_type: 'page_view', user_id: '123', payload: { page: '/home', referrer: 'google.com' } });

function post(port: number, agent: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = request({ host: '127.0.0.1', port, path: '/events', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 202 ? resolve(Number(process.hrtime.bigint() - started) / 1e6) : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function run(name: string, lingerMs: number, maxBatchRecords: number) {
  const producer = createProducer(kafka);
  await producer.connect();
  const metrics = new ProducerMetrics();
  const batcher = createBatchingProducer(producer, { topic: config.kafka.topic, lingerMs, maxBatchRecords, maxBatchBytes: config.kafka.maxBatchBytes, timeoutMs: 10_000, onFlush: (n, ms) => metrics.recordFlush(n, ms) });
  const app = createProducerApp({ publish: (m) => batcher.send(m), isReady: async () => true, limits: config.limits, newEventId: uuidv7, metrics, logger });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as AddressInfo;
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

  const once = async (n: number) => {
    const latencies: number[] = [];
    let next = 0;
    const t0 = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < n) {
          next++;
          latencies.push(await post(port, agent));
        }
      }),
    );
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    latencies.sort((a, b) => a - b);
    return { rps: n / seconds, p50: latencies[Math.floor(n * 0.5)]!, p99: latencies[Math.floor(n * 0.99)]! };
  };

  await once(500); // warm-up: JIT, connections, topic metadata
  const before = metrics.render().match(/producer_kafka_batches_total (\d+)/)![1];
  const rounds = [];
  for (let i = 0; i < ROUNDS; i++) rounds.push(await once(REQUESTS));
  const after = metrics.render().match(/producer_kafka_batches_total (\d+)/)![1];
  agent.destroy();
  await new Promise((r) => server.close(r));
  await batcher.flush();
  await producer.disconnect();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return {
    name,
    rps: median(rounds.map((r) => r.rps)),
    p50: median(rounds.map((r) => r.p50)),
    p99: median(rounds.map((r) => r.p99)),
    recordsPerProduce: (REQUESTS * ROUNDS) / (Number(after) - Number(before)),
  };
}

export async function benchProducer(): Promise<void> {
  const admin = kafka.admin();
  await admin.connect().catch(() => {
    throw new Error('Kafka is not reachable: start the stack first (npm run stack:up)');
  });
  await admin.createTopics({ topics: [{ topic: config.kafka.topic, numPartitions: 4 }], waitForLeaders: true });
  try {
    console.log(`producer: ${REQUESTS} requests x ${ROUNDS} rounds, ${CONCURRENCY} concurrent, acks=all, real Kafka (median of rounds)\n`);
    const baseline = await run('one produce per request (baseline)', 0, 1);
    const batched = await run(`coalesced (linger ${config.kafka.lingerMs} ms, <= ${config.kafka.maxBatchRecords})`, config.kafka.lingerMs, config.kafka.maxBatchRecords);
    const rows = [baseline, batched].map((r) => [
      r.name.padEnd(38),
      `${r.rps.toFixed(0).padStart(6)} req/s`,
      `x${(r.rps / baseline.rps).toFixed(2)}`.padStart(7),
      `p50 ${r.p50.toFixed(1).padStart(6)} ms`,
      `p99 ${r.p99.toFixed(1).padStart(6)} ms`,
      `${r.recordsPerProduce.toFixed(1).padStart(6)} records/produce`,
    ]);
    for (const row of rows) console.log(row.join('  '));
  } finally {
    await admin.deleteTopics({ topics: [config.kafka.topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}

