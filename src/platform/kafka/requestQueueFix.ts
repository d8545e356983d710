/**
 * kafkajs 2.2.4 (its last release) checks each broker connection's request queue every
 * millisecond while nothing waits: `scheduleCheckPendingRequests` arms a timer for
 * `throttledUntil - Date.now()`, which is negative when the broker never throttled (-1), and Node
 * runs a negative delay after 1 ms; the timer re-arms itself forever. Node 24 also prints a
 * TimeoutNegativeWarning for it in every process (kafkajs issue #1751, fix proposed in #1768).
 *
 * This replaces that one method: a timer only when requests are pending or the broker asked to
 * be left alone (throttling), exactly as before in those cases. With an empty queue and no
 * throttle nothing needs a timer: a new request and a fulfilled one both check the queue.
 */
// kafkajs exports no types for its internals; the path is stable in the pinned 2.x line.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const RequestQueue = require('kafkajs/src/network/requestQueue') as { prototype: RequestQueueInternals };

/** kafkajs's CHECK_PENDING_REQUESTS_INTERVAL. */
const CHECK_PENDING_REQUESTS_INTERVAL_MS = 10;

export interface RequestQueueInternals {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

function scheduleCheckPendingRequests(this: RequestQueueInternals): void {
  if (this.throttleCheckTimeoutId) return;
  const throttledForMs = this.throttledUntil - Date.now();
  if (this.pending.length === 0 && throttledForMs <= 0) return;
  this.throttleCheckTimeoutId = setTimeout(
    () => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    },
    throttledForMs > 0 ? throttledForMs : CHECK_PENDING_REQUESTS_INTERVAL_MS,
  );
}

RequestQueue.prototype.scheduleCheckPendingRequests = scheduleCheckPendingRequests;

export { RequestQueue };
