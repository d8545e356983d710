import {
  ActivityFailure,
  ApplicationFailure,
  proxyActivities,
  TimeoutFailure,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import { defaultFailureConverter, defaultPayloadConverter, RetryState, TimeoutType } from '@temporalio/common';
import type { Activities } from '../activities';
import type { DeadLetterError } from '../src/kafka/deadLetter';
import type { ProcessEventInput, ProcessEventResult, StepRetry } from './types';

/** Errors no retry can fix; activities throw them as non-retryable. */
export const NON_RETRYABLE_ERROR_TYPES = ['InvalidEventError'];

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

type Stage = 'storeHot' | 'archiveCold';

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
export function describeFailure(stage: Stage, err: unknown, retry: StepRetry): DeadLetterError {
  const failure = err instanceof ActivityFailure ? err.cause : err;
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

/**
 * One event: the hot write (DynamoDB) and the cold archive (S3) run side by side, each with its
 * own retries, so a failing archive never delays or blocks the queryable copy. Transient errors
 * are retried until the step's elapsed budget runs out (an outage shows meanwhile as a pending
 * activity); an error no retry can fix ends the step at once. A step that failed either way is
 * published to the dead-letter topic, and then the workflow
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

  const [hotResult, coldResult] = await Promise.allSettled([hot.storeHot(event), cold.archiveCold(event)]);
  if (hotResult.status === 'fulfilled' && coldResult.status === 'fulfilled') {
    return { event_id: event.event_id, hot: hotResult.value, cold: 'archived', archive_key: coldResult.value.key };
  }

  const errors: DeadLetterError[] = [];
  if (hotResult.status === 'rejected') errors.push(describeFailure('storeHot', hotResult.reason, retries.hot));
  if (coldResult.status === 'rejected') errors.push(describeFailure('archiveCold', coldResult.reason, retries.cold));
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
