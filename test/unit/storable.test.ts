/**
 * Whatever the producer accepts can be stored: every envelope `validateEventRequest` returns,
 * over generated timestamps, sent_at corrections, payload numbers, strings and nesting, passes
 * the bridge's `parseEnvelope` unchanged after its trip through Kafka's bytes, maps to a valid S3
 * key, and marshals (as storeHot does) to a DynamoDB item within DynamoDB's rules that reads back
 * as the same payload. Seeded, so a
 * failure reproduces; the generator leans on the edges (zero, 1e-130, 2^53, 1970, year 9999).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { serializeEnvelope, type EventEnvelope } from '../../src/events/event';
import { parseExact } from '../../src/events/exactJson';
import { parseEnvelope, parseTimestamp, validateEventRequest } from '../../src/events/validate';
import { marshallItem, unmarshallItem } from '../../src/store/hot/itemCodec';
import { toItem, type EventItem } from '../../src/store/hot/layout';
import { archiveKey } from '../../src/store/archive/layout';
import { MAX_EVENT_BYTES_CAP } from '../../src/platform/config';
import { LIMITS } from '../support/limits';

const RECEIVED_AT_MS = Date.UTC(2026, 10, 25, 12, 0, 0);
const SHARDS = 4;
const DYNAMODB_MAX_ITEM_BYTES = 400 * 1024;
const DYNAMODB_MAX_DEPTH = 32;

// mulberry32: a small PRNG with a full 2^32 period.
let seed = 20_261_125;
const rand = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
};
const int = (n: number) => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;

/** Doubles of every magnitude, the DynamoDB and JSON edges, and their neighbours. */
function number(): number {
  const edges = [0, -0, 1, -1, 0.1, 1e-130, -1e-130, 9.99e-131, 1e-131, 5e-324, 2 ** 53 - 1, 2 ** 53, -(2 ** 53), 1e21, 1e126, 9.99e125, 1e308, 1.5, 123.456];
  switch (int(12)) {
    case 0:
    case 1:
      return pick(edges);
    case 2:
      return (rand() < 0.5 ? -1 : 1) * rand() * 10 ** (int(700) - 350); // underflows to 0/Infinity at the ends
    case 3:
      return int(2_000_001) - 1_000_000;
    default:
      return (rand() - 0.5) * 10 ** (int(24) - 8);
  }
}

/** Text with multibyte characters, pairs, and unpaired halves of surrogate pairs. */
function text(): string {
  const units = ['a', 'é', '😀', '\u0000', '"', '\\', '\u2028', ' ', '__proto__', 'constructor', '~'];
  const text = Array.from({ length: int(6) }, () => pick(units)).join('');
  return rand() < 0.05 ? text + pick(['\ud800', '\udfff']) : text;
}

function value(depth: number): unknown {
  const kind = int(depth > 34 ? 4 : 7);
  if (kind === 0) return number();
  if (kind === 1) return text();
  if (kind === 2) return pick([true, false, null]);
  if (kind === 3) return number();
  if (kind === 4) return Array.from({ length: int(4) }, () => value(depth + 1));
  return Object.fromEntries(Array.from({ length: int(4) }, () => [text(), value(depth + 1)]));
}

/** A deep chain, so nesting near the 30-level limit is tried often. */
function nested(levels: number): unknown {
  let v: unknown = number();
  for (let i = 0; i < levels; i++) v = rand() < 0.5 ? [v] : { k: v };
  return v;
}

function iso(ms: number, offsetMinutes: number): string {
  const local = new Date(ms + offsetMinutes * 60_000);
  if (Number.isNaN(local.getTime())) return 'not a date';
  const year = local.getUTCFullYear();
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const sign = offsetMinutes < 0 ? '-' : '+';
  const off = Math.abs(offsetMinutes);
  const y = year < 0 || year > 9999 ? String(year) : pad(year, 4);
  return `${y}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}T${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}.${pad(local.getUTCMilliseconds(), 3)}${sign}${pad(Math.floor(off / 60))}:${pad(off % 60)}`;
}

/** Instants around the edges: 1970, now, the future limit, year 9999, and anything between. */
function instant(): number {
  const edges = [
    Date.UTC(1970, 0, 1),
    RECEIVED_AT_MS,
    RECEIVED_AT_MS + LIMITS.maxFutureSkewMs,
    Date.UTC(9999, 11, 31, 23, 59, 59, 999),
    Date.UTC(2100, 0, 1),
    Date.UTC(1969, 11, 31, 23),
  ];
  const r = rand();
  if (r < 0.4) return pick(edges) + (int(3) - 1) * int(7_200_000);
  if (r < 0.8) return RECEIVED_AT_MS - int(3 * 365 * 86_400_000);
  return Date.UTC(1960 + int(8100), int(12), 1 + int(28), int(24), int(60));
}

