/**
 * The announcement that an event is stored (KAFKA_STORED_TOPIC): the envelope exactly as it was
 * put into DynamoDB, keyed by event_id. Workers send it after the conditional put (on 'stored'
 * and on 'duplicate', so a retry after a crash between put and send still announces it); every
 * GraphQL instance reads the whole topic and fans it out to its live subscribers. Sending is
 * at-least-once, so readers de-duplicate by event_id.
 */
import type { IHeaders, Producer } from 'kafkajs';
import { serializeEnvelope, type EventEnvelope } from '../../events/event';
import { parseExact } from '../../events/exactJson';
import { parseEnvelope } from '../../events/validate';

export async function publishStored(producer: Pick<Producer, 'send'>, topic: string, event: EventEnvelope): Promise<void> {
  await send(producer, topic, [event]);
}

async function send(producer: Pick<Producer, 'send'>, topic: string, events: readonly EventEnvelope[], headers?: IHeaders): Promise<void> {
  // acks -1: an announcement the leader alone had would vanish with it, and the retry that could
  // send it again happens only when this call fails.
  await producer.send({
    topic,
    acks: -1,
    messages: events.map((event) => ({ key: event.event_id, value: serializeEnvelope(event), ...(headers ? { headers } : {}) })),
  });
}

/**
 * Announcements of events stored earlier, for the counter only (`events counts backfill`): the
 * header keeps them from live subscribers, who must only see events as they are stored.
 */
const COUNTS_ONLY = { notice: 'counts-only' };

export async function announceForCounting(producer: Pick<Producer, 'send'>, topic: string, events: readonly EventEnvelope[]): Promise<void> {
  if (events.length > 0) await send(producer, topic, events, COUNTS_ONLY);
}

export function isCountsOnly(headers: IHeaders | undefined): boolean {
  return headers?.notice?.toString() === COUNTS_ONLY.notice;
}

/** The envelope of a record of the stored topic, or undefined for a record that is not one. */
export function parseStoredNotice(value: Buffer | null): EventEnvelope | undefined {
  if (!value) return undefined;
  let json: unknown;
  try {
    json = parseExact(value.toString('utf8'));
  } catch {
    return undefined;
  }
  const parsed = parseEnvelope(json);
  return parsed.ok ? parsed.value : undefined;
}
