/**
 * Who may open live subscriptions: the read keys (READ_KEYS) and the read rate limit, applied to
 * a WebSocket connection's `connection_init`, before Mercurius acknowledges it.
 *
 * The key may come in the upgrade request's headers (checked there by the HTTP guard, and again
 * here) or in the connection_init payload (graphql-ws `connectionParams`), which is the only way
 * a browser can send one: `{ "authorization": "Bearer <key>" }`, `{ "x-api-key": "<key>" }`, or
 * either inside `{ "headers": { … } }`. A refused connection is closed with the graphql-ws close
 * codes (4401 no or unknown key, 4403 a write key, 4429 rate limited) and a reason saying what
 * to send.
 *
 * A connection's principal (`key:<id>` or, without keys, `ip:<address>`) is what the per-key
 * subscription cap (GRAPHQL_MAX_SUBSCRIPTIONS_PER_KEY) counts against.
 */
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { RawData, WebSocket, WebSocketServer } from 'ws';
import { admit, isRefusal, type Gate } from '../http/access';
import { presentedKey, type RequestHeaders } from '../http/keys';

export interface LiveConnection {
  principal: string;
  socket: WebSocket;
}

/** Close code for a subscriber cut off for being slow: 1008 policy violation (graphql-ws clients do not retry it). */
export const SLOW_SUBSCRIBER_CLOSE_CODE = 1008;

const CLOSE_CODE: Record<401 | 403 | 429, number> = { 401: 4401, 403: 4403, 429: 4429 };

const admitted = new WeakMap<WebSocket, LiveConnection>();

/** The key headers a connection_init payload carries, lower-cased; others are ignored. */
export function keyHeadersOf(payload: unknown): RequestHeaders {
  const out: RequestHeaders = {};
  const take = (source: unknown) => {
    if (typeof source !== 'object' || source === null) return;
    for (const [name, value] of Object.entries(source as Record<string, unknown>)) {
      const lower = name.toLowerCase();
      if ((lower === 'authorization' || lower === 'x-api-key') && typeof value === 'string') out[lower] = value;
    }
  };
  if (typeof payload === 'object' && payload !== null) {
    take((payload as { headers?: unknown }).headers);
    take(payload);
  }
  return out;
}

/** Close reasons are at most 123 bytes. */
const reasonOf = (text: string) => Buffer.from(text, 'utf8').subarray(0, 123).toString('utf8');

function decide(gate: Gate, request: IncomingMessage, payload: unknown): { principal: string } | { code: number; reason: string } {
  const fromParams = keyHeadersOf(payload);
  // A key in connectionParams replaces one in the upgrade headers; without one, the headers count.
  const headers: RequestHeaders =
    Object.keys(fromParams).length > 0 ? { ...request.headers, authorization: undefined, 'x-api-key': undefined, ...fromParams } : request.headers;
  const ip = gate.clientAddress(request.socket.remoteAddress, request.headers);
  const decision = admit(gate, 'read', headers, ip);
  if (isRefusal(decision)) {
    const detail = decision.body.errors[0]?.message;
    const how = decision.status === 401 ? ' (send {"authorization":"Bearer <read key>"} as connectionParams)' : '';
    return { code: CLOSE_CODE[decision.status], reason: reasonOf(`${decision.body.error}${how}${detail && decision.status !== 401 ? `: ${detail}` : ''}`) };
  }
  const presented = presentedKey(headers);
  const match = presented === undefined ? undefined : gate.keys.identify(presented);
  return { principal: match ? `key:${match.id}` : `ip:${ip}` };
}

/**
 * Watches every new WebSocket until its connection_init. Registered before Mercurius handles the
 * socket, so its listener runs first: by the time Mercurius asks for the connection's context (in
 * connection_init), the decision is made.
 */
export function admitSubscriber(wss: WebSocketServer, gate: Gate, logger?: Logger): void {
  wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    const onMessage = (data: RawData) => {
      let message: { type?: unknown; payload?: unknown } | undefined;
      try {
        message = JSON.parse(data.toString()) as typeof message;
      } catch {
        message = undefined;
      }
      if (message?.type !== 'connection_init') return; // Mercurius answers protocol errors itself
      socket.off('message', onMessage);
      const verdict = decide(gate, request, message.payload);
      if ('code' in verdict) {
        logger?.debug({ code: verdict.code, reason: verdict.reason }, 'subscription connection refused');
        socket.close(verdict.code, verdict.reason);
        return;
      }
      admitted.set(socket, { principal: verdict.principal, socket });
    };
    socket.on('message', onMessage);
  });
}

/** The admitted connection of a socket, or undefined when it was refused (or not yet initialised). */
admitSubscriber.connectionOf = (socket: WebSocket): LiveConnection | undefined => admitted.get(socket);
