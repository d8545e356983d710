/**
 * Validation of client requests and of envelopes read back from Kafka. Pure functions with the
 * clock and id generator passed in, so the bridge, the producer and tests share one rule set.
 * Workflow-safe: no Node imports.
 */
import { REQUEST_FIELDS, SCHEMA_VERSION, type EventEnvelope, type EventLimits, type FieldError, type JsonObject } from './event';
import { isRawNumber, numberTextProblem } from './exactJson';

export const EVENT_TYPE_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;
export const MAX_USER_ID_LENGTH = 256;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Date and time with a zone offset; seconds and fractions optional. A zone is required: a bare
// local time means a different instant on every machine.
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;
const EARLIEST_TIMESTAMP_MS = Date.UTC(1970, 0, 1);
// Past this, `toISOString()` writes a 6-digit `+010000-…` year: the envelope check, the S3 key
// (`events/YYYY/…`) and the time-ordered sort key all assume `YYYY-…Z`.
const LATEST_TIMESTAMP_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

export type Validated<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

export function isJsonObject(value: unknown): value is JsonObject {
  // A number kept as its text (src/events/exactJson.ts) is an object to typeof, not to JSON.
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !isRawNumber(value);
}

export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (isRawNumber(value)) return 'a number';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * The one text form of an instant in an envelope (`Date.toISOString()`: UTC, `Z`, exactly three
 * fraction digits), whatever form it came in: the sort key `time_id`, the cursor, the S3 day, the
 * count bucket and the retention all read the text, so `+02:00`, no milliseconds or nine
 * fraction digits would each put the event somewhere else.
 */
export function canonicalTimestamp(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * The one text form of an event id: lower-case hex. UUIDs compare without case, but the id is a
 * DynamoDB key, a workflow ID and an S3 key, which do not: an upper-case copy would be a second event.
 */
export function canonicalEventId(id: string): string {
  return id.toLowerCase();
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
  return instantProblem(ms) ?? ms;
}

/** Why an instant cannot be an event time, whatever produced it (a client, a skew correction). */
function instantProblem(ms: number): string | undefined {
  if (!Number.isFinite(ms)) return 'not a real date/time';
  if (ms < EARLIEST_TIMESTAMP_MS) return 'must not be before 1970-01-01T00:00:00Z';
  if (ms > LATEST_TIMESTAMP_MS) return 'must not be after 9999-12-31T23:59:59.999Z';
  return undefined;
}

/** The rules every stored timestamp meets: a storable instant, at most `maxFutureSkewMs` ahead. */
function timestampProblem(ms: number, receivedAtMs: number, limits: EventLimits): string | undefined {
  const problem = instantProblem(ms);
  if (problem) return problem;
  if (ms > receivedAtMs + limits.maxFutureSkewMs) return `must not be more than ${limits.maxFutureSkewMs / 3_600_000} h in the future`;
  return undefined;
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
  } else if (LONE_SURROGATE.test(value)) {
    errors.push({ field: `${prefix}user_id`, message: LONE_SURROGATE_MESSAGE });
  }
}

// A UTF-16 half without its pair: JSON can carry it (`"\ud800"`), UTF-8 cannot, so Kafka, S3 and
// DynamoDB would each keep something else (U+FFFD, an escape, or a rejected write).
const LONE_SURROGATE = /\p{Cs}/u;
const LONE_SURROGATE_MESSAGE = 'contains an unpaired UTF-16 surrogate (not valid Unicode text)';

/**
 * Why a JSON number cannot be stored as sent, or undefined when it can. Checked on its text, so a
 * number parsed with parseExact (src/events/exactJson.ts) keeps every digit the client sent and
 * is refused only where DynamoDB's Number type ends: 38 significant digits, non-zero magnitudes
 * 1e-130 to 9.99…e125, no negative zero.
 */
function numberProblem(value: unknown): string | undefined {
  if (isRawNumber(value)) return numberTextProblem(value.rawJSON);
  if (typeof value !== 'number') return undefined;
  // A body parsed by plain JSON.parse: 1e400 became Infinity, which JSON.stringify writes as null.
  if (!Number.isFinite(value)) return 'number too large to store (DynamoDB numbers end at 9.99…e125); send it as a string';
  // DynamoDB keeps no sign on zero, and JSON.stringify writes -0 as 0.
  if (Object.is(value, -0)) return 'negative zero cannot be stored distinctly from 0; send 0';
  return numberTextProblem(String(value));
}

/** Deepest nesting a payload may have (DynamoDB allows 32 levels per item; the item adds one). */
export const MAX_PAYLOAD_DEPTH = 30;

/**
 * Values JSON can carry but the platform cannot keep exactly: numbers DynamoDB cannot store or
 * that JSON would rewrite (see numberProblem), text that is not valid Unicode, and nesting deeper
 * than DynamoDB allows. Rejecting them here names the field, instead of storing a different value
 * or failing after the 202.
 */
