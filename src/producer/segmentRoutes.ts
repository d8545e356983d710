/**
 * Segment's HTTP Tracking API on the producer: POST /v1/track, /v1/identify, /v1/page,
 * /v1/screen, /v1/group, /v1/alias and /v1/batch (and analytics.js's /v1/t … /v1/b), answering as Segment does: 200
 * `{"success": true}`, 400 `{"success": false, "message", "errors"}` naming the fields, and 503
 * with Retry-After when Kafka did not acknowledge (Segment's SDKs retry 5xx and 429 with the same
 * messageIds, which map to the same event_ids). Messages are mapped in segment.ts and validated by
 * the same rules as POST /events.
 */
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { EventEnvelope, EventLimits, FieldError, JsonObject } from '../events/event';
import { parseExact } from '../events/exactJson';
import { describeType, isJsonObject, parseTimestamp } from '../events/validate';
import type { Gate } from '../platform/http/access';
import { BodyError } from '../platform/http/body';
import { checkBodyKey, type DeclaredRoute } from '../platform/http/express';
import type { ProducerMetrics } from './metrics';
import { bodyReader, type BodyRules } from './requestBody';
import { BATCH_DEFAULT_FIELDS, mapSegmentMessage, SEGMENT_MAX_BATCH_BYTES, SEGMENT_TYPES, storedMessageBytes, type BatchDefaults } from './segment';

export interface SegmentRouteDeps {
  gate: Gate;
  /** Admission control before the body is read (the producer's in-flight caps), for a body of at most this many bytes decompressed. */
  admit: (decodedLimit: number) => RequestHandler;
  /** Sends to Kafka; says per event whether it was acknowledged, and why not. */
  publish: (events: EventEnvelope[]) => Promise<{ acknowledged: boolean[]; error?: string }>;
  limits: EventLimits & { maxBatchEvents: number; maxBatchBytes: number };
  /** Why an accepted event goes to the archive only (older than HOT_RETENTION_DAYS), or undefined. */
  archiveOnly: (event: EventEnvelope) => string | undefined;
  newEventId: () => string;
  now: () => number;
  metrics: ProducerMetrics;
  retryAfterSeconds: number;
}

/** Bytes a /v1/batch body may have once decompressed: Segment's 500 KB, or MAX_BATCH_BYTES if lower. */
export const segmentBatchLimit = (limits: { maxBatchBytes: number }): number => Math.min(SEGMENT_MAX_BATCH_BYTES, limits.maxBatchBytes);

export const SEGMENT_PATHS = [...SEGMENT_TYPES.map((t) => `/v1/${t}`), '/v1/batch'];

/**
 * Each route also under its first letter: analytics.js (the browser SDK) posts to /v1/t, /v1/i,
 * /v1/p, /v1/s, /v1/g, /v1/a and batches to /v1/b.
 */
const pathsOf = (name: string): string[] => [`/v1/${name}`, `/v1/${name.charAt(0)}`];

/** The routes for the access rules: write key (or `writeKey` in the body), body limits. */
export function segmentRouteDeclarations(limits: { maxEventBytes: number; maxBatchBytes: number }): DeclaredRoute[] {
  return [
    ...SEGMENT_TYPES.flatMap((t) =>
      pathsOf(t).map((path): DeclaredRoute => ({ method: 'post', path, access: 'write', maxBodyBytes: limits.maxEventBytes, keyInBody: true })),
    ),
    ...pathsOf('batch').map((path): DeclaredRoute => ({ method: 'post', path, access: 'write', maxBodyBytes: segmentBatchLimit(limits), keyInBody: true })),
  ];
}

/**
 * Browser SDKs post text/plain to avoid a CORS preflight, and some send no Content-Type; the body is
 * JSON all the same. A wrong type is refused before the body is read.
 */
