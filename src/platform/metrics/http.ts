/**
 * HTTP request timing for both APIs, labelled with the route pattern the framework matched
 * (`/events`, `/v1/track`, `/graphql`), never the URL a client sent: unknown paths, and requests
 * refused before any route matched, share the `unmatched` label.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { FastifyInstance } from 'fastify';
import type { Histogram } from 'prom-client';
import { methodLabel, UNMATCHED_ROUTE, type HttpLabels } from './registry';

/**
 * Express: mount first, so refusals by the access rules and the admission check are timed too.
 * The route is read when the answer is finished: by then Express has set `req.route` to the route
 * that handled (or guarded) the request.
 */
export function expressHttpMetrics(histogram: Histogram<HttpLabels>): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const end = histogram.startTimer();
    res.once('finish', () => {
      const declared = (req.route as { path?: unknown } | undefined)?.path;
      // A route with several paths (Segment's `/v1/track` and its short `/v1/t`) counts under its first.
      const path = Array.isArray(declared) ? (declared[0] as unknown) : declared;
      const route = typeof path === 'string' ? `${req.baseUrl}${path}` : UNMATCHED_ROUTE;
      end({ method: methodLabel(req.method), route, status_code: String(res.statusCode) });
    });
    next();
  };
}

/** Fastify: the route's declared pattern (`routeOptions.url`), undefined when none matched. */
export function fastifyHttpMetrics(app: FastifyInstance, histogram: Histogram<HttpLabels>): void {
  app.addHook('onResponse', async (request, reply) => {
    histogram.observe(
      { method: methodLabel(request.method), route: request.routeOptions.url ?? UNMATCHED_ROUTE, status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
}
