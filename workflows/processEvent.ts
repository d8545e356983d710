import { ActivityFailure, ApplicationFailure, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { DeadLetterError } from '../src/kafka/deadLetter';
import type { ProcessEventInput, ProcessEventResult, StepRetry } from './types';

/** Errors no retry can fix; activities throw them as non-retryable. */
export const NON_RETRYABLE_ERROR_TYPES = ['InvalidEventError'];

const retryPolicy = (r: StepRetry) => ({
  maximumAttempts: r.maximumAttempts,
  initialInterval: r.initialIntervalMs,
  maximumInterval: r.maximumIntervalMs,
  backoffCoefficient: 2,
  nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
});

type Stage = 'storeHot' | 'archiveCold';

/** What the activity reported about the attempt it failed on (see activities/failure.ts). */
function describeFailure(stage: Stage, err: unknown, maximumAttempts: number): DeadLetterError {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    const detail = cause.details?.[0] as { attempt?: number } | undefined;
    return { stage, type: cause.type ?? 'Error', message: cause.message, attempts: detail?.attempt ?? maximumAttempts };
  }
  const e = cause as Error | undefined;
  return { stage, type: e?.name ?? 'Error', message: e?.message ?? String(err), attempts: maximumAttempts };
}

/**
 * One event: the hot write (DynamoDB) and the cold archive (S3) run side by side, each with its
 * own retries, so a failing archive never delays or blocks the queryable copy. A step that is
 * still failing after its retries is published to the dead-letter topic, and then the workflow
 * fails: the Failed runs in the Web UI are exactly the dead-lettered events, and starting the
 * workflow again with the same ID (a replay) is allowed because the previous run failed.
 */
export async function processEvent(input: ProcessEventInput): Promise<ProcessEventResult> {
  const { event, retries } = input;
  const timeout = { startToCloseTimeout: retries.activityTimeoutMs };
  const hot = proxyActivities<Pick<Activities, 'storeHot'>>({ ...timeout, retry: retryPolicy(retries.hot) });
  const cold = proxyActivities<Pick<Activities, 'archiveCold'>>({ ...timeout, retry: retryPolicy(retries.cold) });
  // Publishing the dead letter must not be lost: retry until Kafka takes it.
  const dlq = proxyActivities<Pick<Activities, 'deadLetter'>>({
    ...timeout,
    retry: { initialInterval: 1_000, maximumInterval: 60_000, backoffCoefficient: 2 },
  });

  const [hotResult, coldResult] = await Promise.allSettled([hot.storeHot(event), cold.archiveCold(event)]);
  if (hotResult.status === 'fulfilled' && coldResult.status === 'fulfilled') {
    return { event_id: event.event_id, hot: hotResult.value, cold: 'archived', archive_key: coldResult.value.key };
  }

  const errors: DeadLetterError[] = [];
  if (hotResult.status === 'rejected') errors.push(describeFailure('storeHot', hotResult.reason, retries.hot.maximumAttempts));
  if (coldResult.status === 'rejected') errors.push(describeFailure('archiveCold', coldResult.reason, retries.cold.maximumAttempts));
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
