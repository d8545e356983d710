/** A few Prometheus counters and a latency summary for GET /metrics; no client library needed. */
export class ProducerMetrics {
  private readonly counters = new Map<string, number>();
  private flushCount = 0;
  private flushRecords = 0;
  private flushMsTotal = 0;
  private inFlight: () => { records: number; bytes: number } = () => ({ records: 0, bytes: 0 });

  inc(name: 'events_accepted_total' | 'events_rejected_total' | 'requests_unavailable_total' | 'requests_overloaded_total', by = 1): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + by);
  }

  /** Where the in-flight gauges come from (the batcher's admission count). */
  watchInFlight(source: () => { records: number; bytes: number }): void {
    this.inFlight = source;
  }

  recordFlush(records: number, ms: number): void {
    this.flushCount++;
    this.flushRecords += records;
    this.flushMsTotal += ms;
  }

  render(): string {
    const lines: string[] = [];
    const metric = (name: string, type: string, help: string, value: number) =>
      lines.push(`# HELP producer_${name} ${help}`, `# TYPE producer_${name} ${type}`, `producer_${name} ${value}`);
    metric('events_accepted_total', 'counter', 'Events acknowledged by Kafka (answered 202, or "accepted" in a partly written batch).', this.counters.get('events_accepted_total') ?? 0);
    metric('events_rejected_total', 'counter', 'Events rejected as invalid (never sent to Kafka).', this.counters.get('events_rejected_total') ?? 0);
    metric('requests_unavailable_total', 'counter', 'Requests answered 503 because Kafka did not acknowledge (overloaded ones included).', this.counters.get('requests_unavailable_total') ?? 0);
    metric('requests_overloaded_total', 'counter', 'Requests answered 503 at once because the in-flight caps were reached.', this.counters.get('requests_overloaded_total') ?? 0);
    const inFlight = this.inFlight();
    metric('inflight_records', 'gauge', 'Records accepted and not yet settled by Kafka (queued or being retried).', inFlight.records);
    metric('inflight_bytes', 'gauge', 'Bytes of those records (key, value and framing).', inFlight.bytes);
    metric('kafka_batches_total', 'counter', 'Produce requests sent to Kafka (each carries many events).', this.flushCount);
    metric('kafka_batch_records_total', 'counter', 'Records sent in those produce requests.', this.flushRecords);
    metric('kafka_batch_seconds_total', 'counter', 'Time spent waiting for Kafka acknowledgements.', this.flushMsTotal / 1000);
    return `${lines.join('\n')}\n`;
  }
}
