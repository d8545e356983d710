/**
 * The S3 archive's layout: one object per event at `events/YYYY/MM/DD/{event_id}.json`, by the UTC
 * date of the event's timestamp, so a day is one prefix and keys sort by day. The body is
 * `serializeEnvelope` of the event: the same event always gives the same bytes at the same key.
 */
import type { BucketLocationConstraint, CreateBucketCommandInput, LifecycleRule } from '@aws-sdk/client-s3';
import type { EventEnvelope } from '../../events/event';

/** Every archived object's key starts with this; the lifecycle rule and the listing use it too. */
export const ARCHIVE_PREFIX = 'events/';

/** UTC day of an ISO-8601 UTC timestamp: `2026-11-25T10:00:00.000Z` → `2026-11-25`. */
function utcDay(timestamp: string): string {
  return timestamp.slice(0, 10);
}

/** `events/YYYY/MM/DD/{event_id}.json`, by the UTC date of the event's timestamp. */
export function archiveKey(event: Pick<EventEnvelope, 'timestamp' | 'event_id'>): string {
  const [year, month, day] = utcDay(event.timestamp).split('-');
  return `${ARCHIVE_PREFIX}${year}/${month}/${day}/${event.event_id}.json`;
}

/** `events/YYYY/MM/DD/` of a day `YYYY-MM-DD`. */
export const dayPrefix = (day: string) => `${ARCHIVE_PREFIX}${day.replace(/-/g, '/')}/`;

const KEY_DAY = new RegExp(`^${ARCHIVE_PREFIX}(\\d{4})/(\\d{2})/(\\d{2})/`);

/** The day of an archive key as YYYY-MM-DD, or undefined for a key outside the layout. */
export function keyDay(key: string): string | undefined {
  const m = KEY_DAY.exec(key);
  return m ? `${m[1]}-${m[2]}-${m[3]}` : undefined;
}

/** The event id a key names (its file name), for reporting a key that could not be read. */
export function keyEventId(key: string): string | null {
  return /\/([^/]+)\.json$/.exec(key)?.[1] ?? null;
}

/** The archive's lifecycle rule, replacing only the platform's own rule among the bucket's rules. */
export const LIFECYCLE_RULE_ID = 'event-platform-archive';

export function archiveLifecycleRule(transitionDays: number, expirationDays: number): LifecycleRule | undefined {
  if (transitionDays === 0 && expirationDays === 0) return undefined;
  return {
    ID: LIFECYCLE_RULE_ID,
    Status: 'Enabled',
    Filter: { Prefix: ARCHIVE_PREFIX },
    ...(transitionDays > 0 ? { Transitions: [{ Days: transitionDays, StorageClass: 'GLACIER_IR' }] } : {}),
    ...(expirationDays > 0 ? { Expiration: { Days: expirationDays } } : {}),
  };
}

/**
 * S3 creates a bucket in us-east-1 unless the request names another region, and refuses a request
 * sent to another region's endpoint without one (IllegalLocationConstraintException).
 */
export function createBucketInput(bucket: string, region: string): CreateBucketCommandInput {
  return region === 'us-east-1'
    ? { Bucket: bucket }
    : { Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } };
}
