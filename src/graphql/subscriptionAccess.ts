/**
 * Who may open live subscriptions, and what a WebSocket may cost before and after it says who it
 * is. Mercurius speaks the graphql-ws protocol (`graphql-transport-ws`) but enforces little of
 * it, so every frame passes through here first and only what the protocol allows reaches it.
 *
 * At the upgrade (HTTP, before the handshake): the route must be /graphql, the Origin allowed
 * (browsers apply no CORS to WebSockets: same origin, or GRAPHQL_CORS_ORIGINS), the subprotocol
 * offered, and the client address under its connection cap. Refusals are HTTP 4xx with a JSON
 * body naming the header.
 *
 * On the socket, with the graphql-ws close codes:
 * - connection_init must come within GRAPHQL_CONNECTION_INIT_TIMEOUT_MS (else 4408) and before
 *   any other message (4401); it carries the read key (READ_KEYS), checked with the read rate
 *   limit: 4401 no or unknown key, 4403 a write key, 4429 rate limited or the key at its
 *   connection cap. A second one: 4429. The key may instead come in the upgrade's headers
 *   (checked there too); from a browser, in `connectionParams`: `{ "authorization": "Bearer
 *   <key>" }`, `{ "x-api-key": "<key>" }`, or either inside `{ "headers": { … } }`.
 * - after it, every message takes a token of the principal's read rate limit (4429 when out),
 *   must be a valid graphql-ws message (4400), and a subscribe must not reuse an id still in use
 *   (4409). A document that does not parse, or names no operation it holds, is answered with an
 *   error for its id here.
 * - every subscription a socket started ends when the socket closes, whatever ids it used.
 *
 * A connection's principal (`key:<id>` or, without keys, `ip:<address>`) is what the per-key
 * subscription and connection caps count against; a socket not yet initialised counts against
 * its address.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { getOperationAST, GraphQLError, parse } from 'graphql';
import type { Logger } from 'pino';
import type { RawData, WebSocket, WebSocketServer } from 'ws';
import { admit, isRefusal, type Gate } from '../platform/http/access';
import { presentedKey, type RequestHeaders } from '../platform/http/keys';

/** The one subprotocol served: graphql-ws's. The legacy `graphql-ws` (subscriptions-transport-ws) is not. */
export const SUBPROTOCOL = 'graphql-transport-ws';

export interface LiveConnection {
  principal: string;
  socket: WebSocket;
  /**
   * A subscription this connection started, with the id of its subscribe message: `stop` runs
   * when the socket closes, or at once when the client completed that id meanwhile.
   */
  started(id: unknown, stop: () => void): void;
}

export interface SubscriberLimits {
  /** How long a socket may wait before its connection_init (GRAPHQL_CONNECTION_INIT_TIMEOUT_MS). */
  initTimeoutMs: number;
  /** Sockets open at once per read key, per client address before init or without keys (GRAPHQL_MAX_CONNECTIONS_PER_KEY). */
  maxConnections: number;
  /** GRAPHQL_CORS_ORIGINS: origins besides the server's own that may open a socket ('*': any). */
  corsOrigins: readonly string[];
}

/** Close code for a subscriber cut off for being slow: 1008 policy violation (graphql-ws clients do not retry it). */
export const SLOW_SUBSCRIBER_CLOSE_CODE = 1008;

/** graphql-ws close codes. */
export const CLOSE = {
  badRequest: 4400,
  unauthorized: 4401,
  forbidden: 4403,
  initTimeout: 4408,
  duplicateId: 4409,
  tooMany: 4429,
} as const;

const CLOSE_OF_STATUS: Record<401 | 403 | 429, number> = { 401: CLOSE.unauthorized, 403: CLOSE.forbidden, 429: CLOSE.tooMany };

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

/** Close reasons are at most 123 bytes (cut on a character boundary). */
const reasonOf = (text: string) => {
  let out = text;
  while (Buffer.byteLength(out, 'utf8') > 123) out = out.slice(0, -1);
  return out;
};

