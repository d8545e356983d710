/**
 * Who may use a route, decided once per request and the same way on both servers:
 *   1. rate limit: per key when a valid key is sent, else per client address (an IPv4 address, or
 *      an IPv6 /64; so random keys do not buy fresh buckets) → 429 with Retry-After and RateLimit-*
 *      headers; a key sent in the body (Segment's `writeKey`) is limited per key once it is read;
 *   2. key: a side with keys configured needs one of its own kind. Missing or unknown → 401;
 *      a key of the other kind → 403. A side without keys is open.
 * Routes say what they need by their route (never by URL text); anything not declared public
 * needs a key (see express.ts and fastify.ts). Servers outside the two APIs (the bridge) use the
 * plain read-key check at the end. What a key is and how it is compared: keys.ts.
 */
import { isIP } from 'node:net';
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
  /**
   * A bucket per valid key (their number is bounded by the key lists, so none is ever dropped)
   * and one per client address (bounded, see rateLimit.ts).
   */
  limiters: { byKey: RateLimiter; byAddress: RateLimiter } | undefined;
  cors: CorsPolicy | undefined;
}

export function createGate(options: AccessOptions = {}, corsMethods: readonly string[]): Gate {
  const hops = options.trustedProxyHops ?? 0;
  return {
    clientAddress: (socketAddress, headers) => clientAddress(socketAddress, headers['x-forwarded-for'], hops),
    keys: createKeyRing({ write: options.writeKeys ?? [], read: options.readKeys ?? [] }),
    limiters: createLimiters(options.rateLimit, options.now),
    cors: createCorsPolicy(options.corsOrigins ?? [], corsMethods),
  };
}

function createLimiters(settings: RateLimitSettings | undefined, now: (() => number) | undefined): Gate['limiters'] {
  const byAddress = settings && createRateLimiter(settings, now);
  const byKey = settings && createRateLimiter({ ...settings, maxClients: Infinity }, now);
  return byAddress && byKey ? { byKey, byAddress } : undefined;
}

const IPV4_WITH_PORT = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/;
const BRACKETED = /^\[([^\]]+)\](?::\d{1,5})?$/;

/**
 * The rate-limit identity of an address as a socket or a proxy writes it. One client must not
 * get several buckets by spelling its address differently, nor by using the addresses of its
 * own network: `::ffff:203.0.113.7` (IPv4 on a dual-stack socket) and `203.0.113.7:51000` (some
 * balancers add the port) are `203.0.113.7`; `[2001:db8::1]:443` loses brackets and port;
 * `fe80::1%eth0` its zone; and an IPv6 address counts as its /64, the block a single subscriber
 * or host is given (`2001:db8:0:1::/64`). Text that is no address is kept, cut to 64 characters.
 */
