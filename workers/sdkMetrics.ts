/**
 * The worker's metrics: the Temporal SDK's own Prometheus exporter, which Core serves on its own
 * port (WORKER_METRICS_PORT) at /metrics. It counts what only the SDK sees: task slots, poll and
 * schedule-to-start latencies, workflow completions and failures, activity failures, the
 * client's requests to the server.
 *
 * Durations are in seconds, like every other histogram of the platform, with buckets from 1 ms
 * (Core's own second buckets start at 100 ms, too coarse for a task that waits a few ms).
 */
import type { TelemetryOptions } from '@temporalio/worker';

/** The SDK metrics the dashboard and the tests use; all prefixed `temporal_`. */
export const TEMPORAL_SDK_METRICS = [
  'temporal_workflow_completed',
  'temporal_workflow_failed',
  'temporal_workflow_task_schedule_to_start_latency_bucket',
  'temporal_workflow_task_execution_latency_bucket',
  'temporal_workflow_endtoend_latency_bucket',
  'temporal_activity_schedule_to_start_latency_bucket',
  'temporal_activity_execution_failed',
  'temporal_local_activity_execution_latency_bucket',
  'temporal_local_activity_execution_failed',
  'temporal_worker_task_slots_available',
  'temporal_worker_task_slots_used',
] as const;

const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/** Histograms with the finer buckets (names without the prefix, as Core matches them). */
const FINE_HISTOGRAMS = [
  'workflow_task_schedule_to_start_latency',
  'workflow_task_execution_latency',
  'workflow_task_replay_latency',
  'workflow_endtoend_latency',
  'activity_schedule_to_start_latency',
  'activity_execution_latency',
  'local_activity_execution_latency',
  'local_activity_succeed_endtoend_latency',
  'request_latency',
];

/** host:port for the exporter; IPv6 literals in brackets. */
export function bindAddress(host: string, port: number): string {
  return `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
}

/**
 * The Runtime's telemetry for Runtime.install: the Prometheus exporter on host:port, or nothing
 * when port is 0 (metrics off).
 */
export function workerTelemetry(host: string, port: number): TelemetryOptions | undefined {
  if (port === 0) return undefined;
  return {
    metrics: {
      prometheus: {
        bindAddress: bindAddress(host, port),
        useSecondsForDurations: true,
        histogramBucketOverrides: Object.fromEntries(FINE_HISTOGRAMS.map((name) => [name, SECONDS])),
      },
    },
  };
}
