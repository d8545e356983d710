/**
 * A consumer crash that kafkajs will not restart (a non-retriable error out of a handler: a
 * broker refusing a request for good, an ACL denial, a bug) must not leave a consumer alive and
 * idle. The bridge, the counter and GraphQL's live feed share one restart (src/platform/kafka/retryLoop.ts);
 * each is crashed once here, on real Kafka with a private topic and group, and must consume again.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { KafkaJSNonRetriableError, type Consumer, type ConsumerConfig, type ConsumerRunConfig, type Kafka } from 'kafkajs';
import { pino } from 'pino';
import { createBridge } from '../../src/bridge/consumer';
import { createCountsConsumer } from '../../src/store/counts/consumer';
import type { EventCounter, StoredNotice } from '../../src/store/counts/counter';
import { serializeEnvelope, type EventEnvelope } from '../../src/events/event';
import type { EventRecord } from '../../src/store/hot/reader';
import type { LiveFeed } from '../../src/graphql/liveFeed';
import { createStoredConsumer } from '../../src/graphql/storedConsumer';
import { createKafka } from '../../src/platform/kafka/client';
import { makeEnvelope } from '../support/events';
import { configFor, isolatedEnv, quietLogger } from '../support/platform';
import { waitFor } from '../support/wait';
import { HANG_TIMEOUT_MS } from '../support/timeouts';

const run = randomBytes(4).toString('hex');
const topics = { bridge: `crash-bridge-${run}`, counts: `crash-counts-${run}`, live: `crash-live-${run}` };
const groups: string[] = [];
let kafka: Kafka;

/** The consumer `make` builds, whose handler throws a non-retriable error the first time it runs. */
function crashingOnce(real: Kafka): Pick<Kafka, 'consumer' | 'admin'> & { crashes: number } {
  const box = {
    crashes: 0,
    admin: () => real.admin(),
    consumer: (config: ConsumerConfig): Consumer => {
      groups.push(config.groupId);
      const consumer = real.consumer(config);
      const runReal = consumer.run.bind(consumer);
      const crash = () => {
        if (box.crashes++ === 0) throw new KafkaJSNonRetriableError('the broker refused the request for good');
      };
      return Object.assign(consumer, {
        run: (c: ConsumerRunConfig) =>
          runReal({
            ...c,
            ...(c.eachBatch ? { eachBatch: async (p) => (crash(), c.eachBatch!(p)) } : {}),
            ...(c.eachMessage ? { eachMessage: async (p) => (crash(), c.eachMessage!(p)) } : {}),
          } as ConsumerRunConfig),
      });
    },
  };
  return box;
}

async function produce(topic: string, events: EventEnvelope[]): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, acks: -1, messages: events.map((e) => ({ key: e.event_id, value: serializeEnvelope(e) })) });
  await producer.disconnect();
}

before(async () => {
  kafka = createKafka(configFor(await isolatedEnv()).kafka, quietLogger, '-test');
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: Object.values(topics).map((topic) => ({ topic, numPartitions: 1 })), waitForLeaders: true });
  await admin.disconnect();
});

after(async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteGroups(groups).catch(() => undefined);
  await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
  await admin.disconnect();
});

describe('a consumer crashed by a non-retriable error is restarted', { timeout: HANG_TIMEOUT_MS }, () => {
  it('the bridge: consumes everything after the crash, and /ready and the metrics show it', async () => {
    const events = [makeEnvelope(), makeEnvelope(), makeEnvelope()];
    await produce(topics.bridge, events);
    const k = crashingOnce(kafka);
    const started: string[] = [];
    const bridge = createBridge({
      consumer: k.consumer({ groupId: `crash-bridge-${run}`, sessionTimeout: 10_000, heartbeatInterval: 1_000 }),
      dlqProducer: { send: async () => [] },
      startProcessEvent: async (e) => (started.push(e.event_id), 'started'),
      topic: topics.bridge,
      dlqTopic: `unused-${run}`,
      concurrency: 8,
      logger: pino({ level: 'silent' }),
      restartDelayMs: 200,
    });
    try {
      await bridge.run();
      await waitFor('every record started after the crash', () => started.length === 3, { timeoutMs: 60_000 });
      assert.deepEqual(
        started,
        events.map((e) => e.event_id),
      );
      assert.equal(k.crashes > 0, true);
      await waitFor('the consumer running again', () => bridge.status.consumerState() === 'running');
      assert.equal(bridge.status.stats.consumerCrashes, 1);
      assert.equal(bridge.status.stats.consumerRestarts, 1);
      assert.equal(bridge.status.readiness().lastCrash?.type, 'KafkaJSNonRetriableError');
      assert.match(await bridge.status.text(), /^bridge_consumer_crashes_total 1$/m);
    } finally {
      await bridge.stop();
    }
  });

  it('the counter: counts what was announced before and after the crash', async () => {
    const first = makeEnvelope();
    await produce(topics.counts, [first]);
    const applied: string[] = [];
    const counter = { apply: async (_: number, notices: readonly StoredNotice[]) => void applied.push(...notices.map((n) => n.event.event_id)) };
    const counts = createCountsConsumer({
      kafka: crashingOnce(kafka),
      topic: topics.counts,
      consumerGroup: `crash-${run}`,
      counter: counter as unknown as EventCounter,
      logger: pino({ level: 'silent' }),
    });
    try {
      await counts.start();
      await waitFor('the announcement from before the crash counted', () => applied.includes(first.event_id), { timeoutMs: 60_000 });
      const later = makeEnvelope();
      await produce(topics.counts, [later]);
      await waitFor('an announcement after the crash counted', () => applied.includes(later.event_id), { timeoutMs: 60_000 });
    } finally {
      await counts.stop();
    }
  });

  it('the live feed: subscribers get events again after the crash, and the feed says ready', async () => {
    const published: string[] = [];
    // One subscriber open: the consumer reads and publishes each event (with none, it only notes the id).
    const feed = { publish: (e: EventRecord) => (published.push(e.eventId), true), count: () => 1, seen: () => undefined } as unknown as LiveFeed;
    const lines: { msg: string }[] = [];
    const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as { msg: string }) });
    const live = createStoredConsumer({ kafka: crashingOnce(kafka), topic: topics.live, groupBase: `crash-${run}`, feed, logger });
    try {
      void live.start();
      await waitFor('the live feed reading', () => live.ready, { timeoutMs: 60_000 });
      // The first announcement crashes the consumer (and is missed: the feed starts at the latest offset).
      await produce(topics.live, [makeEnvelope()]);
      await waitFor('the crash', () => lines.some((l) => l.msg.includes('stored-topic consumer crashed')), { timeoutMs: 60_000 });
      await waitFor('the live feed reading again', () => live.ready, { timeoutMs: 60_000 });
      const after = makeEnvelope();
      await produce(topics.live, [after]);
      await waitFor('an event stored after the crash reaches the feed', () => published.includes(after.event_id), { timeoutMs: 60_000 });
    } finally {
      await live.stop();
    }
  });
});
