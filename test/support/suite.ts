/** What the tests of one describe (or one file) share. */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';

/**
 * A resource the tests of the describe (or file) this is called in share: made in a `before`
 * hook, released in an `after` hook whatever the tests did (not at all if making it failed).
 * Returns its getter, for the tests and for hooks registered after this call.
 */
export function perSuite<T>(what: string, make: () => Promise<T>, release: (value: T) => Promise<void>): () => T {
  let made: { value: T } | undefined;
  before(async () => {
    made = { value: await make() };
  });
  after(async () => {
    if (made) await release(made.value);
  });
  return () => {
    if (!made) assert.fail(`${what} was used before the before hook that makes it`);
    return made.value;
  };
}
