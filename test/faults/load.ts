/**
 * The client side of the fault suite: posts events the way a careful client would, and keeps
 * the ledger the audit checks against. Every event carries `payload.seq` (unique per logical
 * event) and `payload.phase` (the fault running when it was first posted).
 *
 * - A third of the events carry a client event_id; some of those are posted a second time
 *   later (an SDK retry or a replayed batch), which must not store anything twice.
 * - A 503 or a network error is retried with the same event_id (the producer names the id it
 *   assigned, so events sent without one can be retried safely too). An event whose first post
 *   failed before any id was known is "unknown": it may or may not be stored, but at most once.
 * - A few deliberately invalid events with client ids must get a 4xx and never be stored.
 */
import { randomUUID } from 'node:crypto';

export interface LedgerEvent {
  seq: number;
  phase: string;
  request: Record<string, unknown>;
}

export interface Ledger {
  /** event_id → the event, for every id that got a 202 (or an `accepted` item in a batch). */
  accepted: Map<string, LedgerEvent>;
  /** Client event_ids of requests that were answered 4xx. */
  rejected: Set<string>;
  /** seqs whose first post failed before the client knew an id: stored at most once. */
  unknown: Set<number>;
  /** Client event_ids posted a second time after their first 202. */
  reposted: Set<string>;
  /** Answers by status, for the report. */
  statuses: Map<string, number>;
}

const EVENT_TYPES = ['page_view', 'click', 'signup', 'purchase'];

type ItemResult = { index: number; status: string; event_id?: string };

export interface LoadOptions {
  producerUrl: string;
  /** New events per second (singles + batch items); `setRate` changes it while running. */
  ratePerSecond: number;
  /** The fault in progress, stamped on each new event. */
  phase: () => string;
}

