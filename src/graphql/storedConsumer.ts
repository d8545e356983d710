/**
 * Feeds a GraphQL process's live subscribers from the stored topic (KAFKA_STORED_TOPIC).
 *
 * Every GraphQL instance must see every stored event, so each one reads the topic in a consumer
 * group of its own (unique per process: host, pid and a random part), from the latest offset: a
 * subscriber gets events stored after it subscribed, never history (that is what the queries
 * are for). Nothing is committed, and the group is deleted on shutdown; a group left behind by a
 * crash holds no offsets and Kafka forgets it.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { pastRetention, timeId } from '../store/hot/layout';
import type { EventEnvelope } from '../events/event';
import { superviseConsumer } from '../platform/kafka/retryLoop';
import { isCountsOnly, parseStoredNotice } from '../platform/kafka/storedNotice';
import { encodeCursor, type EventRecord } from '../store/hot/reader';
import type { LiveFeed } from './liveFeed';
import { CONSUMER_SESSION } from '../platform/kafka/client';

/** The GraphQL shape of a stored event, the same as the queries return for it. */
export function eventRecord(event: EventEnvelope): EventRecord {
  return {
    eventId: event.event_id,
    eventType: event.event_type,
    userId: event.user_id,
    timestamp: event.timestamp,
    receivedAt: event.received_at,
    payload: event.payload,
    cursor: encodeCursor(timeId(event.timestamp, event.event_id)),
  };
}

/**
 * Whether the queries would serve this event: with HOT_RETENTION_DAYS set they never return one
 * older than the retention, so neither do subscriptions (a late event, stored but already past it).
 */
export function withinRetention(event: Pick<EventEnvelope, 'timestamp'>, retentionDays: number, nowMs: number): boolean {
  return !pastRetention(event.timestamp, retentionDays, nowMs);
}

/** `<base>-graphql-<host>-<pid>-<random>`: unique per process, and recognisable in group listings. */
export function liveGroupId(base: string): string {
  const host = hostname()
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .slice(0, 64);
  return `${base}-graphql-${host}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

export interface StoredConsumer {
  readonly groupId: string;
  /** True once the consumer fetches from its partitions: events stored from then on reach subscribers. */
  readonly ready: boolean;
  /** Connects and reads; retried with backoff (Kafka down at startup) until it works or stop(). */
  start(): Promise<void>;
  /** Leaves and deletes the group. */
  stop(): Promise<void>;
}

export function createStoredConsumer(deps: {
  kafka: Pick<Kafka, 'consumer' | 'admin'>;
  topic: string;
  groupBase: string;
  feed: LiveFeed;
  logger: Logger;
  /** HOT_RETENTION_DAYS, as the reader applies it; 0 or absent = no limit. */
  retentionDays?: number;
}): StoredConsumer {
  const groupId = liveGroupId(deps.groupBase);
  const consumer = deps.kafka.consumer({ groupId, ...CONSUMER_SESSION, allowAutoTopicCreation: false });
  let ready = false;
  let started = false;
  // A crash kafkajs will not restart (a non-retriable error) is restarted here, as the bridge's
  // and the counter's are: without it, live subscriptions would stop for good.
  const supervisor = superviseConsumer({
    consumer,
    attempt: run,
    onFailure: (err, retryInMs) => deps.logger.error({ err, retryInMs }, 'live subscriptions unavailable: cannot read the stored topic'),
    onCrash: (error, restartInMs) => {
      ready = false;
      deps.logger.error({ err: error, kafkajsRestarts: restartInMs === undefined, restartInMs }, 'live subscriptions: stored-topic consumer crashed');
    },
  });
  // The first fetch comes after the group assigned the partitions and their starting offsets
  // were resolved (the latest ones: nothing is committed), so from here nothing new is missed.
  consumer.on(consumer.events.FETCH, () => {
    // A last fetch during disconnect must not report ready.
    if (supervisor.stopped) return;
    if (!ready) deps.logger.info({ groupId, topic: deps.topic }, 'live subscriptions: reading stored events');
    ready = true;
  });
  return {
    groupId,
    get ready() {
      return ready;
    },
    async start() {
      started = true;
      await supervisor.start();
    },
    async stop() {
      ready = false;
      if (!started) return;
      await supervisor.stop();
      const admin = deps.kafka.admin();
      try {
        await admin.connect();
        await admin.deleteGroups([groupId]);
      } catch (err) {
        deps.logger.warn({ err, groupId }, 'live subscriptions: could not delete the consumer group (Kafka removes empty groups itself)');
      } finally {
        await admin.disconnect();
      }
    },
  };

  async function run(): Promise<void> {
    await consumer.connect();
    await consumer.subscribe({ topic: deps.topic, fromBeginning: false });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ message }) => {
        if (isCountsOnly(message.headers)) return; // an old event re-announced for counting, not news
        // With no subscription open (most of the time, on most instances), reading and validating
        // every stored event is work nobody asked for: the key is the event id, and that is all
        // de-duplication needs.
        if (deps.feed.count() === 0 && message.key) {
          deps.feed.seen(message.key.toString());
          return;
        }
        const event = parseStoredNotice(message.value);
        if (!event) {
          deps.logger.warn({ topic: deps.topic, offset: message.offset }, 'live subscriptions: skipped a record that is not a stored event');
          return;
        }
        if (withinRetention(event, deps.retentionDays ?? 0, Date.now())) deps.feed.publish(eventRecord(event));
      },
    });
  }
}
