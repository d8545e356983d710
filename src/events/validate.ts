/**
 * Validation of client requests and of envelopes read back from Kafka. Pure functions with the
 * clock and id generator passed in, so the bridge, the producer and tests share one rule set.
 * Workflow-safe: no Node imports.
 */
import {
  REQUEST_FIELDS,
  SCHEMA_VERSION,
  type EventEnvelope,
  type EventLimits,
  type FieldError,
  type JsonObject,
} from './event';

export const EVENT_TYPE_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;
export const MAX_USER_ID_LENGTH = 256;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Date and time with a zone offset; seconds and fractions optional. A zone is required: a bare
// local time means a different instant on every machine.
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;
const EARLIEST_TIMESTAMP_MS = Date.UTC(1970, 0, 1);

export type Validated<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** Parses an ISO-8601 timestamp with a zone into epoch ms, or returns an error message. */
export function parseTimestamp(value: unknown): number | string {
  if (typeof value !== 'string') return `expected an ISO-8601 string, got ${describeType(value)}`;
  if (!ISO_TIMESTAMP.test(value)) return 'expected ISO-8601 with a time zone, such as 2026-11-25T10:00:00Z';
  const ms = Date.parse(value);
  // Date.parse rolls impossible days over (Feb 30 → Mar 2); the calendar date must exist as written.
  const [year, month, day] = value.slice(0, 10).split('-').map(Number) as [number, number, number];
  const calendar = new Date(Date.UTC(year, month - 1, day));
  if (Number.isNaN(ms) || calendar.getUTCMonth() !== month - 1 || calendar.getUTCDate() !== day) return 'not a real date/time';
  if (ms < EARLIEST_TIMESTAMP_MS) return 'must not be before 1970-01-01T00:00:00Z';
  return ms;
}

function checkEventType(value: unknown, errors: FieldError[], prefix: string): void {
  if (typeof value !== 'string') {
    errors.push({ field: `${prefix}event_type`, message: value === undefined ? 'required' : `expected a string, got ${describeType(value)}` });
  } else if (!EVENT_TYPE_PATTERN.test(value)) {
    errors.push({ field: `${prefix}event_type`, message: 'expected 1-128 characters of A-Z a-z 0-9 _ . : -' });
  }
}

function checkUserId(value: unknown, errors: FieldError[], prefix: string): void {
  if (typeof value !== 'string') {
    errors.push({ field: `${prefix}user_id`, message: value === undefined ? 'required' : `expected a string, got ${describeType(value)}` });
  } else if (value.length === 0 || value.length > MAX_USER_ID_LENGTH) {
    errors.push({ field: `${prefix}user_id`, message: `expected 1-${MAX_USER_ID_LENGTH} characters` });
  }
}

/** Deepest nesting a payload may have (DynamoDB allows 32 levels per item; the item adds one). */
export const MAX_PAYLOAD_DEPTH = 30;

/**
 * Values JSON can carry but the platform cannot keep exactly: integers beyond ±2^53 (already
 * rounded by the JSON parser, and refused by DynamoDB) and nesting deeper than DynamoDB allows.
 * Rejecting them here names the field, instead of storing a different number or failing later.
 */
function checkPayloadValues(value: unknown, path: string, depth: number, errors: FieldError[]): void {
  if (errors.length >= 20) return;
  if (typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value)) {
    errors.push({ field: path, message: 'integer too large to keep exactly (beyond ±2^53); send it as a string' });
  } else if (typeof value === 'object' && value !== null) {
    if (depth > MAX_PAYLOAD_DEPTH) {
      errors.push({ field: path, message: `nested more than ${MAX_PAYLOAD_DEPTH} levels deep` });
      return;
    }
    const entries: [string, unknown][] = Array.isArray(value) ? value.map((v, i) => [`[${i}]`, v]) : Object.entries(value).map(([k, v]) => [`.${k}`, v]);
    for (const [key, child] of entries) checkPayloadValues(child, `${path}${key}`, depth + 1, errors);
  }
}

export interface RequestContext {
  /** When the producer received the request (epoch ms). */
  receivedAtMs: number;
  limits: EventLimits;
  /** Makes an event_id when the client sent none (UUIDv7 in the producer). */
  newEventId: () => string;
  /** Batch `sent_at` minus this event's timestamp is kept; see the batch endpoint. */
  clockSkewMs?: number;
  /** Prefix for field names, such as `events[3].` in a batch. */
  fieldPrefix?: string;
  /** Size of the event's JSON in bytes, when the caller already knows it. */
  sizeBytes?: number;
}

