import { ApplicationFailure, Context } from '@temporalio/activity';

/** The event itself is wrong; retrying cannot help. */
export class InvalidEventError extends Error {
  override name = 'InvalidEventError';
}

/** Errors that say the request itself is wrong; the same request will fail the same way. */
const PERMANENT_ERRORS = new Set(['InvalidEventError', 'ValidationException']);

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
