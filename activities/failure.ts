import { ApplicationFailure, Context } from '@temporalio/activity';
import { PERMANENT_ERROR_TYPES } from '../workflows/contract';

/** The event itself is wrong; retrying cannot help. */
export class InvalidEventError extends Error {
  override name = 'InvalidEventError';
}

/** Errors no retry can fix (workflows/contract.ts says which and why). */
const PERMANENT_ERRORS: ReadonlySet<string> = new Set(PERMANENT_ERROR_TYPES);

/**
 * Called at the start of an activity: from the second attempt on, records the attempt number as
 * the heartbeat details. When the step's budget runs out while an attempt is in flight, Temporal
 * hands those details back in the TimeoutFailure, so the dead-letter record counts that attempt
 * too. The first attempt sends nothing (no extra call on the healthy path).
 */
export function recordAttempt(): void {
  const { attempt } = Context.current().info;
  if (attempt > 1) Context.current().heartbeat({ attempt });
}

/**
 * Rethrows an activity error as an ApplicationFailure that carries the attempt number, so the
 * dead-letter record can say how many attempts were made. Type = the error's name (for example
 * `S3ServiceException`, `TimeoutError`), non-retryable for errors no retry can fix.
 */
export function asActivityFailure(err: unknown): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const e = err instanceof Error ? err : new Error(String(err));
  return ApplicationFailure.create({
    type: e.name,
    message: e.message || e.name,
    nonRetryable: PERMANENT_ERRORS.has(e.name),
    details: [{ attempt: Context.current().info.attempt }],
    cause: e,
  });
}
