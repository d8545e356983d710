/**
 * Who may use a route, decided once per request and the same way on both servers:
 *   1. rate limit: per key when a valid key is sent, else per client IP (so random keys do not
 *      buy fresh buckets) → 429 with Retry-After and RateLimit-* headers;
 *   2. key: a side with keys configured needs one of its own kind. Missing or unknown → 401;
 *      a key of the other kind → 403. A side without keys is open.
 * Routes say what they need by their route (never by URL text); anything not declared public
 * needs a key (see express.ts and fastify.ts).
 */
import type { Logger } from 'pino';
import { createCorsPolicy, type CorsPolicy } from './cors';
import { createKeyRing, presentedKey, type KeyKind, type KeyMatch, type KeyRing, type RequestHeaders } from './keys';
import { createRateLimiter, rateLimitHeaders, type RateLimiter, type RateLimitSettings } from './rateLimit';

export type RouteAccess = 'public' | KeyKind;

/** What an app needs to know to guard its routes; every part optional (unset: open, no limit). */
export interface AccessOptions {
  writeKeys?: readonly string[];
  readKeys?: readonly string[];
  rateLimit?: RateLimitSettings;
  corsOrigins?: readonly string[];
  /** Proxies in front of the server that append to X-Forwarded-For (0: use the socket address). */
  trustedProxyHops?: number;
  now?: () => number;
}

export interface Gate {
  /** The client's address, for per-address rate limits. */
  clientAddress(socketAddress: string | undefined, headers: RequestHeaders): string;
  keys: KeyRing;
  limiter: RateLimiter | undefined;
  cors: CorsPolicy | undefined;
}

export function createGate(options: AccessOptions = {}, corsMethods: readonly string[]): Gate {
  const hops = options.trustedProxyHops ?? 0;
  return {
    clientAddress: (socketAddress, headers) => clientAddress(socketAddress, headers['x-forwarded-for'], hops),
    keys: createKeyRing({ write: options.writeKeys ?? [], read: options.readKeys ?? [] }),
    limiter: options.rateLimit ? createRateLimiter(options.rateLimit, options.now) : undefined,
    cors: createCorsPolicy(options.corsOrigins ?? [], corsMethods),
  };
}

/**
 * Behind `hops` trusted proxies, each appending the address it saw to X-Forwarded-For, the
 * client is the entry `hops` from the right; entries further left are whatever the client sent
 * and are never trusted. With 0 hops, or a header shorter than that, the socket address counts.
 */
export function clientAddress(socketAddress: string | undefined, forwardedFor: string | string[] | undefined, hops: number): string {
  const socket = socketAddress ?? 'unknown';
  if (hops <= 0 || forwardedFor === undefined) return socket;
  const chain = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  return chain.length >= hops ? chain[chain.length - hops]! : socket;
}

export interface Refusal {
  status: 401 | 403 | 429;
  headers: Record<string, string>;
  body: { error: string; errors: { field: string; message: string }[] };
}

export interface Admission {
  /** Headers to send with the answer (RateLimit-*). */
  headers: Record<string, string>;
  /**
   * Set on a route that also takes its key from the body (Segment's `writeKey`) when the headers
   * carried none: the route must call admitBodyKey once it has read the body.
   */
  keyPending?: KeyKind;
}

const HOW = 'send "Authorization: Bearer <key>", "X-API-Key: <key>" or HTTP Basic with the key as user name';
const SIDE: Record<KeyKind, { keys: string; use: string }> = {
  write: { keys: 'WRITE_KEYS', use: 'posting events' },
  read: { keys: 'READ_KEYS', use: 'reading (GraphQL, /metrics)' },
};

/**
 * Decides on a request to a route that needs `needed`. Public routes (probes, the GraphiQL page)
 * need no key but are rate-limited like the rest: /ready asks Kafka, and must not become a way to
 * flood it.
 */
export function admit(gate: Gate, needed: RouteAccess, headers: RequestHeaders, clientIp: string, opts: { keyInBody?: boolean } = {}): Admission | Refusal {
  const presented = presentedKey(headers);
  const match = presented === undefined ? undefined : gate.keys.identify(presented);
  let rateHeaders: Record<string, string> = {};
  if (gate.limiter) {
    const decision = gate.limiter.take(match ? `key:${match.id}` : `ip:${clientIp}`);
    rateHeaders = rateLimitHeaders(decision);
    if (!decision.allowed) {
      return {
        status: 429,
        headers: rateHeaders,
        body: {
          error: `Too many requests; retry after ${decision.retryAfterSeconds} s`,
          errors: [
            {
              field: match ? 'authorization' : 'client',
              message: `at most ${decision.limit} requests at once, refilled over ${decision.policy.split('w=')[1]} s, per ${match ? 'key' : 'client address'}`,
            },
          ],
        },
      };
    }
  }
  if (needed === 'public' || !gate.keys.protects(needed)) return { headers: rateHeaders };
  // No key in the headers, but the body may hold one: the rate limit above was taken per client
  // address, so reading bodies without a key is bounded like any keyless request.
  if (presented === undefined && opts.keyInBody) return { headers: rateHeaders, keyPending: needed };
  return keyDecision(needed, presented, match, rateHeaders, 'authorization', opts.keyInBody ? `${HOW}, or "writeKey" in the body` : HOW);
}

/**
 * The key check for a key sent in the body (Segment's `writeKey`), on a request that `admit`
 * let through with `keyPending`: the same answers as for a key in the headers, naming the field.
 */
export function admitBodyKey(gate: Gate, needed: KeyKind, key: unknown, field = 'writeKey'): Admission | Refusal {
  const presented = typeof key === 'string' && key !== '' ? key : undefined;
  const match = presented === undefined ? undefined : gate.keys.identify(presented);
  return keyDecision(needed, presented, match, {}, presented === undefined ? 'authorization' : field, `${HOW}, or "${field}" in the body`);
}

function keyDecision(
  needed: KeyKind,
  presented: string | undefined,
  match: KeyMatch | undefined,
  rateHeaders: Record<string, string>,
  field: string,
  how: string,
): Admission | Refusal {
  const www = { ...rateHeaders, 'www-authenticate': 'Bearer' };
  if (presented === undefined) {
    return { status: 401, headers: www, body: { error: 'Missing API key', errors: [{ field, message: `${how}, with a key from ${SIDE[needed].keys}` }] } };
  }
  if (!match) {
    return { status: 401, headers: www, body: { error: 'Invalid API key', errors: [{ field, message: `not a key of ${SIDE[needed].keys}` }] } };
  }
  if (match.kind !== needed) {
    return {
      status: 403,
      headers: rateHeaders,
      body: {
        error: `A ${match.kind} key cannot be used here`,
        errors: [{ field, message: `this route is for ${SIDE[needed].use} and needs a key from ${SIDE[needed].keys}` }],
      },
    };
  }
  return { headers: rateHeaders };
}

export const isRefusal = (d: Admission | Refusal): d is Refusal => 'status' in d;

/** At startup: a side without keys outside development is said loudly, once per process. */
export function warnIfOpen(logger: Logger, environment: string, sides: { kind: KeyKind; keys: readonly string[]; what: string }[]): void {
  if (environment === 'development') return;
  for (const side of sides) {
    if (side.keys.length > 0) continue;
    logger.warn(
      { environment, variable: SIDE[side.kind].keys },
      `SECURITY: ${SIDE[side.kind].keys} is empty in ${environment}: ${side.what} is open to anyone who can reach this port`,
    );
  }
}
