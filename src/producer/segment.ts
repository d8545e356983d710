/**
 * Segment's HTTP Tracking API messages (track, identify, page, screen, group, alias) mapped onto
 * the platform's event, so apps running a Segment SDK switch by changing its host. The mapping
 * builds an ordinary event request and hands it to validateEventRequest, so a Segment message
 * meets exactly the rules of POST /events (storable values, timestamps, sizes); only the field
 * names in the errors are translated back to Segment's.
 *
 *   messageId                 → event_id (a UUID as it is, anything else → UUIDv5 in SEGMENT_NAMESPACE;
 *                               none, with a timestamp → UUIDv5 of the content and batch position)
 *   track: event, else type   → event_type (track names sanitised to [A-Za-z0-9_.:-], 128 max)
 *   userId, else anonymousId  → user_id
 *   timestamp (+ sentAt)      → timestamp, corrected for the client's clock like /events/batch sent_at
 *   everything else           → payload, under Segment's own names (payload.properties, …)
 */
import { v5 as uuidv5 } from 'uuid';
import type { EventEnvelope, EventLimits, FieldError, JsonObject } from '../events/event';
import { isRawNumber } from '../events/exactJson';
import { describeType, isJsonObject, parseTimestamp, utf8Length, validateEventRequest, type Validated } from '../events/validate';

export const SEGMENT_TYPES = ['track', 'identify', 'page', 'screen', 'group', 'alias'] as const;
export type SegmentType = (typeof SEGMENT_TYPES)[number];

/**
 * The project's fixed UUIDv5 namespace for messageIds that are not UUIDs: the same messageId
 * always becomes the same event_id, so an SDK's retry of a batch is stored once. Never change it:
 * a retry spanning the change would be stored twice.
 */
export const SEGMENT_NAMESPACE = '9c538bc5-5d65-42f8-aae9-7a0c3c9d00e5';

/**
 * The namespace of event_ids derived from a message's content when it has no messageId (see
 * contentEventId). Never change it, for the same reason as SEGMENT_NAMESPACE.
 */
export const SEGMENT_CONTENT_NAMESPACE = 'a4f0d1e2-3b5c-4d6e-8f70-91a2b3c4d5e6';

/** Segment's limit for one /v1/batch request, measured after decompression. */
export const SEGMENT_MAX_BATCH_BYTES = 500 * 1024;

/** A batch's own fields that are merged into each of its messages. */
export const BATCH_DEFAULT_FIELDS = ['context', 'integrations'] as const;
export type BatchDefaults = { [K in (typeof BATCH_DEFAULT_FIELDS)[number]]?: JsonObject };

/**
 * The envelope repeats a few message fields outside the payload (event_type up to 128 bytes,
 * user_id up to 256 characters, event_id) and adds its own keys: a message within the per-message
 * limit must not fail validation for that. 4 KiB covers the worst case (256 escaped characters).
 */
const ENVELOPE_ALLOWANCE_BYTES = 4096;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const OUTSIDE_EVENT_TYPE = /[^A-Za-z0-9_.:-]/gu;
const MAX_EVENT_TYPE_LENGTH = 128;

/** Fields of a message that the mapping reads; any other field is kept under payload.extra. */
const KNOWN_FIELDS = new Set([
  'type',
  'event',
  'name',
  'category',
  'groupId',
  'previousId',
  'userId',
  'anonymousId',
  'messageId',
  'timestamp',
  'sentAt',
  'properties',
  'traits',
  'context',
  'integrations',
  'writeKey',
]);
/** Object-valued fields stored as they are under payload.<name>. */
const OBJECT_FIELDS = ['properties', 'traits', 'context', 'integrations'] as const;

/** messageId → event_id: a UUID is used as it is (lower case), anything else deterministically as UUIDv5. */
export function eventIdForMessageId(messageId: string): string {
  return UUID.test(messageId) ? messageId.toLowerCase() : uuidv5(messageId, SEGMENT_NAMESPACE);
}

/**
 * A track's event name as an event_type: every character outside [A-Za-z0-9_.:-] (a space, an
 * accent, an emoji: one code point each) becomes `_`, then the first 128 characters. The result is
 * ASCII, so the cut never splits a character. "Order Completed" → "Order_Completed".
 */
export function eventTypeForTrack(name: string): string {
  return name.replace(OUTSIDE_EVENT_TYPE, '_').slice(0, MAX_EVENT_TYPE_LENGTH);
}

