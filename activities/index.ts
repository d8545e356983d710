/**
 * The side effects of processEvent. `createActivities(deps)` takes its clients from the caller
 * (the worker builds real ones, tests pass fakes), so nothing here reads config or the env.
 */
import { Context } from '@temporalio/activity';
import type { Producer } from 'kafkajs';
import { putEventItem, readEventItem, type HotTable } from '../src/store/hot/writer';
import { pastRetention } from '../src/store/hot/layout';
import { putArchivedEvent, type ArchiveBucket } from '../src/store/archive/writer';
import type { EventEnvelope } from '../src/events/event';
import { parseEnvelope } from '../src/events/validate';
import { publishDeadLetter, type DeadLetterRecord } from '../src/platform/kafka/deadLetter';
import { publishStored } from '../src/platform/kafka/storedNotice';
import type { HotOutcome } from '../workflows/contract';
import { asActivityFailure, InvalidEventError, recordAttempt } from './failure';

export interface ActivityDeps extends HotTable, ArchiveBucket {
  producer: Pick<Producer, 'send'>;
  dlqTopic: string;
  /**
   * Where storeHot announces each stored event (KAFKA_STORED_TOPIC), for GraphQL subscriptions;
   * unset: no announcement (tools and tests that only store).
   */
  storedTopic?: string;
  /** The clock storeHot checks HOT_RETENTION_DAYS against (tests pass their own). */
  now?: () => number;
}

function checked(event: EventEnvelope): EventEnvelope {
  const parsed = parseEnvelope(event);
  if (!parsed.ok) throw new InvalidEventError(parsed.errors.map((e) => `${e.field}: ${e.message}`).join('; '));
  return parsed.value;
}

export function createActivities(deps: ActivityDeps) {
  return {
    /**
     * Conditional put: the first write wins; a redelivered or replayed event is a duplicate, not an
     * error. Then the announcement to live subscribers, on both outcomes: a 'duplicate' may be the
     * retry of an attempt that stored the item and died before announcing it, and announces the
     * stored item, which is not necessarily this input. A failed
     * announcement fails the attempt and Temporal retries it (the put is then a duplicate, which
     * costs one conditional write), so every stored event is announced at least once; Kafka is on
     * the event's path already (the bridge reads it from there), so this adds no new dependency.
     */
    async storeHot(input: EventEnvelope): Promise<HotOutcome> {
      recordAttempt();
      try {
        const event = checked(input);
        // Older than HOT_RETENTION_DAYS when this attempt runs (late on arrival, or it crossed the
        // line while queued): an item no reader serves and the sweep deletes, so none is written
        // and nothing is announced; archiveCold keeps the event.
        if (pastRetention(event.timestamp, deps.hotRetentionDays ?? 0, (deps.now ?? Date.now)())) return 'past-retention';
        const outcome = await putEventItem(deps, event);
        if (deps.storedTopic !== undefined) {
          // A duplicate's item may hold another envelope of this event_id (the first run stored
          // it; a client retry without a timestamp came second): subscribers and the counter must
          // hear of what is stored, never of this input. No item left (expired since): nothing to announce.
          const stored = outcome === 'stored' ? event : await readEventItem(deps, event.event_id);
          if (stored) await publishStored(deps.producer, deps.storedTopic, stored);
        }
        return outcome;
      } catch (err) {
        throw asActivityFailure(err);
      }
    },

    /** The event's archive object (src/store/archive/writer.ts); every retry writes the same bytes to the same key. */
    async archiveCold(input: EventEnvelope): Promise<{ key: string }> {
      recordAttempt();
      try {
        return { key: await putArchivedEvent(deps, checked(input)) };
      } catch (err) {
        throw asActivityFailure(err);
      }
    },

    async deadLetter(record: DeadLetterRecord): Promise<void> {
      try {
        const key = (record.original as Partial<EventEnvelope> | undefined)?.event_id ?? record.workflow_id ?? null;
        await publishDeadLetter(deps.producer, deps.dlqTopic, key, record);
        // The SDK's activity logger adds the workflow id, which the worker logs as event_id.
        Context.current().log.warn('event dead-lettered', {
          stage: record.error.stage,
          type: record.error.type,
          message: record.error.message,
          attempts: record.error.attempts,
        });
      } catch (err) {
        throw asActivityFailure(err);
      }
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
