/**
 * The processEvent contract, defined once: what the bridge, the CLIs and the tests start a run
 * with, what a run returns or fails with, what a dead letter says, the search attributes the runs
 * carry, and which errors no retry can fix. Workflow code imports it, so it holds types,
 * constants and pure functions only (no Node or SDK imports): workflow-safe.
 */
import type { EventEnvelope, FieldError } from '../src/events/event';

/** The workflow type name, as the Web UI, the CLI and visibility queries show it. */
export const WORKFLOW_TYPE = 'processEvent';

/** Search attributes every run carries (registered by provisioning and temporal-config/). */
export const SEARCH_ATTRIBUTES = { eventType: 'EventType', userId: 'UserId' } as const;

/**
 * Errors that say this one request is wrong: the same request fails the same way however long
 * it is retried, so the step ends at once and the event goes to the dead-letter topic.
 *  - InvalidEventError: the envelope fails validation;
 *  - ValidationException, SerializationException: DynamoDB refuses the item itself;
 *  - EntityTooLarge, KeyTooLongError: S3 refuses this object or key.
 * Everything else is retried until the step's budget runs out: refused connections, timeouts,
 * 5xx, throttling, unknown errors, and also errors an operator fixes for every event at once
 * (AccessDenied, NoSuchBucket, ResourceNotFoundException, expired credentials): dead-lettering
 * them would drain the whole stream into the DLQ, whereas retries resume on their own.
 */
export const PERMANENT_ERROR_TYPES = ['InvalidEventError', 'ValidationException', 'SerializationException', 'EntityTooLarge', 'KeyTooLongError'] as const;

const PERMANENT: ReadonlySet<string> = new Set(PERMANENT_ERROR_TYPES);

/**
 * The one rule for "no retry can fix it", by error type (an Error's `name`, a failure's `type`):
 * the activities mark such failures non-retryable, the workflow's retry policies list the same
 * types, and the workflow ends a step at once on them.
 */
export function isPermanentErrorType(type: string | null | undefined): boolean {
  return typeof type === 'string' && PERMANENT.has(type);
}

/** The workflow's steps, each an activity with its own retry policy. */
export const WORKFLOW_STAGES = ['storeHot', 'archiveCold'] as const;
export type WorkflowStage = (typeof WORKFLOW_STAGES)[number];
/** Where a dead letter comes from: a workflow step, or the bridge (a record it could not use). */
export const DEAD_LETTER_STAGES = [...WORKFLOW_STAGES, 'bridge'] as const;
export type DeadLetterStage = (typeof DEAD_LETTER_STAGES)[number];

/** One step's retry policy (from the *_RETRY_* settings). */
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

/** The retry settings of both steps, as the bridge reads them from config. */
export interface ProcessEventRetries {
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
}

/**
 * The retry policies travel in the input (set by the bridge from config) because workflow code
 * reads no configuration; the history then records exactly which policy a run used.
 */
export interface ProcessEventInput {
  event: EventEnvelope;
  retries: ProcessEventRetries;
}

/** 'past-retention': older than HOT_RETENTION_DAYS when storeHot ran, so archived only (no item, no announcement). */
export type HotOutcome = 'stored' | 'duplicate' | 'past-retention';
export type ColdOutcome = 'archived';

export interface ProcessEventResult {
  event_id: string;
  hot: HotOutcome;
  cold: ColdOutcome;
  archive_key: string;
}

/** Why a stage gave up on an event: in the dead-letter record and the Failed run's details. */
export interface DeadLetterError {
  stage: DeadLetterStage;
  type: string;
  message: string;
  attempts: number;
  fields?: FieldError[];
}

/** Details of the failure a dead-lettered workflow ends with. */
export interface DeadLetteredDetails {
  errors: DeadLetterError[];
}
