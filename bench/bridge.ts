/**
 * Bridge throughput: workflow starts per second from records already on Kafka, against the real
 * local Kafka and Temporal. Baseline: one start at a time (BRIDGE_START_CONCURRENCY=1); candidate:
 * the default window of concurrent starts. Each round reads its own fresh topic of new events
 * (new workflow IDs, so no start is answered "already started"); topics, groups and the started
 * workflows are deleted afterwards.
 */
import { randomBytes } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import { createBridge } from '../src/bridge/consumer';
import { createStartProcessEvent } from '../src/bridge/startProcessEvent';
import { loadConfig } from '../src/platform/config';
import { serializeEnvelope, SCHEMA_VERSION, type EventEnvelope } from '../src/events/event';
import { createKafka, createProducer } from '../src/platform/kafka/client';
import { createLogger } from '../src/platform/logger';
import { RAW_TOPIC_PARTITIONS } from '../src/platform/kafka/topics';
import { createTemporalClient } from '../src/platform/temporal/connection';

export async function benchBridge({ quick }: { quick: boolean }): Promise<void> {
  const EVENTS = Number(process.env.BENCH_BRIDGE_EVENTS ?? (quick ? 200 : 1000));
  const run = randomBytes(4).toString('hex');
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'error', ENVIRONMENT: 'development', TEMPORAL_TASK_QUEUE: `bench-${run}` });
  const logger = createLogger(config, 'bench');
  const kafka = createKafka(config.kafka, logger, '-bench');
  const admin = kafka.admin();
  await admin.connect();
  const client = await createTemporalClient(config.temporal);
  const producer = createProducer(kafka);
  const topics: string[] = [];
  const groups: string[] = [];
  const ids: string[] = [];

  async function round(concurrency: number, partitionConcurrency: number): Promise<number> {
    const topic = `bench-bridge-${run}-${concurrency}-${partitionConcurrency}`;
    const groupId = topic;
    topics.push(topic);
    groups.push(groupId);
    await admin.createTopics({ topics: [{ topic, numPartitions: RAW_TOPIC_PARTITIONS }], waitForLeaders: true });
    const now = new Date().toISOString();
    const messages = Array.from({ length: EVENTS }, (_, i) => {
      const event: EventEnvelope = {
        schema_version: SCHEMA_VERSION,
        event_id: uuidv7(),
        event_type: 'bench',
        user_id: `u${i % 64}`,
        timestamp: now,
        received_at: now,
        payload: { i },
      };
      ids.push(event.event_id);
      return { key: event.user_id, value: serializeEnvelope(event) };
    });
    for (let i = 0; i < messages.length; i += 500) await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 500) });

    const bridge = createBridge({
      consumer: kafka.consumer({ groupId }),
      dlqProducer: producer,
      startProcessEvent: createStartProcessEvent(client, config.temporal, config.retries),
      topic,
      dlqTopic: config.kafka.dlqTopic,
      concurrency,
      partitionConcurrency,
      logger,
    });
    const started = process.hrtime.bigint();
    await bridge.run();
    const deadline = Date.now() + 300_000;
    while (bridge.stats.started < EVENTS) {
      if (Date.now() > deadline) throw new Error(`only ${bridge.stats.started} of ${EVENTS} started in 300 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    await bridge.stop();
    return EVENTS / seconds;
  }

  try {
    console.log(`\nbridge: ${EVENTS} records on 4 partitions, one bridge, real Kafka and Temporal (starts only, no workers)\n`);
    const baseline = await round(1, 1);
    const perPartition = await round(1, 4);
    const candidate = await round(config.bridge.startConcurrency, 4);
    for (const [name, rate] of [
      ['one start at a time (baseline)', baseline],
      ['4 partitions, 1 start each', perPartition],
      [`4 partitions, ${config.bridge.startConcurrency} starts each (default)`, candidate],
    ] as const) {
      console.log(`${name.padEnd(38)}  ${rate.toFixed(0).padStart(6)} starts/s  x${(rate / baseline).toFixed(2)}`);
    }
  } finally {
    for (const workflowId of ids) {
      await client.workflowService.deleteWorkflowExecution({ namespace: config.temporal.namespace, workflowExecution: { workflowId } }).catch(() => undefined);
    }
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.deleteGroups(groups).catch(() => undefined);
    await admin.disconnect();
    await producer.disconnect();
    await client.connection.close();
  }
}
