import { ApplicationFailure, Context } from '@temporalio/activity';
import { isPermanentErrorType } from '../workflows/contract';

/** The event itself is wrong; retrying cannot help. */
export class InvalidEventError extends Error {
  override name = 'InvalidEventError';
}

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
 * dead-letter record can say how many attempts were made. The SDK's conversion keeps the message,
 * stack and cause; the type is the error's name, not its constructor's (an AWS error's name is the
 * service's code, such as `ValidationException`, whatever class the SDK built it with), and
 * non-retryable by the contract's rule (isPermanentErrorType).
 */
export function asActivityFailure(err: unknown): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const type = err instanceof Error ? err.name : 'Error';
  return ApplicationFailure.fromError(err, { type, nonRetryable: isPermanentErrorType(type), details: [{ attempt: Context.current().info.attempt }] });
}
