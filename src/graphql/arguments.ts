/**
 * Checks of every query argument before anything reaches DynamoDB. A value no stored event can
 * match (an empty or over-long key, an id that is not a UUID, a cursor this API never issued)
 * is the client's mistake: it gets a GraphQL error with code BAD_USER_INPUT naming the argument,
 * never a storage call that fails (DynamoDB refuses keys over 2048 bytes) and is reported as an
 * outage. The rules are the producer's, so whatever it accepts can be queried.
 */
import mercurius from 'mercurius';
import { EVENT_TYPE_PATTERN, MAX_USER_ID_LENGTH } from '../events/validate';
import { bucketCount, type Interval } from '../store/counts/buckets';
import { CursorError, decodeCursor } from '../store/hot/reader';

/** An error the client caused; Mercurius shows its message as-is. */
export class BadArgumentError extends mercurius.ErrorWithProps {
  override name = 'BadArgumentError';
  constructor(argument: string, message: string) {
    super(`${argument}: ${message}`, { code: 'BAD_USER_INPUT', argument }, 200);
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Shown instead of a long value, so an error never echoes kilobytes back. */
function preview(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}

export function limitArg(limit: number | null | undefined, defaultLimit: number, maxLimit: number): number {
  if (limit === null || limit === undefined) return defaultLimit;
  if (!Number.isInteger(limit) || limit < 1 || limit > maxLimit) throw new BadArgumentError('limit', `must be between 1 and ${maxLimit}, got ${limit}`);
  return limit;
}

export function eventTypeArg(value: string): string {
  if (!EVENT_TYPE_PATTERN.test(value)) {
    throw new BadArgumentError('eventType', `expected 1-128 characters of A-Z a-z 0-9 _ . : - (as the producer accepts), got ${preview(value)}`);
  }
  return value;
}

export function userIdArg(value: string): string {
  if (value.length === 0 || value.length > MAX_USER_ID_LENGTH) {
    throw new BadArgumentError('userId', `expected 1-${MAX_USER_ID_LENGTH} characters (as the producer accepts), got ${value.length}`);
  }
  return value;
}

export function eventIdArg(value: string): string {
  if (!UUID.test(value)) throw new BadArgumentError('eventId', `expected a UUID such as 0192f1c4-8d1e-7c3a-9b2f-5a6d7e8f9a0b, got ${preview(value)}`);
  return value;
}

/** The cursor as given (the reader decodes it again); undefined when absent. */
export function afterArg(value: string | null | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  try {
    decodeCursor(value);
  } catch (err) {
    if (err instanceof CursorError) throw new BadArgumentError('after', err.message);
    throw err;
  }
  return value;
}

/** Most buckets one eventCounts call returns: a day of minutes fits, a year of days too. */
export const MAX_COUNT_BUCKETS = 2_000;

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d)(?:\.\d{1,9})?)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/i;

/** Epoch ms of an ISO-8601 instant with a zone (`Z` or `±hh:mm`), or undefined if it is not one. */
export function parseInstant(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = DATE_TIME.exec(value);
  if (!match) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  // The date must exist as written: 2026-02-30 is refused, not read as 2 March.
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return undefined;
  const ms = Date.parse(value.toUpperCase());
  return Number.isNaN(ms) ? undefined : ms;
}

export function instantArg(argument: string, value: unknown): number {
  const ms = parseInstant(value);
  if (ms === undefined) {
    throw new BadArgumentError(
      argument,
      `expected an ISO-8601 time with a zone, such as 2026-11-26T10:00:00Z or 2026-11-26T11:00:00+01:00, got ${typeof value === 'string' ? preview(value) : typeof value}`,
    );
  }
  return ms;
}

/** from, to and interval of eventCounts, checked: a non-empty range of at most MAX_COUNT_BUCKETS buckets. */
export function countRangeArgs(from: unknown, to: unknown, interval: Interval): { fromMs: number; toMs: number } {
  const fromMs = instantArg('from', from);
  const toMs = instantArg('to', to);
  if (toMs <= fromMs) throw new BadArgumentError('to', 'must be later than from');
  const buckets = bucketCount(fromMs, toMs, interval);
  if (buckets > MAX_COUNT_BUCKETS) {
    throw new BadArgumentError(
      'interval',
      `from..to spans ${buckets} ${interval} buckets, over the limit of ${MAX_COUNT_BUCKETS}; use a larger interval or a shorter range`,
    );
  }
  return { fromMs, toMs };
}
