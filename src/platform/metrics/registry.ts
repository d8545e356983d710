/**
 * Prometheus metrics (prom-client) shared by every process: one registry per process, with
 * Node's process metrics (CPU, memory, event-loop lag, GC), and the HTTP request histogram both
 * APIs use. A process's own metrics are in its folder (src/producer/metrics.ts,
 * src/bridge/status.ts, src/graphql/metrics.ts); the worker's come from the Temporal SDK's own
 * exporter (workers/main.ts).
 */
import { collectDefaultMetrics, Histogram, Registry, Summary } from 'prom-client';

/**
 * The registry of a process, with the default process metrics. Call it once in an entry point;
 * factories take a registry and make a bare one when given none, so tests that build many apps
 * in one process do not start a set of process collectors each.
 */
export function createProcessRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** Seconds, from 1 ms to 10 s: what an HTTP answer or a Kafka acknowledgement can take. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The label for requests that matched no route: the raw path never becomes a label, so a
 * scanner trying thousands of paths adds one series, not thousands.
 */
export const UNMATCHED_ROUTE = 'unmatched';

export type HttpLabels = 'method' | 'route' | 'status_code';

/** `<prefix>_http_request_duration_seconds` by method, route pattern and status code. */
export function httpRequestHistogram(registry: Registry, prefix: string): Histogram<HttpLabels> {
  return new Histogram({
    name: `${prefix}_http_request_duration_seconds`,
    help: 'HTTP requests by method, matched route pattern (unmatched for unknown paths) and status code, in seconds.',
    labelNames: ['method', 'route', 'status_code'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
}

/**
 * Methods outside this list share one label, for the same reason as unmatched routes: the
 * method is client text too.
 */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
export function methodLabel(method: string | undefined): string {
  return method !== undefined && METHODS.has(method) ? method : 'other';
}

/**
 * Every sample name a registry exposes (histograms as their _bucket, _sum and _count series), for
 * checking that dashboards and alerts only use metrics that exist.
 */
export function sampleNames(registry: Registry): string[] {
  return registry.getMetricsAsArray().flatMap((metric) => {
    const name = metric.name;
    if (metric instanceof Histogram) return [`${name}_bucket`, `${name}_sum`, `${name}_count`];
    if (metric instanceof Summary) return [name, `${name}_sum`, `${name}_count`];
    return [name];
  });
}
