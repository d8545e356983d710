/** Workflow input and result. Workflow-safe: types only. */
import type { EventEnvelope } from '../src/events/event';
import type { DeadLetterError } from '../src/kafka/deadLetter';

export interface StepRetry {
  /** Attempt cap; 0 = none, the elapsed budget decides. */
  maximumAttempts: number;
  initialIntervalMs: number;
  maximumIntervalMs: number;
  /**
   * Time budget for every attempt of the step together (the activity's schedule-to-close
   * timeout): transient errors are retried until it runs out. Absent in inputs recorded before
   * budgets existed; those runs keep their attempt cap alone.
   */
  maxElapsedMs?: number;
}

/**
 * The retry policies travel in the input (set by the bridge from config) because workflow code
 * reads no configuration; the history then records exactly which policy a run used.
 */
export interface ProcessEventInput {
  event: EventEnvelope;
  retries: {
    hot: StepRetry;
    cold: StepRetry;
    activityTimeoutMs: number;
    /**
     * Budget of the fast path: the first attempt of each step runs as a local activity inside the
     * first workflow task, and only a failed or slower one falls back to the regular activity
     * with the full retry policy. 0 or absent (inputs recorded before the fast path) = regular
     * activities only, so those runs replay with exactly the commands they recorded.
     */
    fastPathTimeoutMs?: number;
  };
}

export type HotOutcome = 'stored' | 'duplicate';
export type ColdOutcome = 'archived';

export interface ProcessEventResult {
  event_id: string;
  hot: HotOutcome;
  cold: ColdOutcome;
  archive_key: string;
}

/** Details of the failure a dead-lettered workflow ends with. */
export interface DeadLetteredDetails {
  errors: DeadLetterError[];
}
