import { randomUUID } from 'node:crypto';
import { SCHEMA_VERSION, type EventEnvelope } from '../../src/events/event';

/** A valid envelope with a fresh id; override any field. */
export function makeEnvelope(overrides: Partial<EventEnvelope> = {}): EventEnvelope {
  const now = new Date().toISOString();
  return {
    schema_version: SCHEMA_VERSION,
    event_id: randomUUID(),
    event_type: 'page_view',
    user_id: 'user-1',
    timestamp: now,
    received_at: now,
    payload: { page: '/home', referrer: 'google.com' },
    ...overrides,
  };
}
