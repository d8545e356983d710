/**
 * CORS for browser senders, the same on both servers. Keys travel in headers, never in cookies,
 * so credentials are never allowed: `Access-Control-Allow-Credentials` is never sent, and a
 * wildcard origin can therefore never meet credentials. Without configured origins no CORS
 * header is sent at all (browsers then refuse cross-origin reads, the safe default).
 */
import type { RequestHeaders } from './keys';

export const CORS_ALLOWED_HEADERS = ['Authorization', 'Content-Type', 'X-API-Key', 'Content-Encoding'];
const MAX_AGE_SECONDS = 600;

export interface CorsAnswer {
  /** Headers to add to the response. */
  headers: Record<string, string>;
  /** True for a preflight: answer 204 with these headers and stop. */
  preflight: boolean;
}

export interface CorsPolicy {
  answer(method: string, headers: RequestHeaders): CorsAnswer;
}

/** `origins`: exact origins such as https://shop.example.com, or ['*'] for any. Empty: no CORS. */
export function createCorsPolicy(origins: readonly string[], methods: readonly string[]): CorsPolicy | undefined {
  if (origins.length === 0) return undefined;
  const any = origins.includes('*');
  const allowed = new Set(origins.map((o) => o.toLowerCase()));
  return {
    answer(method, headers) {
      const origin = typeof headers.origin === 'string' ? headers.origin : undefined;
      // With a list, the answer depends on Origin: caches must key on it.
      const vary: Record<string, string> = any ? {} : { vary: 'Origin' };
      const preflight = method === 'OPTIONS' && origin !== undefined && typeof headers['access-control-request-method'] === 'string';
      if (origin === undefined || (!any && !allowed.has(origin.toLowerCase()))) return { headers: vary, preflight };
      const allowOrigin = { 'access-control-allow-origin': any ? '*' : origin, ...vary };
      if (!preflight)
        return {
          headers: { ...allowOrigin, 'access-control-expose-headers': 'Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, RateLimit-Policy' },
          preflight,
        };
      return {
        preflight,
        headers: {
          ...allowOrigin,
          'access-control-allow-methods': methods.join(', '),
          'access-control-allow-headers': CORS_ALLOWED_HEADERS.join(', '),
          'access-control-max-age': String(MAX_AGE_SECONDS),
        },
      };
    },
  };
}
