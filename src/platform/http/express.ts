/**
 * The access rules as one Express router, mounted before every route of an app. It matches
 * requests with Express's own router (same case and trailing-slash rules as the app's routes),
 * so what it guards is exactly what the routes answer; it never compares URL text itself.
 * Declared routes get their access (public, write or read) and body limit; everything else,
 * including routes added to the app later and unknown paths, needs a `fallback` key.
 *
 * CORS covers the write routes only, the ones browser SDKs call: a page on another origin has no
 * business reading /metrics or probing other paths through a visitor's browser.
 */
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { admit, admitBodyKey, isRefusal, type Gate, type RouteAccess } from './access';
import type { KeyKind } from './keys';
import { discardBody, DISCARD_LIMIT_BYTES } from './body';
import { bodyTooLarge, declaredLengthOver, SECURITY_HEADERS } from './hardening';

export interface DeclaredRoute {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string;
  access: RouteAccess;
  /** Content-Length above this is answered 413 without reading the body (it is thrown away). */
  maxBodyBytes?: number;
  /**
   * The key may also come in the body (Segment's `writeKey`): without one in the headers the
   * request goes on to the route with `res.locals.keyPending` set, and the route checks the body's
   * key with checkBodyKey before using anything of the request.
   */
  keyInBody?: boolean;
}

export function accessRouter(gate: Gate, routes: readonly DeclaredRoute[], fallback: KeyKind): express.Router {
  const router = express.Router();

  router.use((_req: Request, res: Response, next: NextFunction) => {
    res.set(SECURITY_HEADERS);
    next();
  });

  const guard =
    (access: RouteAccess, maxBodyBytes?: number, keyInBody = false): RequestHandler =>
    (req, res, next) => {
      if (access === 'write' && gate.cors) res.set(gate.cors.answer(req.method, req.headers).headers);
      const decision = admit(gate, access, req.headers, gate.clientAddress(req.socket.remoteAddress, req.headers), { keyInBody });
      res.set(decision.headers);
      if (isRefusal(decision)) {
        discardBody(req);
        return void res.status(decision.status).json(decision.body);
      }
      res.locals.keyPending = decision.keyPending;
      const over = maxBodyBytes === undefined ? undefined : declaredLengthOver(req.headers, maxBodyBytes);
      if (over !== undefined && maxBodyBytes !== undefined) {
        // The body is read and thrown away so the client reads the 413; one longer than that
        // bound is not worth reading: the connection is closed after the answer.
        if (over > DISCARD_LIMIT_BYTES) res.set('connection', 'close');
        else discardBody(req);
        return void res.status(413).json(bodyTooLarge(over, maxBodyBytes));
      }
      next('router');
    };

  for (const route of routes) {
    router[route.method](route.path, guard(route.access, route.maxBodyBytes, route.keyInBody));
    const cors = gate.cors;
    if (route.access === 'write' && cors) {
      // Preflights carry no key (browsers never send one): answered here, before any key check.
      router.options(route.path, (req, res, next) => {
        const answer = cors.answer(req.method, req.headers);
        if (!answer.preflight) return next();
        res.set(answer.headers).status(204).end();
      });
    }
  }
  router.use(guard(fallback));
  return router;
}

/**
 * On a route declared with `keyInBody`: checks the key the body carries when the headers carried
 * none, and takes a token of that key's rate limit. Sends the refusal (401/403/429, as for a
 * header key) and returns false when refused.
 */
export function checkBodyKey(gate: Gate, res: Response, key: unknown, field = 'writeKey'): boolean {
  const pending = res.locals.keyPending as KeyKind | undefined;
  if (pending === undefined) return true;
  const decision = admitBodyKey(gate, pending, key, field);
  // The key's RateLimit-* headers replace the client address's, taken before the body was read.
  res.set(decision.headers);
  if (!isRefusal(decision)) return true;
  res.status(decision.status).json(decision.body);
  return false;
}