const segmentBody = (limit: number): BodyRules => ({
  limit,
  accepts: /^(application\/(.+\+)?json|text\/plain)\b/i,
  expected: 'application/json or text/plain',
  typeOptional: true,
  typeChecked: 'before',
});

function fail(res: Response, status: number, message: string, errors: FieldError[]): void {
  res.status(status).json({ success: false, message, errors });
}

/** The JSON object of a body read by bodyReader, or an answer already sent (undefined). */
function jsonObject(req: Request, res: Response, gate: Gate): JsonObject | undefined {
  const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  let body: unknown;
  let parseError: string | undefined;
  try {
    body = raw.length === 0 ? undefined : parseExact(raw.toString('utf8'));
  } catch (err) {
    parseError = (err as Error).message;
  }
  if (parseError !== undefined || !isJsonObject(body)) {
    // A request whose key would be in a body we cannot read is not authenticated.
    if (!checkBodyKey(gate, res, undefined)) return undefined;
    const problem =
      parseError !== undefined ? `not valid JSON: ${parseError}` : `expected a JSON object, got ${body === undefined ? 'nothing' : describeType(body)}`;
    fail(res, 400, 'Request body is not a JSON object', [{ field: 'body', message: problem }]);
    return undefined;
  }
  return checkBodyKey(gate, res, body.writeKey) ? body : undefined;
}

/**
 * Batch-level fields are merged into every message, so they multiply: a 28 KiB `context` over
 * 16 000 one-line messages is a 1 KB gzip body that would store 480 MB. Limits are therefore
 * checked on the messages as stored: each within the message limit, and all together within the
 * batch limit. A batch whose own fields break either is refused whole (400 naming the field), since
 * it is not any one message's fault, and an SDK reports a 400 where it would drop a message
 * rejected inside a 200 without a word.
 */
function mergeProblems(batch: readonly unknown[], defaults: BatchDefaults, maxMessageBytes: number, maxBatchBytes: number): FieldError[] {
  const present = BATCH_DEFAULT_FIELDS.filter((f) => defaults[f] !== undefined);
  let total = 0;
  let pushedOver: number | undefined;
  let pushedOverBytes = 0;
  batch.forEach((message, index) => {
    if (!isJsonObject(message)) return;
    const stored = storedMessageBytes(message, defaults);
    total += stored;
    if (pushedOver === undefined && stored > maxMessageBytes && present.length > 0 && storedMessageBytes(message, undefined) <= maxMessageBytes) {
      pushedOver = index;
      pushedOverBytes = stored;
    }
  });
  const named = present.length > 0 ? present : ['batch'];
  if (pushedOver !== undefined) {
    return named.map((field) => ({
      field,
      message: `merged into each message, it makes batch[${pushedOver}] ${pushedOverBytes} bytes; the limit per message is ${maxMessageBytes}`,
    }));
  }
  if (total > maxBatchBytes) {
    const how = present.length > 0 ? `merged into each of the ${batch.length} messages, the batch is` : 'the messages are';
    return named.map((field) => ({ field, message: `${how} ${total} bytes as stored; at most ${maxBatchBytes}` }));
  }
  return [];
}

