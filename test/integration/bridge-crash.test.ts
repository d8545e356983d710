/**
 * A consumer crash that kafkajs will not restart (a non-retriable error out of eachBatch: a
 * broker refusing a request for good, an ACL denial, a bug) must not leave the bridge alive and
 * idle. Real Kafka, a private topic and group.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import { KafkaJSNonRetriableError, type EachBatchPayload } from 'kafkajs';
import { pino } from 'pino';
import { BridgeStatus } from '../../src/bridge/status';
import { superviseConsumer } from '../../src/bridge/supervisor';
import { createKafka } from '../../src/kafka/client';
import { configFor, isolatedEnv, quietLogger } from '../support/platform';
import { waitFor } from '../support/wait';

const run = randomBytes(4).toString('hex');
const topic = `bridge-crash-test-${run}`;
const groupId = `bridge-crash-test-${run}`;

let kafka: ReturnType<typeof createKafka>;

before(async () => {
  kafka = createKafka(configFor(await isolatedEnv()).kafka, quietLogger, '-test');
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  await admin.disconnect();
});

after(async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteGroups([groupId]).catch(() => undefined);
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
});

it('a consumer crashed by a non-retriable error is restarted, consumes everything, and the crash shows in status', { timeout: 120_000 }, async () => {
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: ['a', 'b', 'c'].map((value) => ({ value })) });

  const consumed: string[] = [];
  let failuresLeft = 1;
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
  const status = new BridgeStatus();
  const supervisor = superviseConsumer({
    consumer,
    status,
    logger: pino({ level: 'silent' }),
    restartDelayMs: 200,
    runConfig: {
      eachBatchAutoResolve: false,
      eachBatch: async (payload: EachBatchPayload) => {
        if (failuresLeft-- > 0) throw new KafkaJSNonRetriableError('the DLQ refused the record for good');
        for (const m of payload.batch.messages) {
          consumed.push(m.value!.toString());
          payload.resolveOffset(m.offset);
        }
        await payload.commitOffsetsIfNecessary();
      },
    },
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await supervisor.run();
    await waitFor('every record consumed after the crash', () => consumed.length === 3 && consumed, { timeoutMs: 60_000 });
    assert.deepEqual(consumed, ['a', 'b', 'c']);
    await waitFor('the consumer running again', () => status.consumerState() === 'running');
    assert.equal(status.stats.consumerCrashes, 1);
    assert.equal(status.stats.consumerRestarts, 1);
    assert.match(status.readiness().lastCrash?.error ?? '', /refused the record for good/);
    assert.match(await status.text(), /^bridge_consumer_crashes_total 1$/m);
  } finally {
    await supervisor.stop();
    await producer.disconnect();
  }
});
