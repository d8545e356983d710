/**
 * The Grafana dashboard and the Prometheus scrape config in infra/: the dashboard has the shape
 * Grafana imports, and every metric its queries name is exported by some process (the registries
 * of the producer, bridges and GraphQL, Node's process metrics, or the Temporal SDK metrics the
 * workers export), so a renamed metric cannot leave a panel silently empty. The scrape config
 * covers every port of npm start's layout.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { BridgeStatus } from '../../src/bridge/status';
import { loadConfig } from '../../src/platform/config';
import { GraphqlMetrics } from '../../src/graphql/metrics';
import { createProcessRegistry, sampleNames } from '../../src/platform/metrics/registry';
import { ProducerMetrics } from '../../src/producer/metrics';
import { TEMPORAL_SDK_METRICS } from '../../workers/sdkMetrics';
import { REPO_ROOT } from '../support/paths';

interface Target {
  refId?: string;
  expr?: string;
}
interface Panel {
  id?: number;
  type?: string;
  title?: string;
  gridPos?: { x?: number; y?: number; w?: number; h?: number };
  targets?: Target[];
}
interface Dashboard {
  title?: string;
  uid?: string;
  schemaVersion?: number;
  panels?: Panel[];
}

const dashboard = JSON.parse(readFileSync(join(REPO_ROOT, 'infra/grafana/event-platform-dashboard.json'), 'utf8')) as Dashboard;
const panels = dashboard.panels ?? [];
const queried = panels.filter((p) => p.type !== 'row');

const FUNCTIONS_AND_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

/**
 * The metric names a PromQL expression selects: identifiers left once strings, label matchers,
 * range selectors and grouping clauses are removed, that are not function calls or keywords.
 */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const match of bare.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    const [, name, call] = match;
    if (call || FUNCTIONS_AND_KEYWORDS.has(name!.toLowerCase())) continue;
    names.add(name!);
  }
  return [...names];
}

describe('Grafana dashboard (infra/grafana/event-platform-dashboard.json)', () => {
  it('has the shape Grafana imports: title, uid, schema version, panels with a type and a place', () => {
    assert.equal(typeof dashboard.title, 'string');
    assert.match(dashboard.uid ?? '', /^[a-zA-Z0-9_-]{1,40}$/, 'uid: at most 40 of a-z A-Z 0-9 _ -');
    assert.ok((dashboard.schemaVersion ?? 0) >= 36, `schemaVersion ${dashboard.schemaVersion}`);
    assert.ok(queried.length >= 10, `${queried.length} panels`);
    const ids = panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
    for (const p of panels) {
      assert.equal(typeof p.type, 'string', `panel ${p.title} has a type`);
      assert.equal(typeof p.title, 'string');
      const g = p.gridPos;
      assert.ok(g && [g.x, g.y, g.w, g.h].every((n) => Number.isInteger(n) && n! >= 0), `panel ${p.title} has a gridPos`);
      assert.ok(g.x! + g.w! <= 24, `panel ${p.title} fits the 24-column grid`);
    }
  });

  it('every panel queries Prometheus: targets with a refId and an expression', () => {
    for (const p of queried) {
      assert.ok((p.targets ?? []).length > 0, `panel ${p.title} has targets`);
      const refIds = p.targets!.map((t) => t.refId);
      assert.equal(new Set(refIds).size, refIds.length, `panel ${p.title}: unique refIds`);
      for (const t of p.targets!)
        assert.ok(typeof t.expr === 'string' && t.expr.trim() !== '' && typeof t.refId === 'string', `panel ${p.title}: ${JSON.stringify(t)}`);
    }
  });

  it('covers what an operator watches: ingest, lag, workflow outcomes, dead letters, HTTP latency, admission', () => {
    const all = queried.flatMap((p) => p.targets!.map((t) => t.expr!)).join('\n');
    for (const needed of [
      'producer_events_accepted_total',
      'bridge_consumer_lag',
      'bridge_records_started_total',
      'bridge_records_already_started_total',
      'temporal_workflow_completed',
      'temporal_workflow_failed',
      'bridge_records_dead_lettered_total',
      'histogram_quantile(0.5, sum by (le, route) (rate(producer_http_request_duration_seconds_bucket',
      'histogram_quantile(0.99, sum by (le, route) (rate(producer_http_request_duration_seconds_bucket',
      'producer_requests_overloaded_total',
    ]) {
      assert.ok(all.includes(needed), needed);
    }
  });

  it('every metric a query names is exported by some process', () => {
    const exported = new Set([
      ...sampleNames(new ProducerMetrics().registry),
      ...sampleNames(new BridgeStatus().registry),
      ...sampleNames(new GraphqlMetrics().registry),
      ...sampleNames(createProcessRegistry()),
      ...TEMPORAL_SDK_METRICS,
    ]);
    const unknown = queried.flatMap((p) =>
      p.targets!.flatMap((t) =>
        metricNames(t.expr!)
          .filter((name) => !exported.has(name))
          .map((name) => `${p.title}: ${name}`),
      ),
    );
    assert.deepEqual(unknown, []);
  });

  it('metricNames finds the selected metrics and nothing else', () => {
    assert.deepEqual(
      metricNames(
        'histogram_quantile(0.99, sum by (le, route) (rate(producer_http_request_duration_seconds_bucket{route!="/metrics", job=~"a|b"}[$__rate_interval])))',
      ),
      ['producer_http_request_duration_seconds_bucket'],
    );
    assert.deepEqual(metricNames('sum(rate(a_total[5m])) / sum without (instance) (b) or vector(0) + count(c == 0)').sort(), ['a_total', 'b', 'c']);
  });
});

describe('Prometheus scrape config (infra/prometheus/prometheus.yml)', () => {
  it("scrapes every process of npm start's layout at its default port", () => {
    const config = parse(readFileSync(join(REPO_ROOT, 'infra/prometheus/prometheus.yml'), 'utf8')) as {
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    };
    const targets = (job: string) => config.scrape_configs.find((c) => c.job_name === job)?.static_configs.flatMap((s) => s.targets) ?? [];
    const defaults = loadConfig({});
    const local = (port: number) => `localhost:${port}`;
    assert.deepEqual(targets('producer'), [local(defaults.http.producerPort)]);
    assert.deepEqual(targets('graphql'), [local(defaults.http.graphqlPort)]);
    // infra/start.sh runs two processors: the second one's ports are the first's + 1.
    assert.deepEqual(targets('bridge'), [local(defaults.bridge.httpPort), local(defaults.bridge.httpPort + 1)]);
    assert.deepEqual(targets('worker'), [local(defaults.worker.metricsPort), local(defaults.worker.metricsPort + 1)]);
  });
});
