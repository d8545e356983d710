/**
 * The event as it travels: the client's request, and the envelope the producer writes to Kafka,
 * the workflow receives, DynamoDB indexes and S3 archives. Workflow-safe: no Node imports.
 */

/** Bumped when the envelope changes shape; consumers reject versions they do not know. */
export const SCHEMA_VERSION = 1;

export type JsonObject = { [key: string]: unknown };

/** What a client may send to POST /events (seed-compatible, plus optional event_id and timestamp). */
export interface EventRequest {
  event_type: string;
  user_id: string;
  payload?: JsonObject;
  /** Client idempotency key: posting the same event_id twice stores the event once. */
  event_id?: string;
  /** When it happened (ISO-8601 with a zone); defaults to when the producer received it. */
  timestamp?: string;
}

/** The Kafka record value (key = user_id) and the S3 object body. */
export interface EventEnvelope {
  schema_version: typeof SCHEMA_VERSION;
  event_id: string;
  event_type: string;
  user_id: string;
  /** UTC, `Date.toISOString()` form, so string order is time order. */
  timestamp: string;
  received_at: string;
  payload: JsonObject;
}

export const REQUEST_FIELDS = ['event_type', 'user_id', 'payload', 'event_id', 'timestamp'] as const;

/** One problem with one field; `field` is a dotted path such as `payload` or `events[3].user_id`. */
export interface FieldError {
  field: string;
  message: string;
}

export interface EventLimits {
  maxEventBytes: number;
  maxFutureSkewMs: number;
}

/** Serialisation used for the Kafka value and the S3 body: the same envelope gives the same bytes. */
export function serializeEnvelope(envelope: EventEnvelope): string {
  const { schema_version, event_id, event_type, user_id, timestamp, received_at, payload } = envelope;
  return JSON.stringify({ schema_version, event_id, event_type, user_id, timestamp, received_at, payload });
}
