/**
 * What every answer of both APIs carries, and the socket limits of both servers.
 *
 * Headers: answers are JSON (or text for /metrics, HTML for GraphiQL), never to be sniffed into
 * something else, cached by shared caches, or framed by another site (clickjacking GraphiQL).
 * A route may still set its own Cache-Control (GraphiQL's static assets do).
 *
 * Timeouts: Node checks header and request deadlines every `checkIntervalMs`; a client that
 * trickles its headers or body (slow loris) is cut off after headersTimeoutMs / requestTimeoutMs
 * plus at most one check interval, with 408.
 */
import type { Server } from 'node:http';

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
  'content-security-policy': "frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
};

export interface ServerTimeouts {
  /** Whole request, headers and body (http.Server requestTimeout). */
  requestTimeoutMs: number;
  /** Request line and headers (http.Server headersTimeout). */
  headersTimeoutMs: number;
  /** Idle keep-alive connection (http.Server keepAliveTimeout). */
  keepAliveTimeoutMs: number;
  /** Requests per connection before it is closed; 0: no limit. */
  maxRequestsPerSocket: number;
  /** How often Node checks the two deadlines above. */
  checkIntervalMs: number;
}

/** Sets the limits on a server that is not listening yet (the check interval is read at listen). */
export function applyServerTimeouts(server: Server, t: ServerTimeouts): Server {
  server.requestTimeout = t.requestTimeoutMs;
  server.headersTimeout = Math.min(t.headersTimeoutMs, t.requestTimeoutMs);
  server.keepAliveTimeout = t.keepAliveTimeoutMs;
  server.maxRequestsPerSocket = t.maxRequestsPerSocket;
  // No socket idle timeout (server.timeout): it would also cut a client off while it waits for a
  // slow answer (a Kafka produce up to KAFKA_PRODUCE_TIMEOUT_MS). A socket that sends nothing at
  // all is already closed by the headers deadline.
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = t.checkIntervalMs;
  return server;
}

/** A declared Content-Length over `limit`: refuse before reading a byte of the body. */
export function declaredLengthOver(headers: Record<string, string | string[] | undefined>, limit: number): number | undefined {
  const declared = headers['content-length'];
  if (typeof declared !== 'string' || !/^\d+$/.test(declared)) return undefined;
  const length = Number(declared);
  return length > limit ? length : undefined;
}

/** The 413's JSON; `length` undefined: a body without Content-Length, cut off past the limit. */
export function bodyTooLarge(length: number | undefined, limit: number) {
  const size = length === undefined ? `more than ${limit}` : String(length);
  return { error: `Request body is ${size} bytes; the limit is ${limit}`, errors: [{ field: 'body', message: `at most ${limit} bytes` }] };
}