export interface SegmentMessageContext {
  receivedAtMs: number;
  limits: EventLimits;
  newEventId: () => string;
  /** The type the endpoint implies (/v1/track…); unset for /v1/batch, where each message says. */
  type?: SegmentType;
  /** Clock skew from the batch's own sentAt; a message's sentAt overrides it. */
  batchClockSkewMs?: number;
  /** Prefix of field names in errors, such as `batch[3].`. */
  fieldPrefix?: string;
  /** A batch's own `context` and `integrations`: merged under each message's (the message's keys win). */
  defaults?: BatchDefaults;
  /** The message's index in its batch (0 for a single-message route): part of a content-derived id. */
  position?: number;
}

/** An ID as Segment SDKs send it: a string, or a number some SDKs pass through. */
function idValue(value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  // An int64 id beyond 2^53 arrives as its text (src/events/exactJson.ts): every digit.
  if (isRawNumber(value)) return value.rawJSON;
  return undefined;
}

const absent = (value: unknown): boolean => value === undefined || value === null;

/**
 * The message as it is stored: the batch's `context` and `integrations` merged under its own
 * (its keys win), without the writeKey. Sizes are checked on this, so a batch-level field cannot
 * make a message larger than the limit it was checked against.
 */
export function mergedMessage(message: JsonObject, defaults: BatchDefaults | undefined): JsonObject {
  const merged: JsonObject = { ...message, writeKey: undefined };
  for (const field of BATCH_DEFAULT_FIELDS) {
    const shared = defaults?.[field];
    const own = message[field];
    // A message's own non-object value is an error reported by the mapping; it is kept as sent here.
    if (shared && (absent(own) || isJsonObject(own))) merged[field] = { ...shared, ...((own as JsonObject | null | undefined) ?? {}) };
  }
  return merged;
}

/** Bytes of the message as stored (mergedMessage), as Segment counts a message: its JSON. */
export function storedMessageBytes(message: JsonObject, defaults: BatchDefaults | undefined): number {
  return utf8Length(JSON.stringify(mergedMessage(message, defaults)));
}

/** JSON with every object's keys in sorted order, so the same content always gives the same text. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (isJsonObject(value)) {
    const keys = Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * The event_id of a message without a messageId but with a timestamp: a UUIDv5 of its type, its
 * position in the batch and its content as stored (batch context and integrations merged), so an
 * SDK's resend of the same batch after a 503 or a lost answer maps every message to the id it had
 * the first time, while two identical messages in one batch stay apart by their position.
 * `sentAt` is left out: SDKs stamp it anew on every attempt. Without a timestamp the event's time
 * is when it arrives, which differs on every attempt, so such a message gets a new id (UUIDv7).
 */
export function contentEventId(message: JsonObject, type: SegmentType, position: number, defaults: BatchDefaults | undefined): string {
  const content = { ...mergedMessage(message, defaults), sentAt: undefined, type };
  return uuidv5(`${position}\n${canonicalJson(content)}`, SEGMENT_CONTENT_NAMESPACE);
}

