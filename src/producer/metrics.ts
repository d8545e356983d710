/**
 * The producer's Prometheus metrics (GET /metrics): events accepted and rejected, 503s, the
 * in-flight gauges behind admission control, Kafka produce requests (latency and records each)
 * and HTTP requests by route.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { httpRequestHistogram, LATENCY_BUCKETS, type HttpLabels } from '../platform/metrics/registry';

type CounterName = 'events_accepted_total' | 'events_rejected_total' | 'requests_unavailable_total' | 'requests_overloaded_total';

const COUNTERS: Record<CounterName, string> = {
  events_accepted_total: 'Events acknowledged by Kafka (answered 202, or "accepted" in a partly written batch).',
  events_rejected_total: 'Events rejected as invalid (never sent to Kafka).',
  requests_unavailable_total: 'Requests answered 503 because Kafka did not acknowledge (overloaded ones included).',
  requests_overloaded_total: 'Requests answered 503 at once because the in-flight caps were reached (admission control).',
};

/** Records in one produce request: from a lone event up to PRODUCER_MAX_BATCH_RECORDS' ceiling. */
const BATCH_RECORD_BUCKETS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000];

export class ProducerMetrics {
  readonly registry: Registry;
  readonly http: Histogram<HttpLabels>;
  private readonly counters: Record<CounterName, Counter>;
  private readonly produceSeconds: Histogram<'result'>;
  private readonly batchRecords: Histogram;
  private inFlight: () => { records: number; bytes: number } = () => ({ records: 0, bytes: 0 });

  /** `registry`: the process's (createProcessRegistry); a bare one of its own when not given. */
  constructor(opts: { registry?: Registry } = {}) {
    const registry = (this.registry = opts.registry ?? new Registry());
    const counter = (name: CounterName) => new Counter({ name: `producer_${name}`, help: COUNTERS[name], registers: [registry] });
    this.counters = {
      events_accepted_total: counter('events_accepted_total'),
      events_rejected_total: counter('events_rejected_total'),
      requests_unavailable_total: counter('requests_unavailable_total'),
      requests_overloaded_total: counter('requests_overloaded_total'),
    };
    // Read at scrape time from the batcher's admission count, which is what the caps compare.
    const inFlight = () => this.inFlight();
    new Gauge({
      name: 'producer_inflight_records',
      help: 'Records accepted and not yet settled by Kafka (queued or being retried).',
      registers: [registry],
      collect() {
        this.set(inFlight().records);
      },
    });
    new Gauge({
      name: 'producer_inflight_bytes',
      help: 'Bytes of those records (key, value and framing).',
      registers: [registry],
      collect() {
        this.set(inFlight().bytes);
      },
    });
    this.produceSeconds = new Histogram({
      name: 'producer_kafka_produce_duration_seconds',
      help: 'Kafka produce requests by result (ok, error): time from sending to the acknowledgement (or the failure), in seconds.',
      labelNames: ['result'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
    this.batchRecords = new Histogram({
      name: 'producer_kafka_batch_records',
      help: 'Records per Kafka produce request (the batcher coalesces concurrent requests).',
      buckets: BATCH_RECORD_BUCKETS,
      registers: [registry],
    });
    this.http = httpRequestHistogram(registry, 'producer');
  }

  inc(name: CounterName, by = 1): void {
    if (by > 0) this.counters[name].inc(by);
  }

  /** Where the in-flight gauges come from (the batcher's admission count). */
  watchInFlight(source: () => { records: number; bytes: number }): void {
    this.inFlight = source;
  }

  /** One produce request of `records` records that took `ms`; `failed` when Kafka did not acknowledge it. */
  recordFlush(records: number, ms: number, failed = false): void {
    this.produceSeconds.observe({ result: failed ? 'error' : 'ok' }, ms / 1000);
    this.batchRecords.observe(records);
  }

  /** Prometheus text of the whole registry, as GET /metrics serves it. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
