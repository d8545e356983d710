/**
 * Starts processEvent for one envelope, with workflow ID = event_id. The reuse policy makes a
 * redelivered record harmless: a running or completed run answers "already started" (success for
 * the bridge), and only a Failed run (a dead-lettered event) may run again, which is what a
 * replay needs.
 */
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType, TypedSearchAttributes } from '@temporalio/common';
import type { Config } from '../platform/config';
import type { EventEnvelope } from '../events/event';
import { SEARCH_ATTRIBUTES, WORKFLOW_TYPE, type ProcessEventInput } from '../../workflows/contract';
// Type only: the start's arguments and result are checked against the workflow function.
import type { processEvent } from '../../workflows';

const EventTypeKey = defineSearchAttributeKey(SEARCH_ATTRIBUTES.eventType, SearchAttributeType.KEYWORD);
const UserIdKey = defineSearchAttributeKey(SEARCH_ATTRIBUTES.userId, SearchAttributeType.KEYWORD);

export type StartOutcome = 'started' | 'already-started';

export type StartProcessEvent = (event: EventEnvelope) => Promise<StartOutcome>;

/**
 * The server caps the summary at 400 bytes (`limit.userMetadataSummarySize`), counted on the
 * serialized Payload: the JSON string with its quotes and escapes, plus the Payload's encoding
 * metadata (~25 bytes). 300 bytes of JSON leaves room for both.
 */
export const SUMMARY_MAX_JSON_BYTES = 300;

const jsonBytes = (text: string) => Buffer.byteLength(JSON.stringify(text), 'utf8');

/**
 * The Web UI's one-line summary of a run. event_type (128 chars) and user_id (256 chars of any
 * script) can exceed the server's limit together, and an over-limit summary makes the start fail
 * with INVALID_ARGUMENT; so each part is cut on a code-point boundary until it fits, marked "…".
 */
export function workflowSummary(event: Pick<EventEnvelope, 'event_type' | 'user_id' | 'timestamp'>): string {
  const full = `${event.event_type} from user ${event.user_id} at ${event.timestamp}`;
  if (jsonBytes(full) <= SUMMARY_MAX_JSON_BYTES) return full;
  const clip = (text: string, maxChars: number) => {
    const points = Array.from(text);
    return points.length <= maxChars ? text : `${points.slice(0, maxChars).join('')}…`;
  };
  // Shorten the longer part first, one code point at a time; both parts are at most 256 points.
  let typeChars = Array.from(event.event_type).length;
  let userChars = Array.from(event.user_id).length;
  for (;;) {
    const summary = `${clip(event.event_type, typeChars)} from user ${clip(event.user_id, userChars)} at ${event.timestamp}`;
    if (jsonBytes(summary) <= SUMMARY_MAX_JSON_BYTES || (typeChars === 0 && userChars === 0)) return summary;
    if (userChars >= typeChars) userChars--;
    else typeChars--;
  }
}

export interface StartOptions {
  /** Deadline of one start, including the SDK's own gRPC retries. */
  timeoutMs: number;
  /**
   * Ask the server to hand the run's first workflow task back with the start answer, to a worker
   * of this process on the same task queue (eager start): no task-queue round trip. Only a client
   * on the worker's NativeConnection can ask (workers/processor.ts); the server falls back to
   * the task queue when the worker has no free slot.
   */
  requestEagerStart?: boolean;
}

export function createStartProcessEvent(
  client: Pick<Client, 'workflow' | 'withDeadline'>,
  temporal: Config['temporal'],
  retries: Config['retries'],
  opts: StartOptions = { timeoutMs: 10_000 },
): StartProcessEvent {
  return async (event) => {
    const input: ProcessEventInput = { event, retries };
    // Started by name (the bridge never loads workflow code), typed by the function.
    try {
      // Without a deadline the SDK retries an unreachable server for ~21 s per call, longer than
      // the bridge can go without heartbeating; with one, the call fails with DEADLINE_EXCEEDED
      // and the bridge's own backoff takes over.
      await client.withDeadline(Date.now() + opts.timeoutMs, () =>
        client.workflow.start<typeof processEvent>(WORKFLOW_TYPE, {
          workflowId: event.event_id,
          taskQueue: temporal.taskQueue,
          args: [input],
          workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
          typedSearchAttributes: new TypedSearchAttributes([
            { key: EventTypeKey, value: event.event_type },
            { key: UserIdKey, value: event.user_id },
          ]),
          staticSummary: workflowSummary(event),
          ...(opts.requestEagerStart ? { requestEagerStart: true } : {}),
        }),
      );
      return 'started';
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return 'already-started';
      throw err;
    }
  };
}
