/**
 * Token-bucket rate limits kept in this process: each client (an API key, or the client IP when
 * no valid key is sent) has a bucket of `burst` tokens refilled at `perSecond`. Several
 * instances each keep their own buckets, so the effective limit is N × the configured one.
 *
 * Memory is bounded: buckets live in an insertion-ordered Map, least recently used first. Only a
 * bucket that has surely refilled (untouched for as long as a refill from empty takes) is dropped,
 * since it is the same as no bucket; a bucket still in use is never dropped, or a client could
 * reset its own spent bucket by making others. While `maxClients` buckets are all in use, every
 * client without one shares a single overflow bucket until some refill.
 */

export interface RateLimitSettings {
  /** Tokens added per second; 0 disables the limit. */
  perSecond: number;
  /** Bucket size: how many requests a client may send at once. */
  burst: number;
  /** At most this many buckets are kept (default 50 000, a few MB); Infinity for a bounded set of clients (keys). */
  maxClients?: number;
}

export interface RateDecision {
  allowed: boolean;
  /** Values of the IETF draft's RateLimit-Limit / -Remaining / -Reset headers. */
  limit: number;
  remaining: number;
  /** Seconds until the bucket is full again. */
  resetSeconds: number;
  /** Seconds until the next request can pass (0 when allowed). */
  retryAfterSeconds: number;
  /** "burst;w=window" for RateLimit-Policy. */
  policy: string;
}

export interface RateLimiter {
  take(client: string): RateDecision;
  /** Buckets currently held (for tests and metrics). */
  size(): number;
}

interface Bucket {
  tokens: number;
  updatedMs: number;
}

export function createRateLimiter(settings: RateLimitSettings, now: () => number = Date.now): RateLimiter | undefined {
  const { perSecond, burst } = settings;
  if (perSecond <= 0) return undefined;
  const maxClients = settings.maxClients ?? 50_000;
  const buckets = new Map<string, Bucket>();
  const overflow: Bucket = { tokens: burst, updatedMs: now() };
  const refillMsPerToken = 1000 / perSecond;
  const fullAfterMs = burst * refillMsPerToken;
  const policy = `${burst};w=${Math.max(1, Math.ceil(burst / perSecond))}`;

  const refill = (b: Bucket, at: number) => {
    b.tokens = Math.min(burst, b.tokens + (at - b.updatedMs) / refillMsPerToken);
    b.updatedMs = at;
  };

  /**
   * Drops buckets at the LRU end that are full again; stops at the first one still in use (the
   * Map is in order of last use, so every later one was used more recently).
   */
  const evictRefilled = (at: number) => {
    for (const [client, b] of buckets) {
      if (at - b.updatedMs < fullAfterMs) break;
      buckets.delete(client);
    }
  };

  return {
    take(client) {
      const at = now();
      evictRefilled(at);
      let b = buckets.get(client);
      if (b) {
        buckets.delete(client); // re-inserted below: the Map's order is least recently used first
        refill(b, at);
        buckets.set(client, b);
      } else if (buckets.size < maxClients) {
        b = { tokens: burst, updatedMs: at };
        buckets.set(client, b);
      } else {
        b = overflow;
        refill(b, at);
      }
      const allowed = b.tokens >= 1;
      if (allowed) b.tokens -= 1;
      return {
        allowed,
        limit: burst,
        remaining: Math.floor(b.tokens),
        resetSeconds: Math.ceil(((burst - b.tokens) * refillMsPerToken) / 1000),
        retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil(((1 - b.tokens) * refillMsPerToken) / 1000)),
        policy,
      };
    },
    size: () => buckets.size,
  };
}

/** Response headers of a decision: the IETF draft's fields, plus Retry-After when refused. */
export function rateLimitHeaders(d: RateDecision): Record<string, string> {
  return {
    'ratelimit-limit': String(d.limit),
    'ratelimit-remaining': String(d.remaining),
    'ratelimit-reset': String(d.resetSeconds),
    'ratelimit-policy': d.policy,
    ...(d.allowed ? {} : { 'retry-after': String(d.retryAfterSeconds) }),
  };
}
