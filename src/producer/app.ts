/**
 * The producer's HTTP API (Express), without `listen`: POST /events, POST /events/batch,
 * Segment's /v1/* intake (segmentRoutes.ts), GET /health, GET /ready, GET /metrics. Every answer
 * is JSON; bad input is a 4xx naming each bad field and never reaches Kafka; Kafka not
 * acknowledging in time is a 503 with Retry-After.
 */
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Message } from 'kafkajs';
import type { Logger } from 'pino';
import { pastRetention } from '../store/hot/layout';
import type { EventEnvelope, EventLimits, FieldError } from '../events/event';
import { serializeEnvelope } from '../events/event';
import { parseExact } from '../events/exactJson';
import { describeType, isJsonObject, parseTimestamp, utf8Length, validateEventRequest } from '../events/validate';
import { createGate, type AccessOptions } from '../platform/http/access';
import { BodyError, discardBody } from '../platform/http/body';
import { accessRouter } from '../platform/http/express';
import { KafkaUnavailableError, ProducerOverloadedError } from './batcher';
import { expressHttpMetrics } from '../platform/metrics/http';
import type { ProducerMetrics } from './metrics';
import { bodyReader } from './requestBody';
import { SEGMENT_PATHS, segmentRouteDeclarations, segmentRouter } from './segmentRoutes';

export interface ProducerAppDeps {
  /** Resolves once Kafka acknowledged every record. */
  publish: (messages: Message[]) => Promise<void>;
  /**
   * Admission control before a body is read: false when a request of about this many bytes
   * would exceed the in-flight caps. Unset: always room.
   */
  hasRoomFor?: (bytes: number) => boolean;
  /** True when Kafka answers (GET /ready). */
  isReady: () => Promise<boolean>;
  limits: EventLimits & { maxBatchEvents: number; maxBatchBytes: number };
  newEventId: () => string;
  metrics: ProducerMetrics;
  logger: Logger;
  now?: () => number;
  /** Keys, rate limit and CORS (src/platform/http/access.ts); unset: open, unlimited, no CORS. */
  access?: AccessOptions;
  /**
   * HOT_RETENTION_DAYS: an event already older is accepted into the archive only (the hot table
   * would never serve it), and the answer says so. 0 or unset: every event is served.
   */
  hotRetentionDays?: number;
}

const RETRY_AFTER_SECONDS = 5;
const BATCH_FIELDS = ['events', 'sent_at'];

/** A 4xx naming the fields, in the shape of /events: `{"error", "errors"}`. */
function refuse(res: Response, status: number, message: string, errors: FieldError[]): void {
  res.status(status).json({ error: message, ...(errors.length > 0 ? { errors } : {}) });
}

function toRecord(event: EventEnvelope): Message {
  return { key: event.user_id, value: serializeEnvelope(event), headers: { 'schema-version': String(event.schema_version) } };
}

