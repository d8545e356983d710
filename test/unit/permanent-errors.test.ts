/**
 * "No retry can fix it" is decided once (isPermanentErrorType in workflows/contract.ts); the
 * activities' non-retryable flag, the workflow's retry policies (regular and fast path) and the
 * workflow's own check are derived from it. This fails when one of them leaves a type out, or
 * treats a transient one as permanent.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ActivityFailure, ApplicationFailure, RetryState } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { asActivityFailure } from '../../activities/failure';
import { isPermanentErrorType, PERMANENT_ERROR_TYPES } from '../../workflows/contract';
import { fastPathOptions, isPermanent, stepOptions } from '../../workflows/processEvent';

/** Retried until the step's budget runs out (workflows/contract.ts says why). */
const TRANSIENT = ['TimeoutError', 'ResourceNotFoundException', 'AccessDenied', 'NoSuchBucket', 'ThrottlingException', 'Error', 'SomethingNobodyExpected'];

const named = (name: string) => Object.assign(new Error(`a ${name}`), { name });
/** asActivityFailure inside an activity's context (it reads the attempt number from there). */
const convert = (err: unknown, attempt = 1): Promise<ApplicationFailure> =>
  new MockActivityEnvironment({ attempt }).run(async () => asActivityFailure(err)) as Promise<ApplicationFailure>;
const fromActivity = (failure: ApplicationFailure) =>
  new ActivityFailure('activity failed', 'storeHot', '1', RetryState.NON_RETRYABLE_FAILURE, undefined, failure);

describe('one rule for errors no retry can fix', () => {
  const step = stepOptions({ maximumAttempts: 0, initialIntervalMs: 10, maximumIntervalMs: 50, maxElapsedMs: 3_000 }, 1_000);
  const fast = fastPathOptions(500);

  for (const type of PERMANENT_ERROR_TYPES) {
    void it(`${type}: non-retryable from the activity, in both retry policies, permanent to the workflow`, async () => {
      assert.equal(isPermanentErrorType(type), true);
      const failure = await convert(named(type));
      assert.equal(failure.type, type);
      assert.equal(failure.nonRetryable, true);
      assert.ok(step.retry?.nonRetryableErrorTypes?.includes(type), 'regular activity retry policy');
      assert.ok(fast.retry?.nonRetryableErrorTypes?.includes(type), 'fast path (local activity) retry policy');
      // A failure of this type that was not flagged (thrown by other code) is still permanent.
      const unflagged = ApplicationFailure.create({ type, message: 'x', nonRetryable: false });
      assert.equal(isPermanent(unflagged), true);
      assert.equal(isPermanent(fromActivity(unflagged)), true);
    });
  }

  void it('transient errors are retried everywhere: not flagged, in no policy, not permanent to the workflow', async () => {
    for (const type of TRANSIENT) {
      assert.equal(isPermanentErrorType(type), false, type);
      const failure = await convert(named(type));
      assert.equal(failure.type, type);
      assert.equal(failure.nonRetryable, false, type);
      assert.ok(!step.retry?.nonRetryableErrorTypes?.includes(type), type);
      assert.ok(!fast.retry?.nonRetryableErrorTypes?.includes(type), type);
      assert.equal(isPermanent(fromActivity(ApplicationFailure.create({ type, message: 'x' }))), false, type);
    }
    assert.equal(isPermanentErrorType(undefined), false);
    assert.equal(isPermanentErrorType(null), false);
  });

  void it('a failure flagged non-retryable is permanent to the workflow whatever its type', () => {
    assert.equal(isPermanent(fromActivity(ApplicationFailure.create({ type: 'TimeoutError', message: 'x', nonRetryable: true }))), true);
  });

  void it("asActivityFailure is the SDK's conversion: the error's message and stack, its name as the type, the attempt in the details", async () => {
    const cause = new Error('socket hang up');
    const err = Object.assign(new Error('Number overflow', { cause }), { name: 'ValidationException' });
    const failure = await convert(err, 4);
    assert.ok(failure instanceof ApplicationFailure);
    assert.equal(failure.message, 'Number overflow');
    assert.equal(failure.stack, err.stack);
    assert.equal(failure.cause, cause);
    assert.deepEqual(failure.details, [{ attempt: 4 }]);
    // Not an Error at all: typed Error, its text as the message.
    const thrown = await convert('plain string');
    assert.equal(thrown.type, 'Error');
    assert.equal(thrown.message, 'plain string');
    assert.equal(thrown.nonRetryable, false);
    // Already a failure: passed through as it is.
    const own = ApplicationFailure.create({ type: 'X', message: 'y', nonRetryable: true });
    assert.equal(await convert(own), own);
  });
});