/** Turns one Segment message into an envelope, or lists every bad field under Segment's names. */
export function mapSegmentMessage(message: unknown, ctx: SegmentMessageContext): Validated<EventEnvelope> {
  const prefix = ctx.fieldPrefix ?? '';
  const whole = prefix ? prefix.replace(/\.$/, '') : 'body';
  if (!isJsonObject(message)) return { ok: false, errors: [{ field: whole, message: `expected a JSON object, got ${describeType(message)}` }] };
  const errors: FieldError[] = [];
  const err = (field: string, text: string) => errors.push({ field: `${prefix}${field}`, message: text });

  // The limit applies to the message as Segment counts it (its JSON), with what the batch merges
  // into it; the key is not part of it.
  const size = storedMessageBytes(message, ctx.defaults);
  if (size > ctx.limits.maxEventBytes) errors.push({ field: whole, message: `message is ${size} bytes; the limit is ${ctx.limits.maxEventBytes}` });

  const type = ctx.type ?? message.type;
  if (typeof type !== 'string' || !(SEGMENT_TYPES as readonly string[]).includes(type)) {
    err('type', absent(type) ? `required: one of ${SEGMENT_TYPES.join(', ')}` : `expected one of ${SEGMENT_TYPES.join(', ')}, got ${JSON.stringify(type)}`);
    return { ok: false, errors };
  }

  const userId = idValue(message.userId);
  const anonymousId = idValue(message.anonymousId);
  for (const field of ['userId', 'anonymousId'] as const) {
    const v = message[field];
    if (!absent(v) && v !== '' && idValue(v) === undefined) err(field, `expected a string, got ${describeType(v)}`);
  }
  if (userId === undefined && anonymousId === undefined) err('userId', 'userId or anonymousId is required');
  if (type === 'alias' && userId === undefined && anonymousId !== undefined) err('userId', 'required for alias');

  let eventType: string = type;
  if (type === 'track') {
    if (typeof message.event !== 'string' || message.event === '')
      err('event', absent(message.event) || message.event === '' ? 'required for track' : `expected a string, got ${describeType(message.event)}`);
    else eventType = eventTypeForTrack(message.event);
  }
  if (type === 'group' && idValue(message.groupId) === undefined)
    err('groupId', absent(message.groupId) || message.groupId === '' ? 'required for group' : `expected a string, got ${describeType(message.groupId)}`);
  if (type === 'alias' && idValue(message.previousId) === undefined)
    err(
      'previousId',
      absent(message.previousId) || message.previousId === '' ? 'required for alias' : `expected a string, got ${describeType(message.previousId)}`,
    );
  for (const field of ['name', 'category'] as const) {
    const v = message[field];
    if (!absent(v) && typeof v !== 'string') err(field, `expected a string, got ${describeType(v)}`);
  }
  for (const field of OBJECT_FIELDS) {
    const v = message[field];
    if (!absent(v) && !isJsonObject(v)) err(field, `expected a JSON object, got ${describeType(v)}`);
  }

  let eventId: string | undefined;
  if (!absent(message.messageId)) {
    if (typeof message.messageId !== 'string' || message.messageId === '')
      err('messageId', `expected a non-empty string, got ${describeType(message.messageId)}`);
    else eventId = eventIdForMessageId(message.messageId);
  } else if (!absent(message.timestamp)) {
    eventId = contentEventId(message, type as SegmentType, ctx.position ?? 0, ctx.defaults);
  }

  let clockSkewMs = ctx.batchClockSkewMs;
  let sentAtField = 'sentAt';
  if (!absent(message.sentAt)) {
    const sentAt = parseTimestamp(message.sentAt);
    if (typeof sentAt === 'string') err('sentAt', sentAt);
    else {
      clockSkewMs = ctx.receivedAtMs - sentAt;
      sentAtField = `${prefix}sentAt`;
    }
  }
  if (errors.length > 0) return { ok: false, errors };

  const payload: JsonObject = { type };
  const copy = (field: string) => {
    if (!absent(message[field])) payload[field] = message[field];
  };
  for (const field of ['event', 'name', 'category', 'groupId', 'previousId', 'userId', 'anonymousId', 'messageId']) copy(field);
  // Segment's names: the timestamp as the client sent it, and when it sent the message.
  if (clockSkewMs !== undefined && !absent(message.timestamp)) payload.originalTimestamp = message.timestamp;
  copy('sentAt');
  const stored = mergedMessage(message, ctx.defaults);
  for (const field of OBJECT_FIELDS) if (!absent(stored[field])) payload[field] = stored[field];
  // Fields this mapping does not know are kept, not dropped; the writeKey is a credential and is never stored.
  const extra = Object.fromEntries(Object.entries(message).filter(([k, v]) => !KNOWN_FIELDS.has(k) && v !== undefined));
  if (Object.keys(extra).length > 0) payload.extra = extra;

  const request: JsonObject = { event_type: eventType, user_id: userId ?? anonymousId, payload };
  if (eventId !== undefined) request.event_id = eventId;
  if (!absent(message.timestamp)) request.timestamp = message.timestamp;

  const result = validateEventRequest(request, {
    receivedAtMs: ctx.receivedAtMs,
    limits: { ...ctx.limits, maxEventBytes: ctx.limits.maxEventBytes + ENVELOPE_ALLOWANCE_BYTES },
    newEventId: ctx.newEventId,
    clockSkewMs,
    fieldPrefix: prefix,
  });
  if (result.ok) return result;
  const segmentField = (field: string): string => {
    if (field === whole || field === 'body') return whole;
    const inner = field.startsWith(prefix) ? field.slice(prefix.length) : field;
    if (inner === 'sent_at' || field === 'sent_at') return sentAtField;
    if (inner === 'event_type') return `${prefix}${type === 'track' ? 'event' : 'type'}`;
    if (inner === 'user_id') return `${prefix}${userId !== undefined ? 'userId' : 'anonymousId'}`;
    if (inner === 'event_id') return `${prefix}messageId`;
    // Unknown fields were sent at the top level of the message and are kept under payload.extra.
    if (inner.startsWith('payload.extra.')) return `${prefix}${inner.slice('payload.extra.'.length)}`;
    if (inner.startsWith('payload.')) return `${prefix}${inner.slice('payload.'.length)}`;
    return `${prefix}${inner}`;
  };
  return { ok: false, errors: result.errors.map((e) => ({ field: segmentField(e.field), message: e.message.replace(/\bsent_at\b/g, 'sentAt') })) };
}
