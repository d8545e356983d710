import {
  ActivityFailure,
  ApplicationFailure,
  proxyActivities,
  proxyLocalActivities,
  TimeoutFailure,
  workflowInfo,
  type ActivityOptions,
  type LocalActivityOptions,
} from '@temporalio/workflow';
import { defaultFailureConverter, defaultPayloadConverter, RetryState, TimeoutType } from '@temporalio/common';
import type { Activities } from '../activities';
import {
  isPermanentErrorType,
  PERMANENT_ERROR_TYPES,
  type DeadLetterError,
  type ProcessEventInput,
  type ProcessEventResult,
  type StepRetry,
  type WorkflowStage,
} from './contract';

/** The retry policies' copy of the contract's rule (the activities also throw these as non-retryable). */
const NON_RETRYABLE_ERROR_TYPES: string[] = [...PERMANENT_ERROR_TYPES];

/**
 * Capped exponential backoff, bounded by the step's elapsed budget (schedule-to-close) and, when
 * set, an attempt cap. Inputs recorded before budgets existed carry an attempt cap and no budget,
 * and get exactly the options they were scheduled with.
 */
export function stepOptions(r: StepRetry, activityTimeoutMs: number): ActivityOptions {
  return {
    startToCloseTimeout: activityTimeoutMs,
    ...(r.maxElapsedMs !== undefined ? { scheduleToCloseTimeout: r.maxElapsedMs } : {}),
    retry: {
      // The SDK spells "no cap" as an absent maximumAttempts (0 is rejected).
      ...(r.maximumAttempts > 0 ? { maximumAttempts: r.maximumAttempts } : {}),
      initialInterval: r.initialIntervalMs,
      maximumInterval: r.maximumIntervalMs,
      backoffCoefficient: 2,
      nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
    },
  };
}

/** The fast path's one attempt, as a local activity; a failure continues as the regular step (runStep). */
export function fastPathOptions(fastMs: number): LocalActivityOptions {
  return { startToCloseTimeout: fastMs, scheduleToCloseTimeout: fastMs, retry: { maximumAttempts: 1, nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES } };
}

type Stage = WorkflowStage;

/** The attempt number an activity put in its failure details or heartbeat (activities/failure.ts). */
function attemptIn(err: unknown): number {
  if (err instanceof ApplicationFailure) return (err.details?.[0] as { attempt?: number } | undefined)?.attempt ?? 0;
  if (err instanceof TimeoutFailure) return (err.lastHeartbeatDetails as { attempt?: number } | undefined)?.attempt ?? 0;
  return 0;
}

/**
 * The error of the last attempt that finished before the budget ran out. The server puts it in
 * the schedule-to-close timeout's cause, but the SDK's TimeoutFailure does not decode causes:
 * it is read from the raw failure the SDK keeps beside the error.
 */
function lastAttemptError(timeout: TimeoutFailure): Error | undefined {
  if (timeout.cause) return timeout.cause;
  const raw = timeout.failure?.cause;
  return raw ? defaultFailureConverter.failureToError(raw, defaultPayloadConverter) : undefined;
}

/**
 * What the dead-letter record says about a step that gave up: its last error's type and message
 * and how many attempts were made. When the elapsed budget runs out while an attempt is in
 * flight or waiting, Temporal reports a schedule-to-close TimeoutFailure whose cause is the last
 * finished attempt's error; the attempt cut short is counted too when it had started (activities
 * heartbeat their attempt number on retries). When a failed attempt's next backoff would overrun
 * the budget, the step fails with that attempt's error directly.
 */
export function describeFailure(stage: Stage, err: unknown, retry: StepRetry, earlierAttempts = 0): DeadLetterError {
  const failure = err instanceof ActivityFailure ? err.cause : err;
  const described = describeStepFailure(stage, err, failure, retry);
  return { ...described, attempts: described.attempts + earlierAttempts };
}

function describeStepFailure(stage: Stage, err: unknown, failure: unknown, retry: StepRetry): DeadLetterError {
  let attempts = attemptIn(failure);
  let last: unknown = failure;
  let budgetNote = '';
  if (failure instanceof TimeoutFailure && failure.timeoutType === TimeoutType.SCHEDULE_TO_CLOSE) {
    budgetNote = ` (gave up: retry budget of ${retry.maxElapsedMs ?? '?'} ms used up)`;
    last = lastAttemptError(failure) ?? failure;
    attempts = Math.max(attempts, attemptIn(last));
  } else if (err instanceof ActivityFailure && err.retryState === RetryState.TIMEOUT) {
    budgetNote = ` (gave up: retry budget of ${retry.maxElapsedMs ?? '?'} ms used up)`;
  }
  if (attempts === 0) {
    // Nothing reported an attempt number: every attempt timed out without a word. Only an
    // attempt cap that was reached says how many there were.
    const capped = err instanceof ActivityFailure && err.retryState === RetryState.MAXIMUM_ATTEMPTS_REACHED && retry.maximumAttempts > 0;
    attempts = capped ? retry.maximumAttempts : 1;
  }
  if (last instanceof ApplicationFailure) {
    return { stage, type: last.type ?? 'Error', message: `${last.message}${budgetNote}`, attempts };
  }
  const e = last as Error | undefined;
  return { stage, type: e?.name ?? 'Error', message: `${e?.message ?? String(err)}${budgetNote}`, attempts };
}

