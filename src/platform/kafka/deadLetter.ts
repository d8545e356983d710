/**
 * The dead-letter record. One shape for both sources, so one consumer (or `events dlq`) handles
 * both: `error.stage` says where it failed.
 *  - a workflow step that exhausted its retries: stage storeHot | archiveCold, with workflow_id
 *    and run_id (the Failed run in the Temporal Web UI);
 *  - a record the bridge could not use: stage bridge, with the source topic/partition/offset.
 */
import { createHash } from 'node:crypto';
import type { Producer } from 'kafkajs';
import type { DeadLetterError } from '../../../workflows/contract';
import type { EventEnvelope } from '../../events/event';

export type { DeadLetterError } from '../../../workflows/contract';

export interface DeadLetterRecord {
  /** The envelope, or for an unparseable record its raw value as a string. */
  original: EventEnvelope | string | unknown;
  error: DeadLetterError;
  /** Every failed stage when more than one failed; `error` is the first of them. */
  errors?: DeadLetterError[];
  failed_at: string;
  workflow_id?: string;
  run_id?: string;
  source?: { topic: string; partition: number; offset: string; key: string | null };
  /**
   * Present when the record was too large for the DLQ topic: `original` then holds only the first
   * `prefix_bytes` of the value (as text), and the hash identifies the full value on the source
   * topic (`source` says where it is).
   */
  truncated?: { original_bytes: number; sha256: string; prefix_bytes: number; key_bytes?: number };
}

/**
 * Largest dead-letter record sent whole. Kafka's default message.max.bytes is 1 048 588 bytes for
 * the whole record batch; this leaves room for the key, the headers and the batch framing.
 */
export const DEAD_LETTER_MAX_BYTES = 1_000_000;
/** What a cut-down record keeps of the value: enough to recognise it, small enough for any broker. */
const PREFIX_BYTES = 16_384;
/** The fallback when the broker refuses even the cut-down record (a topic with a tiny max.message.bytes). */
const MIN_PREFIX_BYTES = 1_024;
/** Keys longer than this are cut too: a raw producer can write a key as large as a value. */
const MAX_KEY_BYTES = 1_024;
const MAX_ERROR_MESSAGE_BYTES = 4_096;
const MAX_FIELD_ERRORS = 20;

/** The longest prefix of `text` within `maxBytes` of UTF-8, never splitting a code point. */
export function utf8Prefix(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  let bytes = 0;
  let end = 0;
  for (const ch of text) {
    const size = Buffer.byteLength(ch, 'utf8');
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += ch.length;
  }
  return text.slice(0, end);
}

export interface PublishOptions {
  /** The source record's value as it was on Kafka: hashed and measured when the record is cut down. */
  rawValue?: Buffer | null;
  /** Records above this many bytes are cut down (default DEAD_LETTER_MAX_BYTES). */
  maxBytes?: number;
}

/**
 * The record cut down to a prefix of its value plus the value's size and SHA-256, so it fits the
 * DLQ topic. Everything else (error, source position, workflow ids) is kept.
 */
export function truncateDeadLetter(record: DeadLetterRecord, prefixBytes: number, rawValue?: Buffer | null): DeadLetterRecord {
  const value = rawValue ?? Buffer.from(typeof record.original === 'string' ? record.original : (JSON.stringify(record.original) ?? 'null'), 'utf8');
  const sourceKey = record.source?.key ?? null;
  const keyBytes = sourceKey === null ? 0 : Buffer.byteLength(sourceKey, 'utf8');
  // The error can grow with the value too (one field error per bad key of a huge object).
  const cutError = (e: DeadLetterError): DeadLetterError => ({
    ...e,
    message: utf8Prefix(e.message, MAX_ERROR_MESSAGE_BYTES),
    ...(e.fields && e.fields.length > MAX_FIELD_ERRORS ? { fields: e.fields.slice(0, MAX_FIELD_ERRORS) } : {}),
  });
  return {
    ...record,
    original: utf8Prefix(value.toString('utf8'), prefixBytes),
    error: cutError(record.error),
    ...(record.errors ? { errors: record.errors.slice(0, MAX_FIELD_ERRORS).map(cutError) } : {}),
    ...(record.source ? { source: { ...record.source, key: sourceKey === null ? null : utf8Prefix(sourceKey, MAX_KEY_BYTES) } } : {}),
    truncated: {
      original_bytes: value.length,
      sha256: createHash('sha256').update(value).digest('hex'),
      prefix_bytes: Math.min(prefixBytes, value.length),
      ...(keyBytes > MAX_KEY_BYTES ? { key_bytes: keyBytes } : {}),
    },
  };
}

const isMessageTooLarge = (err: unknown): boolean => {
  for (let e = err as { type?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.type === 'MESSAGE_TOO_LARGE' || e.type === 'RECORD_LIST_TOO_LARGE') return true;
  }
  return false;
};

/**
 * Publishes one dead-letter record, acknowledged by all in-sync replicas. A record too large for
 * the topic is cut down (see `truncateDeadLetter`) instead of failing: a failed publish would
 * block the source partition, and the full value stays on the source topic until retention.
 */
export async function publishDeadLetter(
  producer: Pick<Producer, 'send'>,
  topic: string,
  key: string | null,
  record: DeadLetterRecord,
  opts: PublishOptions = {},
): Promise<void> {
  const maxBytes = opts.maxBytes ?? DEAD_LETTER_MAX_BYTES;
  const dlqKey = key === null ? null : utf8Prefix(key, MAX_KEY_BYTES);
  const send = (r: DeadLetterRecord) =>
    producer.send({ topic, acks: -1, messages: [{ key: dlqKey, value: JSON.stringify(r), headers: { 'dlq-stage': r.error.stage } }] });
  const whole = JSON.stringify(record);
  const fits = Buffer.byteLength(whole, 'utf8') + (dlqKey === null ? 0 : Buffer.byteLength(dlqKey, 'utf8')) <= maxBytes;
  const first = fits && key === dlqKey ? record : truncateDeadLetter(record, Math.min(PREFIX_BYTES, Math.floor(maxBytes / 4)), opts.rawValue);
  try {
    await send(first);
  } catch (err) {
    if (!isMessageTooLarge(err)) throw err;
    await send(truncateDeadLetter(record, MIN_PREFIX_BYTES, opts.rawValue));
  }
}
