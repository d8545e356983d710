/**
 * Payload numbers kept as the client wrote them: parseExact, the DynamoDB Number rules on the
 * text, the producer's validation, the item codec and the GraphQL answer.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { fromAttribute, marshallItem, toAttribute, unmarshallItem } from '../../src/store/hot/itemCodec';
import { toItem } from '../../src/store/hot/layout';
import { serializeEnvelope, type JsonObject } from '../../src/events/event';
import { isRawNumber, numberShape, numberTextProblem, parseExact } from '../../src/events/exactJson';
import { parseEnvelope, validateEventRequest } from '../../src/events/validate';
import { buildGraphqlApp } from '../../src/graphql/app';
import { createEventReader } from '../../src/store/hot/reader';
import { createLazyTemporalClient } from '../../src/platform/temporal/connection';
import { makeEnvelope } from '../support/events';
import { LIMITS } from '../support/limits';

const ctx = {
  receivedAtMs: Date.UTC(2026, 10, 25, 12),
  limits: LIMITS,
  newEventId: () => '0192f1c4-8d1e-7c3a-9b2f-5a6d7e8f9a0b',
};

/** Numbers a double would change, as a client sends them. */
const EXACT = [
  '12345678901234567890',
  '-9223372036854775808',
  '9223372036854775807',
  '18446744073709551615',
  '9007199254740993',
  '0.1000000000000000055511151231257827',
  '3.141592653589793238462643383279502884',
  '1E+5',
  '1e5',
  '2.50',
  '1.0',
  '12345678901234567890123456789012345678',
  '9.99e125',
  '9.9999999999999999999999999999999999999e125',
  '1.00e-130',
];

describe('parseExact', () => {
  it('keeps the text of every number a double would change, and JSON.stringify writes it back', () => {
    for (const text of EXACT) {
      const body = `{"payload":{"n":${text},"a":[${text},1]}}`;
      const parsed = parseExact(body) as { payload: { n: unknown; a: unknown[] } };
      assert.ok(isRawNumber(parsed.payload.n), text);
      assert.equal(JSON.stringify(parsed), body, text);
    }
  });

  it('leaves numbers a double keeps, and every other value, as JSON.parse makes them', () => {
    const text = '{"i":42,"f":0.1,"neg":-7.25,"big":9007199254740992,"e":1e+21,"t":true,"n":null,"s":"12345678901234567890","o":{"x":[1,2]}}';
    assert.deepEqual(parseExact(text), JSON.parse(text));
    assert.equal(JSON.stringify(parseExact(text)), text);
  });

  it('refuses what JSON.parse refuses', () => {
    for (const bad of ['{"a":01}', '{"a":.5}', '{"a":1.}', '{"a":NaN}', '', '{']) assert.throws(() => parseExact(bad), SyntaxError, bad);
  });
});

describe('DynamoDB number rules on the text', () => {
  it('reads significant digits and the exponent from the text', () => {
    assert.deepEqual(numberShape('0.00120'), { negative: false, digits: '12', exponent: -3 });
    assert.deepEqual(numberShape('-1200'), { negative: true, digits: '12', exponent: 3 });
    assert.deepEqual(numberShape('1E+5'), { negative: false, digits: '1', exponent: 5 });
    assert.deepEqual(numberShape('0.0e10'), { negative: false, digits: '', exponent: 0 });
    assert.deepEqual(numberShape('12.5e-3'), { negative: false, digits: '125', exponent: -2 });
  });

  it('accepts what DynamoDB keeps: 38 digits, 1e-130 up to 9.99…e125, zeros', () => {
    for (const text of [
      ...EXACT,
      '1e-130',
      '-1e-130',
      '1.5e-7',
      '0',
      '0.0',
      '0e500',
      '1' + '0'.repeat(125),
      '1e125',
      '100e123',
      '0.001e-127',
      '12345678901234567890123456789012345678000',
    ]) {
      assert.equal(numberTextProblem(text), undefined, text);
    }
  });

  it('refuses what DynamoDB cannot keep, each for its reason', () => {
    const cases: [string, RegExp][] = [
      ['123456789012345678901234567890123456789', /39 significant digits/],
      ['0.123456789012345678901234567890123456789', /39 significant digits/],
      ['1e126', /too large/],
      ['10e125', /too large/],
      ['1' + '0'.repeat(126), /too large/],
      ['1.5e300', /too large/],
      ['1e400', /too large/],
      ['1e99999999999999999999999', /too large/],
      ['1e-131', /too close to zero/],
      ['0.1e-130', /too close to zero/],
      ['-5e-324', /too close to zero/],
      ['1e-99999999999999999999999', /too close to zero/],
      ['-0', /negative zero/],
      ['-0.0e7', /negative zero/],
    ];
    for (const [text, message] of cases) assert.match(numberTextProblem(text) ?? 'accepted', message, text);
  });
});

