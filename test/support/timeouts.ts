/**
 * A test's or suite's own timeout only catches a hang. How long things take is measured by the
 * benchmarks, never asserted here, and every condition a test waits on has its own deadline
 * (test/support/wait.ts), so a suite that is slow on a busy machine must not fail for it: a
 * suite of ten tests that each wait a minute under load is not hung.
 */
export const HANG_TIMEOUT_MS = 15 * 60_000;