/** DynamoDB's rules for a Number: 1e-130 <= |n| < 1e126 (or 0), at most 38 significant digits. */
function dynamoNumberProblem(n: string): string | undefined {
  const m = /^-?(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/i.exec(n);
  if (!m) return `not a decimal: ${n}`;
  const digits = `${m[1]}${m[2] ?? ''}`.replace(/^0+/, '');
  if (digits === '' || /^0*$/.test(digits)) return n.startsWith('-') ? `negative zero ${n}` : undefined;
  const significant = digits.replace(/0+$/, '');
  if (significant.length > 38) return `more than 38 significant digits: ${n}`;
  // Decimal exponent of the first significant digit.
  const intDigits = (m[1] ?? '').replace(/^0+/, '').length;
  const leadingFractionZeros = intDigits > 0 ? 0 : ((m[2] ?? '').match(/^0*/)?.[0].length ?? 0);
  const exponent = (intDigits > 0 ? intDigits - 1 : -(leadingFractionZeros + 1)) + Number(m[3] ?? 0);
  if (exponent < -130) return `magnitude below 1e-130: ${n}`;
  if (exponent > 125) return `magnitude of 1e126 or more: ${n}`;
  return undefined;
}

/**
 * Checks an attribute value against DynamoDB's rules and returns its size by the published
 * formula (strings by UTF-8 bytes, numbers ~1 byte per 2 digits + 1, 3 bytes per map or list
 * plus 1 per element, 1 byte per null or boolean), counted generously.
 */
function dynamoSize(av: AttributeValue, path: string, depth: number): number {
  assert.ok(depth <= DYNAMODB_MAX_DEPTH, `${path}: nested ${depth} levels`);
  if (av.S !== undefined) {
    assert.ok(!/\p{Cs}/u.test(av.S), `${path}: string with an unpaired surrogate`);
    return Buffer.byteLength(av.S);
  }
  if (av.N !== undefined) {
    const problem = dynamoNumberProblem(av.N);
    assert.equal(problem, undefined, `${path}: ${problem}`);
    return Math.ceil(av.N.replace(/[^0-9]/g, '').length / 2) + 2;
  }
  if (av.BOOL !== undefined || av.NULL !== undefined) return 1;
  if (av.L !== undefined) return av.L.reduce((n, child, i) => n + 1 + dynamoSize(child, `${path}[${i}]`, depth + 1), 3);
  if (av.M !== undefined) {
    return Object.entries(av.M).reduce((n, [k, child]) => {
      assert.ok(!/\p{Cs}/u.test(k), `${path}: key with an unpaired surrogate`);
      return n + 1 + Buffer.byteLength(k) + dynamoSize(child, `${path}.${k}`, depth + 1);
    }, 3);
  }
  assert.fail(`${path}: unexpected attribute type ${Object.keys(av).join(',')}`);
}

/** Everything the bridge, storeHot and archiveCold would do with an accepted envelope. */
function assertStorable(envelope: EventEnvelope, what: string): void {
  // Kafka value → bridge: the same envelope comes back, number for number (Object.is: -0 too).
  const onKafka = parseExact(serializeEnvelope(envelope));
  const parsed = parseEnvelope(onKafka);
  assert.ok(parsed.ok, `${what}: bridge rejects ${JSON.stringify(parsed.ok ? [] : parsed.errors)}`);
  assert.ok(sameJson(parsed.value.payload, envelope.payload), `${what}: payload changed through JSON`);
  assert.equal(typeof parseTimestamp(envelope.timestamp), 'number', `${what}: timestamp ${envelope.timestamp}`);

  const key = archiveKey(parsed.value);
  assert.match(key, /^events\/\d{4}\/\d{2}\/\d{2}\/[0-9a-f-]{36}\.json$/, `${what}: S3 key`);
  assert.equal(key.slice(7, 17).replaceAll('/', '-'), envelope.timestamp.slice(0, 10), `${what}: S3 key date`);

  const item = marshallItem(toItem(parsed.value, SHARDS));
  assert.ok(sameJson(unmarshallItem<EventItem>(item).payload, envelope.payload), `${what}: payload changed through DynamoDB's encoding`);
  for (const k of ['event_id', 'event_type', 'user_id', 'time_id', 'time_bucket']) {
    const s = item[k]?.S;
    assert.ok(s !== undefined && s.length > 0, `${what}: key attribute ${k}`);
    assert.ok(Buffer.byteLength(s) <= 1024, `${what}: key attribute ${k} over 1024 bytes`);
  }
  const size = Object.entries(item).reduce((n, [name, av]) => n + Buffer.byteLength(name) + dynamoSize(av, name, 1), 0);
  assert.ok(size <= DYNAMODB_MAX_ITEM_BYTES, `${what}: item of ~${size} bytes`);
}

function sameJson(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' || typeof b === 'number') return Object.is(a, b);
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return a === b;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

void describe('every accepted event is storable', () => {
  void it('5 000 generated events and batch corrections: all accepted ones pass the bridge, the S3 key and DynamoDB rules', () => {
    let accepted = 0;
    let rejected = 0;
    for (let i = 0; i < 5_000; i++) {
      const body: Record<string, unknown> = {
        event_type: pick(['page_view', 'a', 'x'.repeat(128)]),
        user_id: rand() < 0.9 ? pick(['123', 'u'.repeat(256), '😀'.repeat(128)]) : text() || 'u',
        payload: { v: value(1), n: number(), deep: nested(int(34)), s: text() },
      };
      if (rand() < 0.8) body.timestamp = iso(instant(), pick([0, 0, 60, -300, 840, -720]));
      // Half the events come in a batch whose sent_at corrects them, sane or absurd.
      const clockSkewMs = rand() < 0.5 ? RECEIVED_AT_MS - (rand() < 0.5 ? instant() : RECEIVED_AT_MS + int(7_200_000) - 3_600_000) : undefined;
      const json = JSON.parse(JSON.stringify(body)) as unknown; // what a client's JSON gives the parser
      const result = validateEventRequest(json, {
        receivedAtMs: RECEIVED_AT_MS,
        limits: LIMITS,
        newEventId: () => '0192f1c4-8d1e-7c3a-9b2f-5a6d7e8f9a0b',
        clockSkewMs,
      });
      if (!result.ok) {
        rejected++;
        continue;
      }
      accepted++;
      assertStorable(result.value, `#${i} ${JSON.stringify(body).slice(0, 300)} skew=${clockSkewMs}`);
    }
    assert.ok(accepted > 1_000 && rejected > 1_000, `a mix of outcomes: ${accepted} accepted, ${rejected} rejected`);
  });

  void it('the edges one by one: each accepted one is storable, the unstorable ones are rejected', () => {
    const numbers = ['0', '-0', '1e308', '5e-324', '1e-130', '-1e-130', '1e126', '9.99e125', '1e-131', '9007199254740991', '1e400'];
    // Kept as the client's text (parseExact): int64 ids, 38 digits, long decimals, exponents.
    const exact = ['12345678901234567890', '-9223372036854775808', '9'.repeat(38), '0.1000000000000000055511151231257827', '1E+5', '1.00e-130', '9.99999e125'];
    const refusedExact = ['9'.repeat(39), '1.0e126', '1.0e-131', '-0.0'];
    for (const n of [...numbers, ...exact, ...refusedExact]) {
      const body = parseExact(`{"event_type":"a","user_id":"b","payload":{"v":${n},"a":[${n}],"m":{"k":[{"x":${n}}]}}}`) as unknown;
      const result = validateEventRequest(body, { receivedAtMs: RECEIVED_AT_MS, limits: LIMITS, newEventId: () => '0192f1c4-8d1e-7c3a-9b2f-5a6d7e8f9a0b' });
      if (result.ok) assertStorable(result.value, n);
      const storable = ['0', '1e-130', '-1e-130', '9.99e125', '9007199254740991', ...exact].includes(n);
      assert.equal(result.ok, storable, `${n} is ${storable ? '' : 'not '}storable`);
    }
  });

  void it('an event at the largest MAX_EVENT_BYTES fits one DynamoDB item, whatever the payload shape', () => {
    const limits = { ...LIMITS, maxEventBytes: MAX_EVENT_BYTES_CAP };
    // Shapes whose DynamoDB encoding is largest relative to their JSON text.
    const fillers: [string, (n: number) => unknown][] = [
      ['one-digit numbers', (n) => Array<number>(n).fill(7)],
      ['empty lists', (n) => Array.from({ length: n }, () => [])],
      ['empty maps', (n) => Array.from({ length: n }, () => ({}))],
      ['nulls and booleans', (n) => Array.from({ length: n }, (_, i) => (i % 2 ? null : true))],
      ['17-digit numbers', (n) => Array<number>(n).fill(0.12345678901234568)],
      ['one-letter keys', (n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [i.toString(36), 1]))],
      ['4-byte characters', (n) => '😀'.repeat(n)],
    ];
    for (const [name, fill] of fillers) {
      const base = {
        event_type: 'x'.repeat(128),
        user_id: '😀'.repeat(128),
        event_id: '0192f1c4-8d1e-7c3a-9b2f-5a6d7e8f9a0b',
        timestamp: '2026-11-25T11:00:00.000Z',
      };
      // The largest n whose event stays within the limit.
      let lo = 0;
      let hi = MAX_EVENT_BYTES_CAP;
      while (lo < hi) {
        const mid = Math.ceil((lo + hi) / 2);
        if (Buffer.byteLength(JSON.stringify({ ...base, payload: { a: fill(mid) } })) <= MAX_EVENT_BYTES_CAP) lo = mid;
        else hi = mid - 1;
      }
      const result = validateEventRequest({ ...base, payload: { a: fill(lo) } }, { receivedAtMs: RECEIVED_AT_MS, limits, newEventId: () => base.event_id });
      if (!result.ok) assert.fail(`${name}: ${JSON.stringify(result.errors)}`);
      assertStorable(result.value, name);
    }
  });
});