/** An error no retry can fix (marked so, or of a type the contract names): the step ends at once, fast path or not. */
export function isPermanent(err: unknown): boolean {
  const failure = err instanceof ActivityFailure ? err.cause : err;
  return failure instanceof ApplicationFailure && (failure.nonRetryable || isPermanentErrorType(failure.type));
}

type StepOutcome<T> = { ok: true; value: T } | { ok: false; error: unknown; earlierAttempts: number };

/**
 * One step: with a fast path, its first attempt as a local activity (inside the current workflow
 * task, no server round trip, nothing in the history but one marker); if that attempt fails with
 * an error a retry may fix, or takes longer than the fast-path budget, the step continues as the
 * regular activity with the full retry policy, so an outage shows in the Web UI as pending
 * attempts with their count and last failure. The fast attempt is counted in the dead letter.
 */
async function runStep<T>(fast: (() => Promise<T>) | undefined, regular: () => Promise<T>): Promise<StepOutcome<T>> {
  let earlierAttempts = 0;
  if (fast) {
    try {
      return { ok: true, value: await fast() };
    } catch (err) {
      if (isPermanent(err)) return { ok: false, error: err, earlierAttempts };
      earlierAttempts = 1;
    }
  }
  try {
    return { ok: true, value: await regular() };
  } catch (err) {
    return { ok: false, error: err, earlierAttempts };
  }
}

/**
 * One event: the hot write (DynamoDB) and the cold archive (S3) run side by side, each with its
 * own retries, so a failing archive never delays or blocks the queryable copy. When the input
 * carries a fast-path budget, both first attempts run as local activities in the first workflow
 * task: on the happy path the run is one workflow task from start to completion (7 history
 * events). Transient errors are retried until the step's elapsed budget runs out (an outage
 * shows meanwhile as a pending activity); an error no retry can fix ends the step at once. A step
 * that failed either way is published to the dead-letter topic, and then the workflow
 * fails: the Failed runs in the Web UI are exactly the dead-lettered events, and starting the
 * workflow again with the same ID (a replay) is allowed because the previous run failed.
 */
export async function processEvent(input: ProcessEventInput): Promise<ProcessEventResult> {
  const { event, retries } = input;
  const hot = proxyActivities<Pick<Activities, 'storeHot'>>(stepOptions(retries.hot, retries.activityTimeoutMs));
  const cold = proxyActivities<Pick<Activities, 'archiveCold'>>(stepOptions(retries.cold, retries.activityTimeoutMs));
  // Publishing the dead letter must not be lost: retry until Kafka takes it.
  const dlq = proxyActivities<Pick<Activities, 'deadLetter'>>({
    startToCloseTimeout: retries.activityTimeoutMs,
    retry: { initialInterval: 1_000, maximumInterval: 60_000, backoffCoefficient: 2 },
  });
  // The branch depends on the input alone, so every run replays with the commands it recorded.
  const fastMs = retries.fastPathTimeoutMs ?? 0;
  const local = fastMs > 0 ? proxyLocalActivities<Pick<Activities, 'storeHot' | 'archiveCold'>>(fastPathOptions(fastMs)) : undefined;

  const [hotResult, coldResult] = await Promise.all([
    runStep(local && (() => local.storeHot(event)), () => hot.storeHot(event)),
    runStep(local && (() => local.archiveCold(event)), () => cold.archiveCold(event)),
  ]);
  if (hotResult.ok && coldResult.ok) {
    return { event_id: event.event_id, hot: hotResult.value, cold: 'archived', archive_key: coldResult.value.key };
  }

  const errors: DeadLetterError[] = [];
  if (!hotResult.ok) errors.push(describeFailure('storeHot', hotResult.error, retries.hot, hotResult.earlierAttempts));
  if (!coldResult.ok) errors.push(describeFailure('archiveCold', coldResult.error, retries.cold, coldResult.earlierAttempts));
  const first = errors[0]!;
  const info = workflowInfo();
  await dlq.deadLetter({
    original: event,
    error: first,
    ...(errors.length > 1 ? { errors } : {}),
    failed_at: new Date().toISOString(),
    workflow_id: info.workflowId,
    run_id: info.runId,
  });
  throw ApplicationFailure.create({
    type: 'EventDeadLettered',
    message: `${first.stage} failed after ${first.attempts} attempt(s): ${first.message}; event published to the dead-letter topic`,
    nonRetryable: true,
    details: [{ errors }],
  });
}