function decide(gate: Gate, request: IncomingMessage, ip: string, payload: unknown): { principal: string } | { code: number; reason: string } {
  const fromParams = keyHeadersOf(payload);
  // A key in connectionParams replaces one in the upgrade headers; without one, the headers count.
  const headers: RequestHeaders =
    Object.keys(fromParams).length > 0 ? { ...request.headers, authorization: undefined, 'x-api-key': undefined, ...fromParams } : request.headers;
  const decision = admit(gate, 'read', headers, ip);
  if (isRefusal(decision)) {
    const detail = decision.body.errors[0]?.message;
    const how = decision.status === 401 ? ' (send {"authorization":"Bearer <read key>"} as connectionParams)' : '';
    return {
      code: CLOSE_OF_STATUS[decision.status],
      reason: reasonOf(`${decision.body.error}${how}${detail && decision.status !== 401 ? `: ${detail}` : ''}`),
    };
  }
  const presented = presentedKey(headers);
  const match = presented === undefined ? undefined : gate.keys.identify(presented);
  return { principal: match ? `key:${match.id}` : `ip:${ip}` };
}

/**
 * Same origin, or one of GRAPHQL_CORS_ORIGINS. Compared as the browser does, scheme, host and
 * port; the server's own origin is the Host header under the Origin's scheme (a TLS proxy in
 * front means the server itself sees http). No Origin: not a browser, nothing to protect.
 */
export function originAllowed(origin: string | undefined, host: string | undefined, allowed: readonly string[]): boolean {
  if (origin === undefined) return true;
  if (allowed.includes('*')) return true;
  const lower = origin.toLowerCase();
  if (allowed.some((o) => o.toLowerCase() === lower)) return true;
  if (host === undefined) return false;
  try {
    const from = new URL(origin);
    if (from.protocol !== 'http:' && from.protocol !== 'https:') return false;
    return `${from.protocol}//${from.host}` === lower && new URL(`${from.protocol}//${host}`).host === from.host;
  } catch {
    return false; // "null" (sandboxed frames, file: pages) and anything unparsable
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const optionalObject = (v: unknown) => v === undefined || v === null || isObject(v);
const optionalString = (v: unknown) => v === undefined || v === null || typeof v === 'string';

type Message =
  | { type: 'connection_init' | 'ping' | 'pong'; payload?: unknown }
  | { type: 'subscribe'; id: string; payload: { query: string; operationName?: string | null } }
  | { type: 'complete'; id: string };

/** A client message as graphql-ws defines it, or undefined (close 4400). */
export function parseClientMessage(text: string): Message | undefined {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(message)) return undefined;
  switch (message.type) {
    case 'connection_init':
    case 'ping':
    case 'pong':
      return optionalObject(message.payload) ? (message as Message) : undefined;
    case 'subscribe': {
      const p = message.payload;
      const ok =
        typeof message.id === 'string' &&
        message.id !== '' &&
        isObject(p) &&
        typeof p.query === 'string' &&
        optionalObject(p.variables) &&
        optionalString(p.operationName) &&
        optionalObject(p.extensions);
      return ok ? (message as Message) : undefined;
    }
    case 'complete':
      return typeof message.id === 'string' && message.id !== '' ? (message as Message) : undefined;
    default:
      return undefined;
  }
}

/**
 * Why a subscribe's document cannot run, answered here: Mercurius would report a document
 * without the operation asked for as an internal TypeError.
 */
function documentProblem(query: string, operationName: string | null | undefined): string | undefined {
  let document;
  try {
    document = parse(query);
  } catch (err) {
    return err instanceof GraphQLError ? err.message : 'the query does not parse';
  }
  if (getOperationAST(document, operationName ?? undefined)) return undefined;
  return operationName
    ? `operationName: the document has no operation named ${JSON.stringify(operationName.slice(0, 40))}`
    : 'the document must hold exactly one operation, or name one in operationName';
}

const text = (data: RawData): string => (Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)).toString('utf8');

