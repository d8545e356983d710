/** What each resource's provisioning shares: its options, and waiting until a server answers. */
import type { Logger } from 'pino';

export interface ProvisionOptions {
  checkOnly?: boolean;
  /** How long to wait for each server to answer. */
  deadlineMs?: number;
  logger: Logger;
}

/** Retries `attempt` with backoff until it resolves or the deadline passes. */
export async function retryUntilReady<T>(what: string, deadlineMs: number, attempt: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  let delay = 100;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what} not ready after ${Math.round(deadlineMs / 1000)}s: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 2_000);
    }
  }
}
