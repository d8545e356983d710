/** The one write of an event's archive object; every retry writes the same bytes to the same key. */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { serializeEnvelope, type EventEnvelope } from '../../events/event';
import { archiveKey } from './layout';

export interface ArchiveBucket {
  s3: Pick<S3Client, 'send'>;
  bucket: string;
}

/** Writes the event's object and returns its key. */
export async function putArchivedEvent(archive: ArchiveBucket, event: EventEnvelope): Promise<string> {
  const key = archiveKey(event);
  await archive.s3.send(new PutObjectCommand({ Bucket: archive.bucket, Key: key, Body: serializeEnvelope(event), ContentType: 'application/json' }));
  return key;
}
