/**
 * Request validation and envelope rules shared by the producer, the bridge and the workflow:
 * what a client may send, what the envelope looks like, and which fields a rejection names.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SCHEMA_VERSION, serializeEnvelope, type EventEnvelope } from '../../src/events/event';
import { parseEnvelope, parseTimestamp, utf8Length, validateEventRequest, type RequestContext } from '../../src/events/validate';
import { parseExact } from '../../src/events/exactJson';
import { LIMITS } from '../support/limits';

const RECEIVED_AT_MS = Date.UTC(2026, 10, 25, 12, 0, 0); // 2026-11-25T12:00:00.000Z
const RECEIVED_AT_ISO = '2026-11-25T12:00:00.000Z';
const GENERATED_ID = '0192f1c4-8d1e-7c3a-9b2f-5a6d7e8f9a0b';
const SEED_BODY = { event_type: 'page_view', user_id: '123', payload: { page: '/home', referrer: 'google.com' } };

function context(overrides: Partial<RequestContext> = {}): RequestContext & { idsMade: () => number } {
  let made = 0;
  return {
    receivedAtMs: RECEIVED_AT_MS,
    limits: LIMITS,
    newEventId: () => {
      made++;
      return GENERATED_ID;
    },
    idsMade: () => made,
    ...overrides,
  };
}

function accept(body: unknown, overrides: Partial<RequestContext> = {}): EventEnvelope {
  const result = validateEventRequest(body, context(overrides));
  if (!result.ok) assert.fail(`expected the request to be accepted, got ${JSON.stringify(result.errors)}`);
  return result.value;
}

function rejectedFields(body: unknown, overrides: Partial<RequestContext> = {}): string[] {
  const result = validateEventRequest(body, context(overrides));
  if (result.ok) assert.fail(`expected a rejection, got ${JSON.stringify(result.value)}`);
  for (const error of result.errors) assert.ok(error.message.length > 0, `error for ${error.field} has a message`);
  return result.errors.map((e) => e.field).sort();
}

void describe('validateEventRequest: accepted requests', () => {
  void it('turns the seed request into a version-1 envelope with a generated id and the received time', () => {
    const ctx = context();
    const result = validateEventRequest(structuredClone(SEED_BODY), ctx);
    assert.equal(result.ok, true);
    assert.ok(result.ok);
    assert.deepEqual(result.value, {
      schema_version: 1,
      event_id: GENERATED_ID,
      event_type: 'page_view',
      user_id: '123',
      timestamp: RECEIVED_AT_ISO,
      received_at: RECEIVED_AT_ISO,
      payload: { page: '/home', referrer: 'google.com' },
    });
    assert.equal(SCHEMA_VERSION, 1);
    assert.equal(ctx.idsMade(), 1, 'newEventId is called once');
  });

  void it('keeps the client event_id (lowercased) and does not generate one', () => {
    const ctx = context();
    const result = validateEventRequest({ ...SEED_BODY, event_id: 'A1B2C3D4-E5F6-4789-ABCD-EF0123456789' }, ctx);
    assert.ok(result.ok);
    assert.equal(result.value.event_id, 'a1b2c3d4-e5f6-4789-abcd-ef0123456789');
    assert.equal(ctx.idsMade(), 0);
  });

  const timestamps: { name: string; input: string; stored: string }[] = [
    { name: 'offset +02:00 normalised to UTC', input: '2026-11-25T12:00:00+02:00', stored: '2026-11-25T10:00:00.000Z' },
    { name: 'offset -05:30 normalised to UTC', input: '2026-11-25T01:15:00-05:30', stored: '2026-11-25T06:45:00.000Z' },
    { name: 'Z with milliseconds kept', input: '2026-11-25T10:00:00.123Z', stored: '2026-11-25T10:00:00.123Z' },
    { name: 'without seconds', input: '2026-11-25T10:00Z', stored: '2026-11-25T10:00:00.000Z' },
    { name: 'exactly 24 h in the future is still allowed', input: '2026-11-26T12:00:00Z', stored: '2026-11-26T12:00:00.000Z' },
    { name: 'the epoch itself', input: '1970-01-01T00:00:00Z', stored: '1970-01-01T00:00:00.000Z' },
  ];
  for (const t of timestamps) {
    void it(`client timestamp: ${t.name}`, () => {
      const envelope = accept({ ...SEED_BODY, timestamp: t.input });
      assert.equal(envelope.timestamp, t.stored);
      assert.equal(envelope.received_at, RECEIVED_AT_ISO);
    });
  }

  void it('defaults a missing payload to {}', () => {
    assert.deepEqual(accept({ event_type: 'signup', user_id: 'u-1' }).payload, {});
  });

  void it('accepts the longest allowed event_type and user_id and every allowed event_type character', () => {
    const envelope = accept({ event_type: 'a'.repeat(128), user_id: 'u'.repeat(256) });
    assert.equal(envelope.event_type.length, 128);
    assert.equal(envelope.user_id.length, 256);
    assert.equal(accept({ event_type: 'Shop.cart:add_item-V2', user_id: 'x' }).event_type, 'Shop.cart:add_item-V2');
  });

  void it('clockSkewMs shifts the client timestamp', () => {
    const envelope = accept({ ...SEED_BODY, timestamp: '2026-11-25T13:00:00Z' }, { clockSkewMs: -3_600_000 });
    assert.equal(envelope.timestamp, '2026-11-25T12:00:00.000Z');
    const later = accept({ ...SEED_BODY, timestamp: '2026-11-25T10:00:00Z' }, { clockSkewMs: 90_000 });
    assert.equal(later.timestamp, '2026-11-25T10:01:30.000Z');
  });
});

void describe('validateEventRequest: rejected requests name each bad field', () => {
  const cases: { name: string; body: unknown; fields: string[]; ctx?: Partial<RequestContext> }[] = [
    { name: 'missing event_type', body: { user_id: '123', payload: {} }, fields: ['event_type'] },
    { name: 'missing user_id', body: { event_type: 'page_view', payload: {} }, fields: ['user_id'] },
    { name: 'user_id is a number', body: { event_type: 'page_view', user_id: 123 }, fields: ['user_id'] },
    { name: 'event_type is a number', body: { event_type: 7, user_id: '123' }, fields: ['event_type'] },
    { name: 'payload is an array', body: { ...SEED_BODY, payload: [1, 2] }, fields: ['payload'] },
    { name: 'payload is null', body: { ...SEED_BODY, payload: null }, fields: ['payload'] },
    { name: 'payload is a string', body: { ...SEED_BODY, payload: '{"page":"/home"}' }, fields: ['payload'] },
    { name: 'event_type with a space', body: { ...SEED_BODY, event_type: 'page view' }, fields: ['event_type'] },
    { name: 'event_type of 129 chars', body: { ...SEED_BODY, event_type: 'a'.repeat(129) }, fields: ['event_type'] },
    { name: 'event_type empty', body: { ...SEED_BODY, event_type: '' }, fields: ['event_type'] },
    { name: 'user_id of 257 chars', body: { ...SEED_BODY, user_id: 'u'.repeat(257) }, fields: ['user_id'] },
    { name: 'user_id empty', body: { ...SEED_BODY, user_id: '' }, fields: ['user_id'] },
    { name: 'unknown top-level field', body: { ...SEED_BODY, userId: '123' }, fields: ['userId'] },
    { name: 'event_id not a UUID', body: { ...SEED_BODY, event_id: 'not-a-uuid' }, fields: ['event_id'] },
    { name: 'event_id a number', body: { ...SEED_BODY, event_id: 42 }, fields: ['event_id'] },
    { name: 'timestamp without a zone', body: { ...SEED_BODY, timestamp: '2026-11-25T10:00:00' }, fields: ['timestamp'] },
    { name: 'timestamp "not a date"', body: { ...SEED_BODY, timestamp: 'not a date' }, fields: ['timestamp'] },
    { name: 'timestamp a number', body: { ...SEED_BODY, timestamp: RECEIVED_AT_MS }, fields: ['timestamp'] },
    { name: 'timestamp with month 13', body: { ...SEED_BODY, timestamp: '2026-13-01T10:00:00Z' }, fields: ['timestamp'] },
    {
      name: 'payload number of 39 significant digits (DynamoDB keeps 38)',
      body: { ...SEED_BODY, payload: parseExact('{"order":{"id":123456789012345678901234567890123456789}}') as Record<string, unknown> },
      fields: ['payload.order.id'],
    },
    {
      name: 'payload nested deeper than DynamoDB allows',
      body: { ...SEED_BODY, payload: JSON.parse('{"a":'.repeat(31) + '1' + '}'.repeat(31)) as Record<string, unknown> },
      fields: ['payload' + '.a'.repeat(30)],
    },
    { name: 'timestamp on a day that does not exist (Feb 30)', body: { ...SEED_BODY, timestamp: '2026-02-30T10:00:00Z' }, fields: ['timestamp'] },
    { name: 'timestamp on April 31', body: { ...SEED_BODY, timestamp: '2026-04-31T00:00:00+02:00' }, fields: ['timestamp'] },
    { name: 'timestamp 24 h + 1 ms in the future', body: { ...SEED_BODY, timestamp: '2026-11-26T12:00:00.001Z' }, fields: ['timestamp'] },
    { name: 'timestamp days in the future', body: { ...SEED_BODY, timestamp: '2026-12-01T00:00:00Z' }, fields: ['timestamp'] },
    { name: 'timestamp before 1970', body: { ...SEED_BODY, timestamp: '1969-12-31T23:59:59Z' }, fields: ['timestamp'] },
    { name: 'event larger than maxEventBytes (size given)', body: SEED_BODY, ctx: { sizeBytes: 32_769 }, fields: ['body'] },
    { name: 'event larger than maxEventBytes (size measured)', body: { ...SEED_BODY, payload: { blob: 'x'.repeat(33_000) } }, fields: ['body'] },
    { name: 'body is an array', body: [SEED_BODY], fields: ['body'] },
    { name: 'body is null', body: null, fields: ['body'] },
    { name: 'body is a string', body: JSON.stringify(SEED_BODY), fields: ['body'] },
    {
      name: 'several bad fields at once',
      body: { event_type: 'page view', user_id: 5, payload: [], event_id: 'x', timestamp: 'yesterday', extra: true },
      fields: ['event_id', 'event_type', 'extra', 'payload', 'timestamp', 'user_id'],
    },
    {
      name: 'fieldPrefix appears in every field name',
      body: { event_type: 'page_view', user_id: '', payload: 'nope', bogus: 1 },
      ctx: { fieldPrefix: 'events[3].' },
      fields: ['events[3].bogus', 'events[3].payload', 'events[3].user_id'],
    },
    { name: 'fieldPrefix on a non-object item names the item', body: 17, ctx: { fieldPrefix: 'events[3].' }, fields: ['events[3]'] },
    {
      // The timestamp alone is fine; the correction is what breaks it, so sent_at is named.
      name: 'clockSkewMs pushing the timestamp past the future limit names sent_at',
      body: { ...SEED_BODY, timestamp: '2026-11-26T11:00:00Z' },
      ctx: { clockSkewMs: 7_200_000 },
      fields: ['sent_at'],
    },
    {
      name: 'a timestamp too far ahead on its own stays a timestamp error under a correction',
      body: { ...SEED_BODY, timestamp: '2026-12-01T00:00:00Z' },
      ctx: { clockSkewMs: 1_000 },
      fields: ['timestamp'],
    },
    { name: 'timestamp whose zone offset carries it past year 9999', body: { ...SEED_BODY, timestamp: '9999-12-31T23:00:00-05:00' }, fields: ['timestamp'] },
    { name: 'timestamp whose zone offset carries it before 1970', body: { ...SEED_BODY, timestamp: '1970-01-01T00:30:00+01:00' }, fields: ['timestamp'] },
    { name: 'user_id with an unpaired surrogate', body: { ...SEED_BODY, user_id: 'u\ud800' }, fields: ['user_id'] },
    { name: 'payload string with an unpaired surrogate', body: { ...SEED_BODY, payload: { s: ['ok', 'x\udc00'] } }, fields: ['payload.s[1]'] },
    { name: 'payload key with an unpaired surrogate', body: { ...SEED_BODY, payload: { 'k\ud83d': 1 } }, fields: ['payload.k\ud83d'] },
    {
      // 32 000 bytes as sent, ~128 000 as JSON.stringify writes it into the envelope.
      name: 'an event whose numbers grow past maxEventBytes when re-serialised',
      body: JSON.parse(`{"event_type":"a","user_id":"b","payload":{"n":[${Array<string>(6_000).fill('9e15').join(',')}]}}`) as unknown,
      ctx: { sizeBytes: 30_015 },
      fields: ['body'],
    },
  ];

  for (const c of cases) {
    void it(c.name, () => {
      assert.deepEqual(rejectedFields(c.body, c.ctx), [...c.fields].sort());
    });
  }

  void it('does not generate an event_id for a rejected request', () => {
    const ctx = context();
    assert.equal(validateEventRequest({ user_id: '123' }, ctx).ok, false);
    assert.equal(ctx.idsMade(), 0);
  });

  void it('the oversize message states the size and the limit', () => {
    const result = validateEventRequest(SEED_BODY, context({ sizeBytes: 40_000 }));
    assert.ok(!result.ok);
    assert.match(result.errors[0]?.message ?? '', /40000.*32768/);
  });
});

void describe('parseTimestamp', () => {
  void it('returns epoch ms for a valid timestamp and a message otherwise', () => {
    assert.equal(parseTimestamp('2026-11-25T12:00:00+02:00'), Date.UTC(2026, 10, 25, 10));
    assert.equal(typeof parseTimestamp('2026-11-25 10:00:00'), 'string');
    assert.equal(typeof parseTimestamp(undefined), 'string');
    assert.equal(typeof parseTimestamp('1969-12-31T23:59:59.999Z'), 'string');
  });
});

void describe('parseEnvelope', () => {
  const envelope = (): EventEnvelope => accept({ ...SEED_BODY, timestamp: '2026-11-25T11:59:00Z' });

  void it('accepts what validateEventRequest produced, also after a trip through its serialised form', () => {
    const produced = envelope();
    const direct = parseEnvelope(produced);
    assert.ok(direct.ok);
    assert.deepEqual(direct.value, produced);
    const roundTrip = parseEnvelope(JSON.parse(serializeEnvelope(produced)));
    assert.ok(roundTrip.ok);
    assert.deepEqual(roundTrip.value, produced);
  });

  const broken: { name: string; change: (e: Record<string, unknown>) => void; field: string }[] = [
    { name: 'schema_version 2', change: (e) => (e.schema_version = 2), field: 'schema_version' },
    { name: 'schema_version "1"', change: (e) => (e.schema_version = '1'), field: 'schema_version' },
    { name: 'no schema_version', change: (e) => delete e.schema_version, field: 'schema_version' },
    { name: 'non-UUID event_id', change: (e) => (e.event_id = 'evt-1'), field: 'event_id' },
    { name: 'missing payload', change: (e) => delete e.payload, field: 'payload' },
    { name: 'payload an array', change: (e) => (e.payload = []), field: 'payload' },
    { name: 'received_at missing', change: (e) => delete e.received_at, field: 'received_at' },
    { name: 'timestamp not ISO', change: (e) => (e.timestamp = 'Tue Nov 25 2026'), field: 'timestamp' },
  ];
  for (const b of broken) {
    void it(`rejects ${b.name}, naming ${b.field}`, () => {
      const value = { ...envelope() } as Record<string, unknown>;
      b.change(value);
      const result = parseEnvelope(value);
      assert.ok(!result.ok);
      assert.deepEqual(
        result.errors.map((e) => e.field),
        [b.field],
      );
    });
  }

  // A record written straight to the raw topic: each form names the same event as the
  // producer's canonical copy, and comes out as that copy.
  const sameEvent: { name: string; change: Partial<Record<'event_id' | 'timestamp' | 'received_at', (v: string) => string>> }[] = [
    { name: 'an upper-case event_id', change: { event_id: (v) => v.toUpperCase() } },
    { name: 'a mixed-case event_id', change: { event_id: (v) => v.replace(/[a-f]/, (c) => c.toUpperCase()) } },
    { name: 'an offset timestamp (-02:00)', change: { timestamp: () => '2026-11-25T09:59:00.000-02:00' } },
    { name: 'an offset timestamp without a colon (+0100)', change: { timestamp: () => '2026-11-25T12:59:00+0100' } },
    { name: '+00:00 instead of Z', change: { timestamp: () => '2026-11-25T11:59:00+00:00' } },
    { name: 'a timestamp without milliseconds', change: { timestamp: () => '2026-11-25T11:59:00Z' } },
    { name: 'a timestamp without seconds', change: { timestamp: () => '2026-11-25T11:59Z' } },
    { name: 'nine fraction digits (cut to milliseconds)', change: { timestamp: () => '2026-11-25T11:59:00.000999999Z' } },
    { name: 'lower-case t and z', change: { timestamp: () => '2026-11-25t11:59:00z' } },
    { name: '24:00 of the day before', change: { timestamp: () => '2026-11-24T24:00:00Z' } },
    { name: 'an offset received_at', change: { received_at: () => '2026-11-25T13:00:00.000+01:00' } },
  ];
  for (const c of sameEvent) {
    void it(`normalises ${c.name} to the producer's form`, () => {
      const produced = { ...envelope(), received_at: '2026-11-25T12:00:00.000Z' };
      if (c.name.startsWith('24:00')) Object.assign(produced, { timestamp: '2026-11-25T00:00:00.000Z' });
      const sent = { ...produced } as Record<string, unknown>;
      for (const [field, f] of Object.entries(c.change)) sent[field] = f(produced[field as keyof typeof c.change]);
      const result = parseEnvelope(sent);
      assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
      assert.deepEqual(result.value, produced);
      assert.equal(serializeEnvelope(result.value), serializeEnvelope(produced), 'the same bytes on Kafka and in S3');
    });
  }

  // Forms that cannot be normalised to one instant or one id: refused with the field named, as the
  // producer refuses them.
  const refused: { name: string; field: 'event_id' | 'timestamp' | 'received_at' | 'payload'; value: unknown }[] = [
    { name: 'a braced event_id', field: 'event_id', value: '{0192f1c4-8d1e-7c3a-9b2f-5a6d7e8f9a0b}' },
    { name: 'a urn:uuid event_id', field: 'event_id', value: 'urn:uuid:0192f1c4-8d1e-7c3a-9b2f-5a6d7e8f9a0b' },
    { name: 'an event_id without hyphens', field: 'event_id', value: '0192f1c48d1e7c3a9b2f5a6d7e8f9a0b' },
    { name: 'an event_id with spaces around it', field: 'event_id', value: ' 0192f1c4-8d1e-7c3a-9b2f-5a6d7e8f9a0b ' },
    { name: 'a leap second', field: 'timestamp', value: '2016-12-31T23:59:60Z' },
    { name: 'February 30', field: 'timestamp', value: '2026-02-30T10:00:00Z' },
    { name: 'hour 25', field: 'timestamp', value: '2026-11-25T25:00:00Z' },
    { name: 'an offset of +25:00', field: 'timestamp', value: '2026-11-25T10:00:00+25:00' },
    { name: 'a timestamp without a zone', field: 'timestamp', value: '2026-11-25T10:00:00' },
    { name: 'a timestamp with spaces around it', field: 'timestamp', value: ' 2026-11-25T10:00:00Z' },
    { name: 'a received_at after 9999', field: 'received_at', value: '+010000-01-01T00:00:00.000Z' },
    { name: 'a payload string with a lone surrogate', field: 'payload', value: { s: '\ud800' } },
    { name: 'a payload -0', field: 'payload', value: { n: -0 } },
  ];
  for (const r of refused) {
    void it(`refuses ${r.name}, naming ${r.field}`, () => {
      const result = parseEnvelope({ ...envelope(), [r.field]: r.value });
      assert.ok(!result.ok);
      assert.equal(result.errors[0]!.field.split('.')[0], r.field);
    });
  }

  void it('rejects a value that is not an object', () => {
    for (const value of [null, 'x', [envelope()]]) {
      const result = parseEnvelope(value);
      assert.ok(!result.ok);
      assert.deepEqual(
        result.errors.map((e) => e.field),
        ['value'],
      );
    }
  });
});

void describe('serializeEnvelope', () => {
  void it('gives identical bytes for the same envelope whatever the property order of the object', () => {
    const payload = { page: '/home', referrer: 'google.com' };
    const a: EventEnvelope = {
      schema_version: 1,
      event_id: GENERATED_ID,
      event_type: 'page_view',
      user_id: '123',
      timestamp: '2026-11-25T10:00:00.000Z',
      received_at: RECEIVED_AT_ISO,
      payload,
    };
    const b: EventEnvelope = {
      payload,
      received_at: RECEIVED_AT_ISO,
      user_id: '123',
      timestamp: '2026-11-25T10:00:00.000Z',
      event_type: 'page_view',
      event_id: GENERATED_ID,
      schema_version: 1,
    };
    assert.equal(serializeEnvelope(b), serializeEnvelope(a));
    assert.deepEqual(JSON.parse(serializeEnvelope(a)), a);
    assert.ok(serializeEnvelope(a).startsWith('{"schema_version":1,"event_id":'));
  });

  void it('drops properties that are not part of the envelope', () => {
    const withExtra = { ...accept(SEED_BODY), internal: 'secret' } as EventEnvelope;
    assert.equal(serializeEnvelope(withExtra), serializeEnvelope(accept(SEED_BODY)));
    assert.ok(!serializeEnvelope(withExtra).includes('secret'));
  });
});

void describe('utf8Length', () => {
  const samples: [string, string][] = [
    ['empty', ''],
    ['ASCII', 'page_view {"a":1}'],
    ['2-byte characters', 'héllo ñ ü ß'],
    ['3-byte characters', '€ 日本語 ✓'],
    ['emoji (surrogate pairs)', '😀👍🏽🇫🇷'],
    ['a mix', 'a é € 😀 z'],
  ];
  for (const [name, text] of samples) {
    void it(`equals Buffer.byteLength for ${name}`, () => {
      assert.equal(utf8Length(text), Buffer.byteLength(text, 'utf8'));
    });
  }

  void it('counts the bytes of serialised JSON with non-ASCII payloads', () => {
    const json = JSON.stringify({ ...SEED_BODY, payload: { title: 'Crème brûlée 🍮', price: '€4' } });
    assert.equal(utf8Length(json), Buffer.byteLength(json, 'utf8'));
    assert.ok(utf8Length(json) > json.length);
  });
});

void describe('validateEventRequest: the sent_at correction never produces an unstorable timestamp', () => {
  const skewOf = (sentAt: string) => RECEIVED_AT_MS - Date.parse(sentAt);
  const cases: { name: string; sentAt: string; timestamp: string }[] = [
    { name: 'sent_at in 2100 (corrected to 1952)', sentAt: '2100-01-01T00:00:00Z', timestamp: '2026-11-25T11:00:00Z' },
    { name: 'sent_at in 9999 (corrected to a negative year)', sentAt: '9999-12-31T23:59:59Z', timestamp: '2026-11-25T11:00:00Z' },
    { name: 'sent_at in 1970 (corrected past the future limit)', sentAt: '1970-01-01T00:00:00Z', timestamp: '2026-11-25T11:00:00Z' },
    { name: 'sent_at 1 ms before the event, corrected 1 ms past the limit', sentAt: '2026-11-25T10:59:59.999Z', timestamp: '2026-11-26T11:00:00Z' },
  ];
  for (const c of cases) {
    void it(`${c.name}: rejected naming sent_at, with the corrected time in the message`, () => {
      const result = validateEventRequest({ ...SEED_BODY, timestamp: c.timestamp }, context({ clockSkewMs: skewOf(c.sentAt), fieldPrefix: 'events[2].' }));
      if (result.ok) assert.fail(`accepted with timestamp ${result.value.timestamp}`);
      assert.deepEqual(
        result.errors.map((e) => e.field),
        ['sent_at'],
      );
      assert.match(result.errors[0]?.message ?? '', /events\[2\]\.timestamp/);
    });
  }

  void it('an event without a timestamp is unaffected by an absurd sent_at (it takes received_at)', () => {
    assert.equal(accept({ ...SEED_BODY }, { clockSkewMs: skewOf('9999-12-31T23:59:59Z') }).timestamp, RECEIVED_AT_ISO);
  });

  void it('a sane correction right at the limits is accepted', () => {
    const clockAhead = skewOf('2026-11-25T13:00:00Z'); // client clock 1 h ahead
    assert.equal(accept({ ...SEED_BODY, timestamp: '2026-11-26T13:00:00Z' }, { clockSkewMs: clockAhead }).timestamp, '2026-11-26T12:00:00.000Z');
    const old = Date.UTC(1970, 0, 1) - RECEIVED_AT_MS; // shifts RECEIVED_AT back to the epoch exactly
    assert.equal(accept({ ...SEED_BODY, timestamp: RECEIVED_AT_ISO }, { clockSkewMs: old }).timestamp, '1970-01-01T00:00:00.000Z');
  });
});

void describe('validateEventRequest: payload numbers DynamoDB cannot store are rejected naming the field', () => {
  const rejected: { literal: string; message: RegExp }[] = [
    { literal: '-0', message: /negative zero cannot be stored distinctly from 0; send 0/ },
    { literal: '-0.0', message: /negative zero/ },
    { literal: '1e308', message: /too large to store/ },
    { literal: '-1e308', message: /too large to store/ },
    { literal: '1e400', message: /too large to store/ },
    { literal: '-1e400', message: /too large to store/ },
    { literal: '1e126', message: /too large to store/ },
    { literal: '5e-324', message: /too close to zero/ },
    { literal: '1e-200', message: /too close to zero/ },
    { literal: '-9.99e-131', message: /too close to zero/ },
  ];
  for (const r of rejected) {
    void it(`rejects ${r.literal}`, () => {
      const body = JSON.parse(`{"event_type":"a","user_id":"b","payload":{"v":${r.literal}}}`) as unknown;
      const result = validateEventRequest(body, context());
      if (result.ok) assert.fail(`accepted ${r.literal} as ${JSON.stringify(result.value.payload)}`);
      assert.deepEqual(
        result.errors.map((e) => e.field),
        ['payload.v'],
      );
      assert.match(result.errors[0]?.message ?? '', r.message);
    });
  }

  const accepted = [
    '0',
    '0.0',
    '1e-130',
    '-1e-130',
    '9.99e125',
    '-9.99e125',
    '1e21',
    '1.5e-100',
    '9007199254740991',
    '-9007199254740991',
    '0.1',
    '123.456',
    '1.7976931348623157e-5',
  ];
  for (const literal of accepted) {
    void it(`accepts ${literal}, and it reads back equal from the envelope`, () => {
      const body = JSON.parse(`{"event_type":"a","user_id":"b","payload":{"v":${literal}}}`) as { payload: { v: number } };
      const envelope = accept(body);
      const back = JSON.parse(serializeEnvelope(envelope)) as EventEnvelope;
      assert.ok(Object.is(back.payload.v, body.payload.v), `${literal} → ${String(back.payload.v)}`);
    });
  }

  void it('names the path deep in arrays and objects, with the batch prefix', () => {
    const body = JSON.parse('{"event_type":"a","user_id":"b","payload":{"a":[1,2,1e-200],"b":{"c":-0}}}') as unknown;
    assert.deepEqual(rejectedFields(body, { fieldPrefix: 'events[3].' }), ['events[3].payload.a[2]', 'events[3].payload.b.c']);
  });
});
