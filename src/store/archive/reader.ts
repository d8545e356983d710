/**
 * Reading the archive back: its keys page by page (ListObjectsV2 with a continuation token, so
 * memory stays flat whatever the archive's size) and one object at a time, never past the size
 * one event can have.
 */
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { ARCHIVE_PREFIX } from './layout';
import type { ArchiveBucket } from './writer';

/**
 * Bytes the producer's envelope may add to a request of MAX_EVENT_BYTES (schema_version, an
 * event_id, both times in full, an empty payload: about 160), with room: an archived object
 * larger than the limit plus this was never an accepted event.
 */
const ENVELOPE_OVERHEAD_BYTES = 1024;

/** The archive's keys after `startAfter`, in key order, one listing page (at most `pageSize`) at a time. */
export async function* archivedKeyPages(archive: ArchiveBucket, opts: { startAfter: string; pageSize: number }): AsyncGenerator<string[]> {
  let token: string | undefined;
  do {
    const page = await archive.s3.send(
      new ListObjectsV2Command({
        Bucket: archive.bucket,
        Prefix: ARCHIVE_PREFIX,
        MaxKeys: opts.pageSize,
        ...(token ? { ContinuationToken: token } : { StartAfter: opts.startAfter }),
      }),
    );
    yield (page.Contents ?? []).flatMap((o) => (o.Key ? [o.Key] : []));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

/**
 * An object's text, or why it was not read: one larger than an event can be is refused from its
 * ContentLength, and a body that turns out longer (no length, or a wrong one) is cut off at the
 * limit, so memory per object stays bounded whatever the bucket holds.
 */
export async function readArchivedObject(archive: ArchiveBucket, key: string, maxEventBytes: number): Promise<string | { tooLarge: string }> {
  const limit = maxEventBytes + ENVELOPE_OVERHEAD_BYTES;
  const tooLarge = (size: string) => ({
    tooLarge: `object is ${size} bytes, more than one event can be (${limit}: MAX_EVENT_BYTES ${maxEventBytes} and the envelope); not read`,
  });
  const out = await archive.s3.send(new GetObjectCommand({ Bucket: archive.bucket, Key: key }));
  const body = out.Body as (AsyncIterable<Uint8Array> & { destroy?: () => void }) | undefined;
  if (out.ContentLength !== undefined && out.ContentLength > limit) {
    body?.destroy?.();
    return tooLarge(String(out.ContentLength));
  }
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of body ?? []) {
    bytes += chunk.length;
    // Leaving the loop early ends the stream (its return() destroys it).
    if (bytes > limit) return tooLarge(`over ${limit}`);
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks).toString('utf8');
}
