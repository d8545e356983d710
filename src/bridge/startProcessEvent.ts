/**
 * Starts processEvent for one envelope, with workflow ID = event_id. The reuse policy makes a
 * redelivered record harmless: a running or completed run answers "already started" (success for
 * the bridge), and only a Failed run (a dead-lettered event) may run again, which is what a
 * replay needs.
 */
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType, TypedSearchAttributes } from '@temporalio/common';
import type { Config } from '../config';
import type { EventEnvelope } from '../events/event';
import { SEARCH_ATTRIBUTES, WORKFLOW_TYPE } from '../temporal/constants';
import type { ProcessEventInput } from '../../workflows/types';

const EventTypeKey = defineSearchAttributeKey(SEARCH_ATTRIBUTES.eventType, SearchAttributeType.KEYWORD);
const UserIdKey = defineSearchAttributeKey(SEARCH_ATTRIBUTES.userId, SearchAttributeType.KEYWORD);

export type StartOutcome = 'started' | 'already-started';

export type StartProcessEvent = (event: EventEnvelope) => Promise<StartOutcome>;

export function createStartProcessEvent(
  client: Pick<Client, 'workflow'>,
  temporal: Config['temporal'],
  retries: Config['retries'],
): StartProcessEvent {
  return async (event) => {
    const input: ProcessEventInput = { event, retries };
    try {
      await client.workflow.start(WORKFLOW_TYPE, {
        workflowId: event.event_id,
        taskQueue: temporal.taskQueue,
        args: [input],
        workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
        typedSearchAttributes: new TypedSearchAttributes([
          { key: EventTypeKey, value: event.event_type },
          { key: UserIdKey, value: event.user_id },
        ]),
        staticSummary: `${event.event_type} from user ${event.user_id} at ${event.timestamp}`,
      });
      return 'started';
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return 'already-started';
      throw err;
    }
  };
}

const GRPC_INVALID_ARGUMENT = 3;

/**
 * True when Temporal rejected this one record (its arguments), so retrying it is pointless and
 * it belongs in the DLQ. Anything else (unreachable server, timeouts, overload) would hit every
 * record: the bridge waits and retries instead.
 */
export function isRecordRejection(err: unknown): boolean {
  const code = (err as { code?: number; cause?: { code?: number } }).code ?? (err as { cause?: { code?: number } }).cause?.code;
  return code === GRPC_INVALID_ARGUMENT;
}
