/**
 * Keeps trying to start a consumer: `attempt` runs until it resolves or stop() is called, with a
 * wait of 1 s, doubling to 30 s, after each failure (`onFailure` logs and disconnects first).
 * stop() ends a wait at once, so shutting down never waits out a backoff.
 */
export function createRetryLoop() {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;
  return {
    get stopped(): boolean {
      return stopped;
    },
    async run(attempt: () => Promise<void>, onFailure: (err: unknown, retryInMs: number) => Promise<void>): Promise<void> {
      for (let delay = 1_000; !stopped; delay = Math.min(delay * 2, 30_000)) {
        try {
          await attempt();
          return;
        } catch (err) {
          if (stopped) return;
          await onFailure(err, delay);
          await new Promise<void>((resolve) => {
            wake = resolve;
            timer = setTimeout(resolve, delay);
          });
        }
      }
    },
    stop(): void {
      stopped = true;
      clearTimeout(timer);
      wake?.();
    },
  };
}
