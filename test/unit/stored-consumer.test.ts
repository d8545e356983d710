/**
 * The live feed's reader of the stored topic, over a fake kafkajs consumer: what it does with a
 * stored event when no subscription is open (remember the id, read nothing else) and when one is.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EachMessagePayload, Kafka } from 'kafkajs';
import pino from 'pino';
import { serializeEnvelope } from '../../src/events/event';
import { createLiveFeed } from '../../src/graphql/liveFeed';
import { createStoredConsumer } from '../../src/graphql/storedConsumer';
import { makeEnvelope } from '../support/events';

function fakeKafka() {
  let eachMessage: ((p: EachMessagePayload) => Promise<void>) | undefined;
  const consumer = {
    events: { CRASH: 'consumer.crash', FETCH: 'consumer.fetch' },
    on: () => () => undefined,
    connect: async () => undefined,
    subscribe: async () => undefined,
    run: async (c: { eachMessage: (p: EachMessagePayload) => Promise<void> }) => {
      eachMessage = c.eachMessage;
    },
    disconnect: async () => undefined,
  };
  const admin = { connect: async () => undefined, deleteGroups: async () => undefined, disconnect: async () => undefined };
  return {
    kafka: { consumer: () => consumer, admin: () => admin } as unknown as Pick<Kafka, 'consumer' | 'admin'>,
    /** Delivers one stored notice; returns how many times its value was read. */
    async deliver(event: ReturnType<typeof makeEnvelope>): Promise<number> {
      const value = Buffer.from(serializeEnvelope(event));
      let reads = 0;
      const read = value.toString.bind(value);
      value.toString = ((...args: Parameters<Buffer['toString']>) => (reads++, read(...args))) as Buffer['toString'];
      assert.ok(eachMessage, 'the consumer runs');
      await eachMessage({
        topic: 't',
        partition: 0,
        heartbeat: async () => undefined,
        pause: () => () => undefined,
        message: { key: Buffer.from(event.event_id), value, offset: '0', timestamp: '0', attributes: 0, headers: {} },
      } as unknown as EachMessagePayload);
      return reads;
    },
  };
}

async function setup() {
  const received: string[] = [];
  const feed = createLiveFeed({ queueSize: 10, maxPerPrincipal: 5, observer: { received: (o) => received.push(o), cutOff: () => undefined } });
  const fake = fakeKafka();
  const stored = createStoredConsumer({ kafka: fake.kafka, topic: 't', groupBase: 'g', feed, logger: pino({ level: 'silent' }) });
  await stored.start();
  return { feed, fake, received, stored };
}

describe('stored-topic reader of the live feed', () => {
  it('with no subscription open, reads only the key of a stored event, not its value', async () => {
    const { fake, received, stored } = await setup();
    try {
      assert.equal(await fake.deliver(makeEnvelope()), 0);
      assert.deepEqual(received, ['new'], 'still counted as received');
    } finally {
      await stored.stop();
    }
  });

  it('a repeat of an event announced while nobody listened is dropped once someone does; a new one is delivered', async () => {
    const { feed, fake, received, stored } = await setup();
    try {
      const before = makeEnvelope();
      await fake.deliver(before);
      const sub = feed.subscribe('key:a', {});
      assert.ok((await fake.deliver(before)) > 0, 'read now that someone listens');
      const next = makeEnvelope();
      await fake.deliver(next);
      const first = await sub.next();
      assert.equal(first.value?.eventId, next.event_id);
      assert.deepEqual(received, ['new', 'repeat', 'new']);
      sub.close();
    } finally {
      await stored.stop();
    }
  });
});