function checkPayloadValues(value: unknown, path: string, depth: number, errors: FieldError[]): void {
  if (errors.length >= 20) return;
  if (typeof value === 'number' || isRawNumber(value)) {
    const problem = numberProblem(value);
    if (problem) errors.push({ field: path, message: problem });
  } else if (typeof value === 'string') {
    if (LONE_SURROGATE.test(value)) errors.push({ field: path, message: LONE_SURROGATE_MESSAGE });
  } else if (typeof value === 'object' && value !== null) {
    if (depth > MAX_PAYLOAD_DEPTH) {
      errors.push({ field: path, message: `nested more than ${MAX_PAYLOAD_DEPTH} levels deep` });
      return;
    }
    const entries: [string, unknown][] = Array.isArray(value) ? value.map((v, i) => [`[${i}]`, v]) : Object.entries(value).map(([k, v]) => [`.${k}`, v]);
    for (const [key, child] of entries) {
      if (LONE_SURROGATE.test(key)) errors.push({ field: `${path}${key}`, message: `key ${LONE_SURROGATE_MESSAGE}` });
      checkPayloadValues(child, `${path}${key}`, depth + 1, errors);
    }
  }
}

export interface RequestContext {
  /** When the producer received the request (epoch ms). */
  receivedAtMs: number;
  limits: EventLimits;
  /** Makes an event_id when the client sent none (UUIDv7 in the producer). */
  newEventId: () => string;
  /**
   * Batch `sent_at` minus this event's timestamp is kept; see the batch endpoint. A corrected
   * timestamp that breaks the timestamp rules, when the uncorrected one does not, is a `sent_at`
   * error: the correction is what made it unstorable.
   */
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
      const problem = timestampProblem(timestampMs, ctx.receivedAtMs, ctx.limits);
      if (problem && ctx.clockSkewMs && !timestampProblem(parsed, ctx.receivedAtMs, ctx.limits)) {
        const corrected = Number.isFinite(timestampMs) && Math.abs(timestampMs) < 8.64e15 ? ` to ${new Date(timestampMs).toISOString()}` : '';
        errors.push({ field: 'sent_at', message: `corrects ${prefix}timestamp${corrected}, which ${problem}; check the client clock, or omit sent_at` });
      } else if (problem) {
        errors.push({ field: `${prefix}timestamp`, message: ctx.clockSkewMs ? `${problem} (after the sent_at correction)` : problem });
      }
    }
  }
  // The envelope carries the payload as JSON.stringify writes it. parseExact keeps each number's
  // text, but a body parsed otherwise can grow (`9e15` becomes `9000000000000000`): the limit
  // applies to the larger.
  const size = Math.max(ctx.sizeBytes ?? 0, utf8Length(JSON.stringify(body)));
  if (size > ctx.limits.maxEventBytes) {
    errors.push({ field: prefix ? prefix.replace(/\.$/, '') : 'body', message: `event is ${size} bytes; the limit is ${ctx.limits.maxEventBytes}` });
  }
  if (errors.length > 0) return { ok: false, errors };

  return {
    ok: true,
    value: {
      schema_version: SCHEMA_VERSION,
      event_id: canonicalEventId(typeof body.event_id === 'string' ? body.event_id : ctx.newEventId()),
      event_type: body.event_type as string,
      user_id: body.user_id as string,
      timestamp: canonicalTimestamp(timestampMs),
      received_at: canonicalTimestamp(ctx.receivedAtMs),
      payload: (body.payload as JsonObject | undefined) ?? {},
    },
  };
}

/**
 * Checks an envelope read back from Kafka (or handed to a workflow, or read from the archive) by
 * the producer's rules, and returns it in the producer's canonical form (canonicalEventId,
 * canonicalTimestamp): a record written straight to the raw topic may carry an upper-case id or
 * an offset timestamp, which are the same event, and must be stored, keyed, counted and archived
 * exactly as the producer's copy would be. What cannot be normalised (not a UUID, not a real
 * instant, a payload value the stores cannot keep) is refused with the field named.
 */
export function parseEnvelope(value: unknown): Validated<EventEnvelope> {
  if (!isJsonObject(value)) return { ok: false, errors: [{ field: 'value', message: `expected a JSON object, got ${describeType(value)}` }] };
  const errors: FieldError[] = [];
  if (value.schema_version !== SCHEMA_VERSION) {
    errors.push({ field: 'schema_version', message: `expected ${SCHEMA_VERSION}, got ${JSON.stringify(value.schema_version) ?? 'nothing'}` });
  }
  if (typeof value.event_id !== 'string' || !UUID_PATTERN.test(value.event_id)) errors.push({ field: 'event_id', message: 'expected a UUID' });
  checkEventType(value.event_type, errors, '');
  checkUserId(value.user_id, errors, '');
  const instants: Partial<Record<'timestamp' | 'received_at', number>> = {};
  for (const field of ['timestamp', 'received_at'] as const) {
    const parsed = parseTimestamp(value[field]);
    if (typeof parsed === 'string') errors.push({ field, message: parsed });
    else instants[field] = parsed;
  }
  if (!isJsonObject(value.payload)) errors.push({ field: 'payload', message: `expected a JSON object, got ${describeType(value.payload)}` });
  else checkPayloadValues(value.payload, 'payload', 1, errors);
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    value: {
      schema_version: SCHEMA_VERSION,
      event_id: canonicalEventId(value.event_id as string),
      event_type: value.event_type as string,
      user_id: value.user_id as string,
      timestamp: canonicalTimestamp(instants.timestamp!),
      received_at: canonicalTimestamp(instants.received_at!),
      payload: value.payload as JsonObject,
    },
  };
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
