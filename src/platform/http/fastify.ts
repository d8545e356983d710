/**
 * The access rules as one root onRequest hook on a Fastify app. The decision is bound to the
 * route Fastify matched (`request.routeOptions.url`, the route's declared pattern), after Fastify
 * decoded and normalised the path, so `/%67raphql` and `/graphql` are the same route here
 * too. Routes not listed as public, routes registered later, and requests that match no route
 * all need a `needed` key.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { admit, isRefusal, type Gate } from './access';
import type { KeyKind } from './keys';
import { discardBody, DISCARD_LIMIT_BYTES } from './body';
import { bodyTooLarge, SECURITY_HEADERS } from './hardening';

export interface GuardOptions {
  publicRoutes: readonly string[];
  needed: KeyKind;
  /**
   * Requests whose key the route checks itself (a WebSocket upgrade: its key comes in the
   * protocol's first message). They are rate-limited here like public routes.
   */
  keyCheckedLater?: (request: FastifyRequest) => boolean;
}

export function guardFastify(app: FastifyInstance, gate: Gate, options: GuardOptions): void {
  const publicRoutes = new Set(options.publicRoutes);
  app.addHook('onRequest', async (request, reply) => {
    void reply.headers(SECURITY_HEADERS);
    if (gate.cors) {
      const cors = gate.cors.answer(request.method, request.headers);
      void reply.headers(cors.headers);
      if (cors.preflight) return reply.code(204).send();
    }
    const route = request.routeOptions.url;
    const access = (route !== undefined && publicRoutes.has(route)) || options.keyCheckedLater?.(request) ? 'public' : options.needed;
    const decision = admit(gate, access, request.headers, gate.clientAddress(request.socket.remoteAddress, request.headers));
    void reply.headers(decision.headers);
    if (isRefusal(decision)) {
      discardBody(request.raw);
      return reply.code(decision.status).send(decision.body);
    }
  });
  // Fastify answers a body over the route's bodyLimit with 413 and `Connection: close` while the
  // client is still sending, so the client loses the answer: the rest is thrown away instead
  // (src/platform/http/body.ts), and the answer names the field as the producer's does.
  app.addHook('onSend', async (request, reply, payload) => {
    if (reply.statusCode !== 413) return payload;
    const declared = Number(request.headers['content-length']);
    if (!request.raw.complete && !(declared > DISCARD_LIMIT_BYTES)) {
      reply.removeHeader('connection');
      discardBody(request.raw);
    }
    // Fastify's own refusal (Mercurius words it as a GraphQL error), not a route's 413.
    if (typeof payload !== 'string' || !/FST_ERR_CTP_BODY_TOO_LARGE|Request body is too large/.test(payload)) return payload;
    const limit = request.routeOptions.bodyLimit;
    void reply.type('application/json; charset=utf-8');
    return JSON.stringify(bodyTooLarge(declared > limit ? declared : undefined, limit));
  });
}
