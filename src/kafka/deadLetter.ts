/**
 * The dead-letter record. One shape for both sources, so one consumer (or `replay-dlq`) handles
 * both: `error.stage` says where it failed.
 *  - a workflow step that exhausted its retries: stage storeHot | archiveCold, with workflow_id
 *    and run_id (the Failed run in the Temporal Web UI);
 *  - a record the bridge could not use: stage bridge, with the source topic/partition/offset.
 */
import type { Producer } from 'kafkajs';
import type { EventEnvelope, FieldError } from '../events/event';

export interface DeadLetterError {
  stage: 'storeHot' | 'archiveCold' | 'bridge';
  type: string;
  message: string;
  attempts: number;
  fields?: FieldError[];
}

export interface DeadLetterRecord {
  /** The envelope, or for an unparseable record its raw value as a string. */
  original: EventEnvelope | string | unknown;
  error: DeadLetterError;
  /** Every failed stage when more than one failed; `error` is the first of them. */
  errors?: DeadLetterError[];
  failed_at: string;
  workflow_id?: string;
  run_id?: string;
  source?: { topic: string; partition: number; offset: string; key: string | null };
}

export async function publishDeadLetter(
  producer: Pick<Producer, 'send'>,
  topic: string,
  key: string | null,
  record: DeadLetterRecord,
): Promise<void> {
  await producer.send({
    topic,
    acks: -1,
    messages: [{ key, value: JSON.stringify(record), headers: { 'dlq-stage': record.error.stage } }],
  });
}
