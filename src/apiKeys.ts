/**
 * A yes/no key check for small servers outside the two APIs (the bridge's /metrics): a request
 * passes with one of `keys` (READ_KEYS: keys that may read) as Bearer, X-API-Key or Basic user
 * name. The producer and GraphQL use the fuller rules of src/platform/http/access.ts (write vs read keys,
 * 401 vs 403, rate limits).
 */
import { createKeyRing, presentedKey, type RequestHeaders } from './platform/http/keys';

export const API_KEY_ERROR = {
  error: 'Missing or invalid API key',
  errors: [{ field: 'authorization', message: 'send "Authorization: Bearer <key>" or "X-API-Key: <key>" with a key from READ_KEYS' }],
};

/** Returns a check for request headers, or undefined when no keys are configured. */
export function createApiKeyCheck(keys: readonly string[]): ((headers: RequestHeaders) => boolean) | undefined {
  if (keys.length === 0) return undefined;
  const ring = createKeyRing({ write: [], read: keys });
  return (headers) => {
    const presented = presentedKey(headers);
    return presented !== undefined && ring.identify(presented) !== undefined;
  };
}