interface SocketState {
  /** The principal this socket counts against now: its address until connection_init names a key. */
  holder: string;
  ip: string;
}

/** An id of a subscribe message, until the server sent its error or complete. */
interface Operation {
  stop?: () => void;
  /** The client completed it before it started: stop it as soon as it does. */
  completed: boolean;
}

/** An upgrade refused before the handshake: answered over HTTP, JSON naming the header. */
export interface UpgradeRefusal {
  status: 400 | 403 | 404 | 429;
  body: { error: string; errors: { field: string; message: string }[] };
}

export interface SubscriberGate {
  /**
   * For an upgrade request (one the WebSocket plugin took): a refusal to answer over HTTP, or
   * undefined, the socket then holding one connection of its address until it closes.
   */
  upgrade(request: IncomingMessage, route: string | undefined, ip: string): UpgradeRefusal | undefined;
  /** Watches every socket of `wss` from its first frame; call before Mercurius handles them. */
  watch(wss: WebSocketServer): void;
  /** The admitted connection of a socket, or undefined when it was refused or not yet initialised. */
  connectionOf(socket: WebSocket): LiveConnection | undefined;
  /** Open sockets counted against a principal (`ip:<address>` or `key:<id>`). */
  connections(principal: string): number;
}

const refusal = (status: UpgradeRefusal['status'], error: string, field: string, message: string): UpgradeRefusal => ({
  status,
  body: { error, errors: [{ field, message }] },
});