/** Turns a client request into an envelope, or lists every bad field. */
export function validateEventRequest(body: unknown, ctx: RequestContext): Validated<EventEnvelope> {
  const prefix = ctx.fieldPrefix ?? '';
  if (!isJsonObject(body)) {
    return { ok: false, errors: [{ field: prefix ? prefix.replace(/\.$/, '') : 'body', message: `expected a JSON object, got ${describeType(body)}` }] };
  }
  const errors: FieldError[] = [];
  for (const key of Object.keys(body)) {
    if (!(REQUEST_FIELDS as readonly string[]).includes(key)) {
      errors.push({ field: `${prefix}${key}`, message: `unknown field; allowed: ${REQUEST_FIELDS.join(', ')}` });
    }
  }
  checkEventType(body.event_type, errors, prefix);
  checkUserId(body.user_id, errors, prefix);
  if (body.payload !== undefined && !isJsonObject(body.payload)) {
    errors.push({ field: `${prefix}payload`, message: `expected a JSON object, got ${describeType(body.payload)}` });
  } else if (body.payload !== undefined) {
    checkPayloadValues(body.payload, `${prefix}payload`, 1, errors);
  }
  if (body.event_id !== undefined && (typeof body.event_id !== 'string' || !UUID_PATTERN.test(body.event_id))) {
    errors.push({ field: `${prefix}event_id`, message: 'expected a UUID such as 0192f1c4-8d1e-7c3a-9b2f-5a6d7e8f9a0b' });
  }
  let timestampMs = ctx.receivedAtMs;
  if (body.timestamp !== undefined) {
    const parsed = parseTimestamp(body.timestamp);
    if (typeof parsed === 'string') {
      errors.push({ field: `${prefix}timestamp`, message: parsed });
    } else {
      timestampMs = parsed + (ctx.clockSkewMs ?? 0);
      if (timestampMs > ctx.receivedAtMs + ctx.limits.maxFutureSkewMs) {
        errors.push({ field: `${prefix}timestamp`, message: `must not be more than ${ctx.limits.maxFutureSkewMs / 3_600_000} h in the future` });
      }
    }
  }
  const size = ctx.sizeBytes ?? utf8Length(JSON.stringify(body));
  if (size > ctx.limits.maxEventBytes) {
    errors.push({ field: prefix ? prefix.replace(/\.$/, '') : 'body', message: `event is ${size} bytes; the limit is ${ctx.limits.maxEventBytes}` });
  }
  if (errors.length > 0) return { ok: false, errors };

  return {
    ok: true,
    value: {
      schema_version: SCHEMA_VERSION,
      event_id: typeof body.event_id === 'string' ? body.event_id.toLowerCase() : ctx.newEventId(),
      event_type: body.event_type as string,
      user_id: body.user_id as string,
      timestamp: new Date(timestampMs).toISOString(),
      received_at: new Date(ctx.receivedAtMs).toISOString(),
      payload: (body.payload as JsonObject | undefined) ?? {},
    },
  };
}

/** Checks an envelope read back from Kafka (or handed to a workflow). */
export function parseEnvelope(value: unknown): Validated<EventEnvelope> {
  if (!isJsonObject(value)) return { ok: false, errors: [{ field: 'value', message: `expected a JSON object, got ${describeType(value)}` }] };
  const errors: FieldError[] = [];
  if (value.schema_version !== SCHEMA_VERSION) {
    errors.push({ field: 'schema_version', message: `expected ${SCHEMA_VERSION}, got ${JSON.stringify(value.schema_version) ?? 'nothing'}` });
  }
  if (typeof value.event_id !== 'string' || !UUID_PATTERN.test(value.event_id)) errors.push({ field: 'event_id', message: 'expected a UUID' });
  checkEventType(value.event_type, errors, '');
  checkUserId(value.user_id, errors, '');
  for (const field of ['timestamp', 'received_at'] as const) {
    const parsed = parseTimestamp(value[field]);
    if (typeof parsed === 'string') errors.push({ field, message: parsed });
  }
  if (!isJsonObject(value.payload)) errors.push({ field: 'payload', message: `expected a JSON object, got ${describeType(value.payload)}` });
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, value: value as unknown as EventEnvelope };
}

/** UTF-8 byte length without Buffer (workflow-safe). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}
