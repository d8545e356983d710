/**
 * The GraphQL server's Prometheus metrics (GET /metrics): HTTP requests by route, and per GraphQL
 * operation its latency and the DynamoDB calls it made (the reader's StorageBudget count).
 *
 * An operation is labelled by the schema fields it asks for at the top level (`latestEvents`,
 * `event,eventsByUser`, `__schema` for introspection), sorted: operation names are client text
 * and would let any client create series at will, while the fields are bounded by the schema.
 * Requests that never reach execution (not parseable, not valid) are `invalid`.
 */
import { getOperationAST, Kind, type DocumentNode, type SelectionSetNode } from 'graphql';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { httpRequestHistogram, LATENCY_BUCKETS, type HttpLabels } from '../platform/metrics/registry';
import type { LiveFeedObserver } from './liveFeed';

export const INVALID_OPERATION = 'invalid';

/** DynamoDB calls of one request: 0 (nothing read) up to GRAPHQL_MAX_STORAGE_CALLS' range. */
const STORAGE_CALL_BUCKETS = [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

export class GraphqlMetrics {
  readonly registry: Registry;
  readonly http: Histogram<HttpLabels>;
  readonly operations: Histogram<'operation' | 'outcome'>;
  readonly storageCalls: Histogram<'operation'>;
  readonly storedEvents: Counter<'outcome'>;
  readonly subscriberCutOffs: Counter;
  private openSubscriptions: () => number = () => 0;

  /** `registry`: the process's (createProcessRegistry); a bare one of its own when not given. */
  constructor(opts: { registry?: Registry } = {}) {
    const registry = (this.registry = opts.registry ?? new Registry());
    this.http = httpRequestHistogram(registry, 'graphql');
    this.operations = new Histogram({
      name: 'graphql_operation_duration_seconds',
      help: 'GraphQL requests by operation (its top-level fields, sorted; invalid when it never ran) and outcome (ok, error), in seconds.',
      labelNames: ['operation', 'outcome'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
    this.storageCalls = new Histogram({
      name: 'graphql_dynamodb_calls_per_request',
      help: 'DynamoDB calls (Query, GetItem) one GraphQL request made, by operation.',
      labelNames: ['operation'],
      buckets: STORAGE_CALL_BUCKETS,
      registers: [registry],
    });
    this.storedEvents = new Counter({
      name: 'graphql_stored_events_total',
      help: 'Stored-event announcements read from the stored topic, by outcome: new (sent to matching subscribers) or repeat (seen recently, dropped).',
      labelNames: ['outcome'],
      registers: [registry],
    });
    this.subscriberCutOffs = new Counter({
      name: 'graphql_subscriptions_cut_off_total',
      help: 'Subscribers disconnected because their queue was full (GRAPHQL_SUBSCRIPTION_QUEUE).',
      registers: [registry],
    });
    const open = () => this.openSubscriptions();
    new Gauge({
      name: 'graphql_subscriptions_open',
      help: 'Live subscriptions (eventStored) open on this instance.',
      registers: [registry],
      collect() {
        this.set(open());
      },
    });
  }

  /** For the live feed: counts what it receives and whom it cuts off. */
  liveObserver(): LiveFeedObserver {
    return { received: (outcome) => this.storedEvents.inc({ outcome }), cutOff: () => this.subscriberCutOffs.inc() };
  }

  /** Where graphql_subscriptions_open reads its value at each scrape. */
  watchSubscriptions(count: () => number): void {
    this.openSubscriptions = count;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/** The label of the operation that runs: its top-level field names, fragments followed, sorted. */
export function operationLabel(document: DocumentNode, operationName?: string | null): string {
  const operation = getOperationAST(document, operationName);
  if (!operation) return INVALID_OPERATION;
  const fragments = new Map(document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d.selectionSet] as const] : [])));
  const fields = new Set<string>();
  const seen = new Set<string>();
  const visit = (set: SelectionSetNode) => {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) fields.add(selection.name.value);
      else if (selection.kind === Kind.INLINE_FRAGMENT) visit(selection.selectionSet);
      else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment) visit(fragment);
      }
    }
  };
  visit(operation.selectionSet);
  return fields.size === 0 ? INVALID_OPERATION : [...fields].sort().join(',');
}