export function segmentRouter(deps: SegmentRouteDeps): express.Router {
  const router = express.Router();
  const { limits, metrics } = deps;

  /** Publishes, then 200, or 503 with Retry-After saying how many were written. */
  async function deliver(res: Response, events: EventEnvelope[], extra: Record<string, unknown> = {}): Promise<void> {
    const published = await deps.publish(events);
    if (published.error) {
      const written = published.acknowledged.filter(Boolean).length;
      res
        .status(503)
        .set('Retry-After', String(deps.retryAfterSeconds))
        .json({ success: false, message: published.error, accepted: written, unavailable: events.length - written });
      return;
    }
    res.status(200).json({ success: true, ...extra });
  }

  for (const type of SEGMENT_TYPES) {
    router.post(pathsOf(type), deps.admit(limits.maxEventBytes), bodyReader(segmentBody(limits.maxEventBytes)), async (req, res) => {
      const receivedAtMs = deps.now();
      const body = jsonObject(req, res, deps.gate);
      if (!body) return;
      const result = mapSegmentMessage(body, { type, receivedAtMs, limits, newEventId: deps.newEventId });
      if (!result.ok) {
        metrics.inc('events_rejected_total');
        return fail(res, 400, `Invalid ${type} message`, result.errors);
      }
      const archiveOnly = deps.archiveOnly(result.value);
      await deliver(res, [result.value], archiveOnly ? { stored: 'archive', message: archiveOnly } : {});
    });
  }

  router.post(pathsOf('batch'), deps.admit(segmentBatchLimit(limits)), bodyReader(segmentBody(segmentBatchLimit(limits))), async (req, res) => {
    const receivedAtMs = deps.now();
    const body = jsonObject(req, res, deps.gate);
    if (!body) return;
    const errors: FieldError[] = [];
    const batch = body.batch;
    if (!Array.isArray(batch))
      errors.push({ field: 'batch', message: batch === undefined ? 'required: an array of messages' : `expected an array, got ${describeType(batch)}` });
    else if (batch.length === 0) errors.push({ field: 'batch', message: 'expected at least one message' });
    else if (batch.length > limits.maxBatchEvents)
      errors.push({ field: 'batch', message: `at most ${limits.maxBatchEvents} messages per batch, got ${batch.length}` });
    let batchClockSkewMs: number | undefined;
    if (body.sentAt !== undefined && body.sentAt !== null) {
      const sentAt = parseTimestamp(body.sentAt);
      if (typeof sentAt === 'string') errors.push({ field: 'sentAt', message: sentAt });
      else batchClockSkewMs = receivedAtMs - sentAt; // timestamp' = received_at - (sentAt - timestamp)
    }
    const defaults: BatchDefaults = {};
    for (const field of BATCH_DEFAULT_FIELDS) {
      const v = body[field];
      if (isJsonObject(v)) defaults[field] = v;
      else if (v !== undefined && v !== null) errors.push({ field, message: `expected a JSON object, got ${describeType(v)}` });
    }
    if (errors.length === 0 && Array.isArray(batch)) errors.push(...mergeProblems(batch, defaults, limits.maxEventBytes, segmentBatchLimit(limits)));
    if (errors.length > 0 || !Array.isArray(batch)) return fail(res, 400, 'Invalid batch', errors);

    // One bad message does not sink the others (an SDK drops a batch answered 400): the valid ones
    // are stored and the answer lists what was rejected.
    const accepted: EventEnvelope[] = [];
    const rejected: FieldError[] = [];
    const archiveOnly: FieldError[] = [];
    batch.forEach((message: unknown, index) => {
      const fieldPrefix = `batch[${index}].`;
      const r = mapSegmentMessage(message, { receivedAtMs, limits, newEventId: deps.newEventId, batchClockSkewMs, fieldPrefix, defaults, position: index });
      if (!r.ok) return void rejected.push(...r.errors);
      accepted.push(r.value);
      const why = deps.archiveOnly(r.value);
      if (why) archiveOnly.push({ field: `${fieldPrefix}timestamp`, message: why });
    });
    const rejectedCount = batch.length - accepted.length;
    metrics.inc('events_rejected_total', rejectedCount);
    if (accepted.length === 0) return fail(res, 400, 'No valid message in the batch', rejected);
    await deliver(res, accepted, {
      ...(rejectedCount > 0 ? { accepted: accepted.length, rejected: rejectedCount, errors: rejected } : {}),
      ...(archiveOnly.length > 0 ? { archiveOnly } : {}),
    });
  });

  // A body these routes could not read (bodyReader), answered in Segment's shape.
  router.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (!(err instanceof BodyError)) return next(err);
    fail(res, err.status, err.message, err.errors);
  });

  return router;
}
