/**
 * Optional API-key authentication for the producer and GraphQL APIs. With API_KEYS unset both
 * are open (the local stack); with it set, a request must carry one of the keys as
 * `Authorization: Bearer <key>` or `X-API-Key: <key>`. Health and readiness probes stay open.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

type Headers = Record<string, string | string[] | undefined>;

const digest = (key: string) => createHash('sha256').update(key).digest();

export const API_KEY_ERROR = {
  error: 'Missing or invalid API key',
  errors: [{ field: 'authorization', message: 'send "Authorization: Bearer <key>" or "X-API-Key: <key>" with a key from API_KEYS' }],
};

/** Returns a check for request headers, or undefined when no keys are configured. */
export function createApiKeyCheck(keys: readonly string[]): ((headers: Headers) => boolean) | undefined {
  if (keys.length === 0) return undefined;
  // Compare fixed-length digests in constant time, so response timing says nothing about a key.
  const allowed = keys.map(digest);
  return (headers) => {
    const auth = headers.authorization;
    const header = headers['x-api-key'];
    const presented = typeof auth === 'string' && /^Bearer\s+/i.test(auth) ? auth.replace(/^Bearer\s+/i, '').trim() : typeof header === 'string' ? header.trim() : '';
    if (!presented) return false;
    const d = digest(presented);
    return allowed.reduce((ok, a) => timingSafeEqual(a, d) || ok, false);
  };
}