export function createSubscriberGate(gate: Gate, limits: SubscriberLimits, logger?: Logger): SubscriberGate {
  const sockets = new WeakMap<Socket, SocketState>();
  const admitted = new WeakMap<WebSocket, LiveConnection>();
  const open = new Map<string, number>();
  const count = (principal: string) => open.get(principal) ?? 0;
  const move = (state: SocketState, to: string | undefined) => {
    const left = count(state.holder) - 1;
    if (left > 0) open.set(state.holder, left);
    else open.delete(state.holder);
    if (to === undefined) return;
    state.holder = to;
    open.set(to, count(to) + 1);
  };

  const watchSocket = (socket: WebSocket, request: IncomingMessage, state: SocketState) => {
    let closing = false;
    let connection: LiveConnection | undefined;
    const operations = new Map<string, Operation>();
    const stops = new Set<() => void>();
    const close = (code: number, reason: string) => {
      if (closing) return;
      closing = true;
      logger?.debug({ code, reason }, 'subscription connection closed');
      socket.close(code, reasonOf(reason));
    };
    const initDeadline = setTimeout(() => close(CLOSE.initTimeout, 'Connection initialisation timeout'), limits.initTimeoutMs);
    socket.once('close', () => {
      closing = true;
      clearTimeout(initDeadline);
      for (const stop of stops) stop();
      stops.clear();
    });

    // What the server sends ends an id: its error, or its complete.
    const send = socket.send.bind(socket);
    socket.send = ((data: unknown, ...rest: unknown[]) => {
      if (typeof data === 'string' && (data.startsWith('{"type":"complete"') || data.startsWith('{"type":"error"'))) {
        const { id } = JSON.parse(data) as { id?: unknown };
        if (typeof id === 'string') operations.delete(id);
      }
      return (send as (...args: unknown[]) => void)(data, ...rest);
    }) as typeof socket.send;
    const answerError = (id: string, message: string) =>
      send(JSON.stringify({ type: 'error', id, payload: [{ message, extensions: { code: 'GRAPHQL_PARSE_FAILED' } }] }));

    const emit = socket.emit.bind(socket);
    const onFrame = (data: RawData, isBinary: boolean) => {
      if (closing) return;
      if (connection && gate.limiters) {
        // The same buckets as the principal's HTTP requests: a socket buys no extra budget.
        const { principal } = connection;
        const rate = principal.startsWith('key:') ? gate.limiters.byKey.take(principal.slice(4)) : gate.limiters.byAddress.take(principal.slice(3));
        if (!rate.allowed) return close(CLOSE.tooMany, `Too many messages; at most ${rate.limit} at once, as for requests (RATE_LIMIT_READ_*)`);
      }
      const message = parseClientMessage(text(data));
      if (!message) return close(CLOSE.badRequest, 'Invalid message received');
      if (!connection) {
        // Before connection_init, nothing else is answered (not even a ping).
        if (message.type !== 'connection_init') return close(CLOSE.unauthorized, 'Unauthorized: send connection_init first');
        clearTimeout(initDeadline);
        const verdict = decide(gate, request, state.ip, message.payload);
        if ('code' in verdict) return close(verdict.code, verdict.reason);
        if (verdict.principal !== state.holder) {
          if (count(verdict.principal) >= limits.maxConnections) {
            return close(CLOSE.tooMany, `too many connections: at most ${limits.maxConnections} open at once per key (GRAPHQL_MAX_CONNECTIONS_PER_KEY)`);
          }
          move(state, verdict.principal);
        }
        connection = {
          principal: verdict.principal,
          socket,
          started(id, stop) {
            const operation = typeof id === 'string' ? operations.get(id) : undefined;
            if (closing || operation?.completed) return stop();
            if (operation) operation.stop = stop;
            stops.add(stop);
          },
        };
        admitted.set(socket, connection);
        return void emit('message', data, isBinary);
      }
      switch (message.type) {
        case 'connection_init':
          return close(CLOSE.tooMany, 'Too many initialisation requests');
        case 'subscribe': {
          if (operations.has(message.id)) return close(CLOSE.duplicateId, `Subscriber for ${message.id} already exists`);
          const problem = documentProblem(message.payload.query, message.payload.operationName);
          if (problem) return void answerError(message.id, problem);
          operations.set(message.id, { completed: false });
          break;
        }
        case 'complete': {
          const operation = operations.get(message.id);
          if (operation) {
            // The id stays taken until the server's complete for it: Mercurius may still be
            // starting it, and would otherwise start it anyway.
            operation.completed = true;
            if (operation.stop) stops.delete(operation.stop);
            operation.stop?.();
          }
          break;
        }
        default:
          break;
      }
      emit('message', data, isBinary);
    };
    socket.emit = ((event: string | symbol, ...args: unknown[]) => {
      if (event !== 'message') return emit(event, ...args);
      onFrame(args[0] as RawData, args[1] === true);
      return true;
    }) as typeof socket.emit;
  };

  return {
    upgrade(request, route, ip) {
      if (route !== '/graphql') return refusal(404, 'No WebSocket endpoint here', 'path', 'subscriptions are at /graphql');
      const origin = request.headers.origin;
      if (!originAllowed(origin, request.headers.host, limits.corsOrigins)) {
        return refusal(
          403,
          'Origin not allowed',
          'origin',
          `${String(origin).slice(0, 80)} may not open subscriptions: only this server's own origin and GRAPHQL_CORS_ORIGINS may`,
        );
      }
      const offered = (request.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
      if (!offered.includes(SUBPROTOCOL)) {
        return refusal(400, 'Unsupported WebSocket subprotocol', 'sec-websocket-protocol', `offer ${SUBPROTOCOL} (the graphql-ws protocol)`);
      }
      const holder = `ip:${ip}`;
      if (count(holder) >= limits.maxConnections) {
        return refusal(429, 'Too many connections', 'client', `at most ${limits.maxConnections} WebSocket connections open at once per client address`);
      }
      const state: SocketState = { holder, ip };
      open.set(holder, count(holder) + 1);
      sockets.set(request.socket, state);
      // The TCP socket outlives the WebSocket's close handshake, and closes whether or not the
      // handshake ever completed: the slot is held exactly as long as the connection.
      request.socket.once('close', () => move(state, undefined));
      return undefined;
    },
    watch(wss) {
      wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
        const state = sockets.get(request.socket);
        if (!state) return void socket.terminate(); // not through upgrade(): never served
        watchSocket(socket, request, state);
      });
    },
    connectionOf: (socket) => admitted.get(socket),
    connections: count,
  };
}