describe('the producer validates payload numbers on their text', () => {
  const validate = (text: string) => validateEventRequest(parseExact(`{"event_type":"t","user_id":"u","payload":{"a":{"b":[0,${text}]}}}`), ctx);

  it('accepts int64 ids, long decimals and exponents, and the envelope keeps their text', () => {
    for (const text of EXACT) {
      const r = validate(text);
      assert.ok(r.ok, `${text}: ${JSON.stringify(!r.ok && r.errors)}`);
      const wire = serializeEnvelope(r.value);
      assert.ok(wire.includes(`"payload":{"a":{"b":[0,${text}]}}`), wire);
      // The bridge's decode: the same envelope, the same bytes.
      const decoded = parseEnvelope(parseExact(wire));
      assert.ok(decoded.ok);
      assert.equal(serializeEnvelope(decoded.value), wire);
    }
  });

  it('refuses numbers DynamoDB cannot hold with a 422 error naming the path', () => {
    for (const text of ['123456789012345678901234567890123456789', '1e126', '1.5e300', '1e-131', '-0', '1e400']) {
      const r = validate(text);
      assert.ok(!r.ok, text);
      assert.deepEqual(
        r.errors.map((e) => e.field),
        ['payload.a.b[1]'],
        text,
      );
    }
  });

  it('does not take a number for an object or a string', () => {
    const r = validateEventRequest(parseExact('{"event_type":"t","user_id":12345678901234567890,"payload":1.0}'), ctx);
    assert.ok(!r.ok);
    assert.deepEqual(r.errors, [
      { field: 'user_id', message: 'expected a string, got a number' },
      { field: 'payload', message: 'expected a JSON object, got a number' },
    ]);
  });
});

describe('item codec', () => {
  it('writes a kept number as an N of its text and reads it back with the same digits', () => {
    for (const text of EXACT) {
      const payload = parseExact(`{"n":${text},"l":[${text}]}`);
      const item = marshallItem({ payload });
      assert.deepEqual(item.payload, { M: { n: { N: text }, l: { L: [{ N: text }] } } });
      assert.equal(JSON.stringify(unmarshallItem(item)), `{"payload":{"n":${text},"l":[${text}]}}`);
    }
  });

  it('reads an N as DynamoDB normalises it: a plain number when a double keeps it, else its digits', () => {
    assert.equal(fromAttribute({ N: '100000' }), 100000);
    assert.equal(fromAttribute({ N: '0.1' }), 0.1);
    assert.equal(fromAttribute({ N: '1e+21' }), 1e21);
    assert.equal(JSON.stringify(fromAttribute({ N: '12345678901234567890' })), '12345678901234567890');
    assert.equal(JSON.stringify(fromAttribute({ N: '-9223372036854775808' })), '-9223372036854775808');
    assert.deepEqual(toAttribute(1.5), { N: '1.5' });
  });
});

describe('GraphQL answers the stored digits', () => {
  it('payload numbers read from DynamoDB reach the response text as stored', async () => {
    const payloadText = '{"order_id":12345678901234567890,"min":-9223372036854775808,"p":0.1000000000000000055511151231257827,"l":[100000,0.5]}';
    const event = makeEnvelope({ payload: parseExact(payloadText) as JsonObject });
    const item = marshallItem(toItem(event, 4));
    const dynamo = { send: async () => ({ Item: item }) } as unknown as Pick<DynamoDBClient, 'send'>;
    const app = buildGraphqlApp({ reader: createEventReader({ dynamo, table: 't', shards: 4 }), limits: { defaultLimit: 10, maxLimit: 100 } });
    try {
      const res = await app.inject({ method: 'POST', url: '/graphql', payload: { query: `{ event(eventId: "${event.event_id}") { payload } }` } });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.body, `{"data":{"event":{"payload":${payloadText}}}}`);
    } finally {
      await app.close();
    }
  });
});

describe('Temporal clients decode payloads exactly', () => {
  it("the platform's clients (redrive reads run inputs through them) keep every digit of a history payload", () => {
    const { client } = createLazyTemporalClient({ address: '127.0.0.1:1', namespace: 'default' });
    const text = '{"event":{"payload":{"order_id":12345678901234567890,"p":0.1000000000000000055511151231257827}}}';
    const payload = { metadata: { encoding: new TextEncoder().encode('json/plain') }, data: new TextEncoder().encode(text) };
    assert.equal(JSON.stringify(client.options.loadedDataConverter.payloadConverter.fromPayload(payload)), text);
  });
});