export function createProducerApp(deps: ProducerAppDeps): express.Express {
  const now = deps.now ?? Date.now;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // First, so every answer is timed, refusals by the rules below included.
  app.use(expressHttpMetrics(deps.metrics.http));

  // Access rules before any route: what is not declared here (GET /metrics, unknown paths,
  // routes added later) needs a read key. Oversized bodies are refused before they are read.
  const gate = createGate(deps.access, ['POST']);
  app.use(
    accessRouter(
      gate,
      [
        { method: 'get', path: '/health', access: 'public' },
        { method: 'get', path: '/ready', access: 'public' },
        { method: 'post', path: '/events', access: 'write', maxBodyBytes: deps.limits.maxEventBytes },
        { method: 'post', path: '/events/batch', access: 'write', maxBodyBytes: deps.limits.maxBatchBytes },
        // Segment-compatible intake: the write key also in the body (`writeKey`), as Segment allows.
        ...segmentRouteDeclarations(deps.limits),
      ],
      'read',
    ),
  );

  // Bodies are read as bytes by the producer's one reader (requestBody.ts) and parsed here; a
  // BodyError of either reaches the error handler below, which answers it in this API's shape.
  // The Content-Type is checked once the body is read, as it always was on these routes.
  const body = (limit: number): RequestHandler =>
    bodyReader({ limit, accepts: /^application\/(.+\+)?json\b/i, expected: 'application/json', typeOptional: false, typeChecked: 'after' });
  const jsonBody = (req: Request): unknown => {
    const raw = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
    if (raw.trim() === '') throw new BodyError(400, 'Request body is empty', 'body', { detail: 'expected a JSON object' });
    try {
      // Numbers a double would change (int64 ids, long decimals) keep the client's digits.
      return parseExact(raw);
    } catch (err) {
      throw new BodyError(400, 'Request body is not valid JSON', 'body', { detail: (err as Error).message });
    }
  };

  let lastOverloadLogMs = 0;
  function countOverload(detail: string): void {
    deps.metrics.inc('requests_overloaded_total');
    // Refusals come by the thousand while Kafka is stuck: one line per 10 s, /metrics counts them.
    if (now() - lastOverloadLogMs > 10_000) {
      lastOverloadLogMs = now();
      deps.logger.warn({ detail }, 'producer at capacity; answering 503');
    }
  }
  /**
   * Sends the events to Kafka and says, per event, whether Kafka acknowledged it. On a failure
   * some may have been written (a request too large for one produce request spans several), and
   * `error` is the message for the 503.
   */
  async function publish(events: EventEnvelope[]): Promise<{ acknowledged: boolean[]; error?: string }> {
    try {
      await deps.publish(events.map(toRecord));
      deps.metrics.inc('events_accepted_total', events.length);
      return { acknowledged: events.map(() => true) };
    } catch (err) {
      const acknowledged = err instanceof KafkaUnavailableError && err.acknowledged?.length === events.length ? [...err.acknowledged] : events.map(() => false);
      const written = acknowledged.filter(Boolean).length;
      deps.metrics.inc('events_accepted_total', written);
      deps.metrics.inc('requests_unavailable_total');
      if (err instanceof ProducerOverloadedError) {
        countOverload(err.message);
        return { acknowledged, error: 'Producer at capacity while Kafka is slow; retry later' };
      }
      const unacknowledged = events.filter((_, i) => !acknowledged[i]).map((e) => e.event_id);
      // The first ids name the events a client is told to resend (all of them on a small batch).
      deps.logger.error({ err: (err as Error).message, events: events.length, written, event_ids: unacknowledged.slice(0, 20) }, 'Kafka did not acknowledge');
      return { acknowledged, error: err instanceof KafkaUnavailableError ? 'Event stream unavailable; retry later' : 'Event stream error; retry later' };
    }
  }

  /**
   * Why an accepted event is archived only, or undefined. The same rule (src/store/hot/layout.ts) decides
   * again when storeHot runs, so this answer is what happens unless the event crosses the line while
   * queued, and then it would have expired from the hot table within that time anyway.
   */
  const retentionDays = deps.hotRetentionDays ?? 0;
  const archiveOnly = (event: EventEnvelope, receivedAtMs: number): string | undefined =>
    pastRetention(event.timestamp, retentionDays, receivedAtMs)
      ? `timestamp ${event.timestamp} is older than HOT_RETENTION_DAYS (${retentionDays} days): archived only; no query, subscription or count will show it`
      : undefined;

  /** 503 with Retry-After: the client retries later, with the event_ids it was given. */
  const unavailable = (res: Response, body: Record<string, unknown>): void => {
    res.status(503).set('Retry-After', String(RETRY_AFTER_SECONDS)).json(body);
  };

  // At capacity (Kafka slow or gone), a request is refused before its body is read: reading and
  // parsing bodies only to refuse them would fill the heap as fast as clients send. Nothing of
  // such a request is written and no event_id is assigned; its body is thrown away unread. A
  // compressed or chunked body counts as the most it may become (its route's limit once
  // decompressed), not as the bytes on the wire: a 1 KB gzip body can be 500 KB of events. What
  // is sent to Kafka is counted exactly again when it is sent (src/producer/batcher.ts).
  const admit =
    (decodedLimit: number): RequestHandler =>
    (req, res, next) => {
      const length = Number(req.headers['content-length']);
      const encoding = String(req.headers['content-encoding'] ?? '')
        .trim()
        .toLowerCase();
      const plain = encoding === '' || encoding === 'identity';
      const bytes = plain && req.headers['content-length'] !== undefined && Number.isFinite(length) ? Math.min(length, decodedLimit) : decodedLimit;
      if (!deps.hasRoomFor || deps.hasRoomFor(bytes)) return next();
      deps.metrics.inc('requests_unavailable_total');
      countOverload('refused before reading the body');
      discardBody(req);
      unavailable(res, { error: 'Producer at capacity while Kafka is slow; nothing was written; retry later' });
    };

  app.post('/events', admit(deps.limits.maxEventBytes), body(deps.limits.maxEventBytes), async (req, res) => {
    const receivedAtMs = now();
    const input = jsonBody(req);
    const size = Buffer.isBuffer(req.body) ? req.body.length : 0;
    const result = validateEventRequest(input, { receivedAtMs, limits: deps.limits, newEventId: deps.newEventId, sizeBytes: size });
    if (!result.ok) {
      deps.metrics.inc('events_rejected_total');
      return refuse(res, 422, 'Invalid event', result.errors);
    }
    const published = await publish([result.value]);
    if (published.error) return unavailable(res, { error: published.error, event_id: result.value.event_id });
    const late = archiveOnly(result.value, receivedAtMs);
    res.status(202).json({
      event_id: result.value.event_id,
      status: 'accepted',
      ...(late ? { stored: 'archive', message: late } : { message: 'Event accepted for processing' }),
    });
  });

  app.post('/events/batch', admit(deps.limits.maxBatchBytes), body(deps.limits.maxBatchBytes), async (req, res) => {
    const receivedAtMs = now();
    const input = jsonBody(req);
    if (!isJsonObject(input)) return refuse(res, 422, 'Invalid batch', [{ field: 'body', message: `expected {"events": [...]}, got ${describeType(input)}` }]);
    const batchErrors: FieldError[] = Object.keys(input)
      .filter((k) => !BATCH_FIELDS.includes(k))
      .map((k) => ({ field: k, message: `unknown field; allowed: ${BATCH_FIELDS.join(', ')}` }));
    const events = input.events;
    if (!Array.isArray(events))
      batchErrors.push({ field: 'events', message: events === undefined ? 'required' : `expected an array, got ${describeType(events)}` });
    else if (events.length === 0) batchErrors.push({ field: 'events', message: 'expected at least one event' });
    else if (events.length > deps.limits.maxBatchEvents)
      batchErrors.push({ field: 'events', message: `at most ${deps.limits.maxBatchEvents} events per batch, got ${events.length}` });
    let clockSkewMs = 0;
    if (input.sent_at !== undefined) {
      const sentAt = parseTimestamp(input.sent_at);
      if (typeof sentAt === 'string') batchErrors.push({ field: 'sent_at', message: sentAt });
      else clockSkewMs = receivedAtMs - sentAt; // timestamp' = received_at - (sent_at - timestamp)
    }
    if (batchErrors.length > 0 || !Array.isArray(events)) return refuse(res, 422, 'Invalid batch', batchErrors);

    // 'unavailable': valid, given an event_id, but not acknowledged by Kafka (see the 503 below).
    const results: (
      | { index: number; status: 'accepted' | 'unavailable'; event_id: string; stored?: 'archive'; message?: string }
      | { index: number; status: 'rejected'; errors: FieldError[] }
    )[] = [];
    const accepted: EventEnvelope[] = [];
    events.forEach((item: unknown, index) => {
      const r = validateEventRequest(item, {
        receivedAtMs,
        limits: deps.limits,
        newEventId: deps.newEventId,
        clockSkewMs,
        fieldPrefix: `events[${index}].`,
        sizeBytes: utf8Length(JSON.stringify(item) ?? ''),
      });
      if (r.ok) {
        accepted.push(r.value);
        const late = archiveOnly(r.value, receivedAtMs);
        results.push({ index, status: 'accepted', event_id: r.value.event_id, ...(late ? { stored: 'archive' as const, message: late } : {}) });
      } else {
        results.push({ index, status: 'rejected', errors: r.errors });
      }
    });
    const rejected = events.length - accepted.length;
    deps.metrics.inc('events_rejected_total', rejected);
    const published = accepted.length > 0 ? await publish(accepted) : { acknowledged: [] };
    if (published.error) {
      // Each item says whether it was written: retrying the unavailable ones with the same
      // event_ids (or the whole batch with every event_id) stores each event once.
      const written = new Set(accepted.filter((_, i) => published.acknowledged[i]).map((e) => e.event_id));
      for (const r of results) if (r.status === 'accepted' && !written.has(r.event_id)) r.status = 'unavailable';
      return unavailable(res, { error: published.error, accepted: written.size, unavailable: accepted.length - written.size, rejected, results });
    }
    // 202 when anything was accepted (per-item results say which); 422 when nothing was.
    res.status(accepted.length > 0 ? 202 : 422).json({ accepted: accepted.length, rejected, results });
  });

  app.use(
    segmentRouter({
      gate,
      admit,
      publish,
      limits: deps.limits,
      archiveOnly: (event) => archiveOnly(event, Date.parse(event.received_at)),
      newEventId: deps.newEventId,
      now,
      metrics: deps.metrics,
      retryAfterSeconds: RETRY_AFTER_SECONDS,
    }),
  );

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/ready', async (_req, res) => {
    const ready = await deps.isReady().catch(() => false);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable', kafka: ready ? 'reachable' : 'unreachable' });
  });

  app.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.contentType).send(await deps.metrics.text());
  });

  app.use((req, res) => {
    res.status(404).json({
      error: `No route for ${req.method} ${req.path}`,
      routes: ['POST /events', 'POST /events/batch', ...SEGMENT_PATHS.map((p) => `POST ${p}`), 'GET /health', 'GET /ready', 'GET /metrics'],
    });
  });

  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof BodyError) {
      // An oversized event or batch counts as rejected (the /v1 routes answer their own, uncounted).
      if (err.status === 413) deps.metrics.inc('events_rejected_total');
      refuse(res, err.status, err.message, err.errors);
      return;
    }
    // Errors of Express itself (a malformed URL) carry their own 4xx status.
    const status = (err as { status?: number; statusCode?: number }).status ?? (err as { statusCode?: number }).statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      res.status(status).json({ error: (err as Error).message });
      return;
    }
    deps.logger.error({ err }, 'unhandled error');
    res.status(500).json({ error: 'Internal error' });
  });

  return app;
}