export function createLoad(opts: LoadOptions) {
  const ledger: Ledger = { accepted: new Map(), rejected: new Set(), unknown: new Set(), reposted: new Set(), statuses: new Map() };
  let seq = 0;
  let rate = opts.ratePerSecond;
  let running = false;
  let loop: Promise<void> | undefined;
  const pending = new Set<Promise<void>>();
  const clientIdEvents: string[] = [];

  const count = (status: string) => ledger.statuses.set(status, (ledger.statuses.get(status) ?? 0) + 1);

  function newEvent(withClientId: boolean): LedgerEvent {
    const s = seq++;
    const phase = opts.phase();
    const request: Record<string, unknown> = {
      event_type: EVENT_TYPES[s % EVENT_TYPES.length],
      user_id: `fault-user-${s % 40}`,
      payload: { seq: s, phase, amount: (s * 7) % 1000, note: `event ${s}`, tags: ['a', 'b'], nested: { ok: true } },
      timestamp: new Date(Date.now() - (s % 5) * 1000).toISOString(),
    };
    if (withClientId) request.event_id = randomUUID();
    return { seq: s, phase, request };
  }

  async function post(path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> } | undefined> {
    try {
      const res = await fetch(`${opts.producerUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
      const text = await res.text();
      count(String(res.status));
      try {
        return { status: res.status, body: JSON.parse(text) as Record<string, unknown> };
      } catch {
        return { status: res.status, body: {} };
      }
    } catch (err) {
      // Refused: the request never reached a producer, so sending it again is safe even without
      // an event_id. Anything else (reset, timeout) may have been written: outcome unknown.
      const refused = (err as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED';
      count(refused ? 'connection refused' : 'network error');
      return refused ? { status: 0, body: {} } : undefined;
    }
  }

  /** Posts the events (one per request, or as one batch); retries what was not written. */
  async function send(events: LedgerEvent[], asBatch: boolean): Promise<void> {
    let todo = events;
    let delay = 500;
    for (let attempt = 0; todo.length > 0; attempt++) {
      const retryLater: LedgerEvent[] = [];
      if (asBatch) {
        const res = await post('/events/batch', { events: todo.map((e) => e.request) });
        const results = (res?.body.results as ItemResult[] | undefined) ?? [];
        todo.forEach((e, i) =>
          settle(
            e,
            res?.status,
            results.find((r) => r.index === i),
            retryLater,
          ),
        );
      } else {
        for (const e of todo) {
          const res = await post('/events', e.request);
          settle(
            e,
            res?.status,
            res ? { index: 0, status: res.status === 202 ? 'accepted' : String(res.status), event_id: res.body.event_id as string | undefined } : undefined,
            retryLater,
          );
        }
      }
      todo = retryLater;
      if (todo.length > 0) {
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 5_000);
      }
    }
  }

  function settle(e: LedgerEvent, status: number | undefined, item: ItemResult | undefined, retryLater: LedgerEvent[]): void {
    const clientId = e.request.event_id as string | undefined;
    if (item?.status === 'accepted' && (item.event_id ?? clientId)) {
      const id = (item.event_id ?? clientId)!;
      if (clientId && ledger.accepted.has(clientId)) ledger.reposted.add(clientId);
      ledger.accepted.set(id, e);
      if (clientId) ledger.unknown.delete(e.seq);
      return;
    }
    if (status !== undefined && status >= 400 && status < 500 && status !== 429) {
      if (clientId) ledger.rejected.add(clientId);
      return;
    }
    if (status === 0) {
      retryLater.push(e); // connection refused: nothing was written
      return;
    }
    // 503 / 429 / network error: retry with the id the producer named, if any.
    const id = clientId ?? item?.event_id;
    if (id) {
      e.request.event_id = id;
      ledger.unknown.delete(e.seq);
      retryLater.push(e);
    } else {
      ledger.unknown.add(e.seq);
    }
  }

  function track(p: Promise<void>): void {
    pending.add(p);
    void p.finally(() => pending.delete(p));
  }

  async function tick(n: number): Promise<void> {
    if (rate <= 0) return; // paused: only bursts and probes post
    const perTick = Math.max(1, Math.round(rate));
    const batchSize = Math.max(1, Math.floor((perTick * 2) / 3));
    const batch = Array.from({ length: batchSize }, (_, i) => newEvent(i % 3 === 0));
    const singles = Array.from({ length: perTick - batchSize }, (_, i) => newEvent(i % 3 === 0));
    track(send(batch, true).then(() => remember(batch)));
    for (const e of singles) track(send([e], false).then(() => remember([e])));
    // Every third second: post an earlier client-id event again, as an SDK retry would.
    if (n % 3 === 0 && clientIdEvents.length > 0) {
      const id = clientIdEvents[(n * 7919) % clientIdEvents.length]!;
      const original = ledger.accepted.get(id);
      if (original) track(send([{ ...original, request: { ...original.request } }], n % 2 === 0));
    }
    // Every tenth second: an invalid event with a client id (must be 422 and never stored).
    if (n % 10 === 5) {
      const bad = newEvent(true);
      bad.request.event_type = 'not valid!';
      track(send([bad], false));
    }
  }

  function remember(events: LedgerEvent[]): void {
    for (const e of events) {
      const id = e.request.event_id as string | undefined;
      if (id && ledger.accepted.has(id)) clientIdEvents.push(id);
    }
  }

  return {
    ledger,
    start(): void {
      running = true;
      loop = (async () => {
        for (let n = 0; running; n++) {
          const started = Date.now();
          await tick(n);
          await new Promise((r) => setTimeout(r, Math.max(0, 1_000 - (Date.now() - started))));
        }
      })();
    },
    /** Stops posting new events and waits for every retry to settle. */
    async stop(): Promise<void> {
      running = false;
      await loop;
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
    setRate(perSecond: number): void {
      rate = perSecond;
    },
    /**
     * Posts `count` new events as fast as the producer takes them (batches of 100, four at a
     * time, retried like the steady load) and resolves once each is settled: a backlog on demand.
     */
    async burst(count: number): Promise<void> {
      const batches = Array.from({ length: Math.ceil(count / 100) }, (_, b) =>
        Array.from({ length: Math.min(100, count - b * 100) }, (_, i) => newEvent(i % 3 === 0)),
      );
      const lanes = Array.from({ length: 4 }, async () => {
        for (let batch = batches.shift(); batch; batch = batches.shift()) {
          const events = batch;
          const sent = send(events, true).then(() => remember(events));
          track(sent);
          await sent;
        }
      });
      await Promise.all(lanes);
    },
    /** Posts one event with a client id until it is accepted; for recovery probes. */
    async probe(phase: string): Promise<string> {
      const e = newEvent(true);
      e.request.payload = { ...(e.request.payload as object), phase, probe: true };
      e.phase = phase;
      await send([e], false);
      return e.request.event_id as string;
    },
    posted: () => seq,
  };
}
