import { ApplicationFailure, Context } from '@temporalio/activity';

/** The event itself is wrong; retrying cannot help. */
export class InvalidEventError extends Error {
  override name = 'InvalidEventError';
}

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
export const PERMANENT_ERRORS: ReadonlySet<string> = new Set([
  'InvalidEventError',
  'ValidationException',
  'SerializationException',
  'EntityTooLarge',
  'KeyTooLongError',
]);

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