export function normalizeAddress(text: string): string {
  let address = text.trim().replace(/^"(.*)"$/, '$1');
  const bracketed = BRACKETED.exec(address);
  if (bracketed) address = bracketed[1]!;
  const v4WithPort = IPV4_WITH_PORT.exec(address);
  if (v4WithPort) address = v4WithPort[1]!;
  address = address.replace(/%.*$/, '');
  const kind = isIP(address);
  if (kind === 4) return address;
  if (kind !== 6) return text.trim().toLowerCase().slice(0, 64);
  const groups = ipv6Groups(address);
  // IPv4-mapped (::ffff:a.b.c.d): the IPv4 client it is.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return [groups[6]! >> 8, groups[6]! & 255, groups[7]! >> 8, groups[7]! & 255].join('.');
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (WHATWG URL writes it canonically first). */
function ipv6Groups(address: string): number[] {
  const canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  const [head, tail] = canonical.includes('::') ? canonical.split('::') : [canonical, undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((g) => parseInt(g, 16));
}

/**
 * Behind `hops` trusted proxies, each appending the address it saw to X-Forwarded-For, the
 * client is the entry `hops` from the right; entries further left are whatever the client sent
 * and are never trusted. With 0 hops, or a header shorter than that, the socket address counts.
 * Either way the address is normalised (normalizeAddress).
 */
export function clientAddress(socketAddress: string | undefined, forwardedFor: string | string[] | undefined, hops: number): string {
  const socket = socketAddress === undefined ? 'unknown' : normalizeAddress(socketAddress);
  if (hops <= 0 || forwardedFor === undefined) return socket;
  const chain = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  return chain.length >= hops ? normalizeAddress(chain[chain.length - hops]!) : socket;
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
  const limited = takeToken(gate, match, clientIp, 'authorization');
  if (isRefusal(limited)) return limited;
  const rateHeaders = limited.headers;
  if (needed === 'public' || !gate.keys.protects(needed)) return { headers: rateHeaders };
  // No key in the headers, but the body may hold one: the rate limit above was taken per client
  // address, so reading bodies without a key is bounded like any keyless request; admitBodyKey
  // then takes the key's own.
  if (presented === undefined && opts.keyInBody) return { headers: rateHeaders, keyPending: needed };
  return keyDecision(needed, presented, match, rateHeaders, 'authorization', opts.keyInBody ? `${HOW}, or "writeKey" in the body` : HOW);
}

/** One token from the key's bucket (a valid key) or else the client address's; a 429 when there is none. */
function takeToken(gate: Gate, match: KeyMatch | undefined, clientIp: string, keyField: string): Admission | Refusal {
  if (!gate.limiters) return { headers: {} };
  const decision = match ? gate.limiters.byKey.take(match.id) : gate.limiters.byAddress.take(clientIp);
  const headers = rateLimitHeaders(decision);
  if (decision.allowed) return { headers };
  return {
    status: 429,
    headers,
    body: {
      error: `Too many requests; retry after ${decision.retryAfterSeconds} s`,
      errors: [
        {
          field: match ? keyField : 'client',
          message: `at most ${decision.limit} requests at once, refilled over ${decision.policy.split('w=')[1]} s, per ${match ? 'key' : 'client address'}`,
        },
      ],
    },
  };
}

/**
 * The key check for a key sent in the body (Segment's `writeKey`), on a request that `admit`
 * let through with `keyPending`: the same answers as for a key in the headers, naming the field,
 * and the same per-key rate limit (the address's was taken already, before the body was read).
 */
export function admitBodyKey(gate: Gate, needed: KeyKind, key: unknown, field = 'writeKey'): Admission | Refusal {
  const presented = typeof key === 'string' && key !== '' ? key : undefined;
  const match = presented === undefined ? undefined : gate.keys.identify(presented);
  let rateHeaders: Record<string, string> = {};
  if (match) {
    const limited = takeToken(gate, match, '', field);
    if (isRefusal(limited)) return limited;
    rateHeaders = limited.headers;
  }
  return keyDecision(needed, presented, match, rateHeaders, presented === undefined ? 'authorization' : field, `${HOW}, or "${field}" in the body`);
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

/**
 * The yes/no rule of small servers outside the two APIs (the bridge's /metrics): a request passes
 * with one of `readKeys` in any form presentedKey reads; anything else gets READ_KEY_REFUSAL
 * (401; no 403, no rate limit). Undefined when no keys are configured: the route is open.
 */
export function createReadKeyCheck(readKeys: readonly string[]): ((headers: RequestHeaders) => boolean) | undefined {
  if (readKeys.length === 0) return undefined;
  const ring = createKeyRing({ write: [], read: readKeys });
  return (headers) => {
    const presented = presentedKey(headers);
    return presented !== undefined && ring.identify(presented) !== undefined;
  };
}

export const READ_KEY_REFUSAL = {
  error: 'Missing or invalid API key',
  errors: [{ field: 'authorization', message: 'send "Authorization: Bearer <key>" or "X-API-Key: <key>" with a key from READ_KEYS' }],
};

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
