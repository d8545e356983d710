/**
 * Payload numbers kept digit for digit through the real pipeline: the producer, Kafka, a
 * processor (bridge + worker: Temporal workflow input and activity arguments), DynamoDB
 * (dynalite), S3 (versitygw) and the GraphQL server. Compared on the raw texts: the S3 object,
 * the DynamoDB item's N strings (SDK, no unmarshalling) and the GraphQL response body.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { GetItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { archiveKey } from '../../src/store/archive/layout';
import { numberShape, parseExact } from '../../src/events/exactJson';
import { getObject } from '../support/clients';
import { platformPerSuite, startPlatform } from '../support/platform';
import { waitFor } from '../support/wait';
import { HANG_TIMEOUT_MS } from '../support/timeouts';

/** Field → number text as a client's JSON carries it. */
const SENT: Record<string, string> = {
  order_id: '12345678901234567890',
  int64_min: '-9223372036854775808',
  uint64_max: '18446744073709551615',
  digits_38: '12345678901234567890123456789012345678',
  long_decimal: '0.1000000000000000055511151231257827',
  pi: '3.141592653589793238462643383279502884',
  upper_exponent: '1E+5',
  small_exponent: '1.5e-7',
  trailing_zero: '2.50',
  largest: '9.99e125',
  smallest: '1e-130',
  beyond_2_53: '9007199254740993',
  plain: '42',
};
const PAYLOAD_TEXT = `{${Object.entries(SENT)
  .map(([k, v]) => `"${k}":${v}`)
  .join(',')},"list":[1.0,${SENT.order_id}],"nested":{"id":${SENT.int64_min}}}`;

/** The same number: sign, significant digits and exponent (DynamoDB may write 1E+5 as 100000). */
const sameNumber = (stored: string, sent: string, what: string) =>
  assert.deepEqual(numberShape(stored), numberShape(sent), `${what}: stored ${stored}, sent ${sent}`);

describe('payload numbers kept exactly through the pipeline', { timeout: HANG_TIMEOUT_MS }, () => {
  const platform = platformPerSuite(() => startPlatform({ processors: 1 }));

  const post = async (body: string) => {
    const res = await fetch(`${platform().producerUrl}/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('int64 ids, 38-digit integers, long decimals and exponents: the S3 object, the DynamoDB item and GraphQL keep the digits sent', async () => {
    const p = platform();
    const id = randomUUID();
    const timestamp = '2026-11-25T10:00:00.000Z';
    const res = await post(`{"event_id":"${id}","event_type":"order_placed","user_id":"u-${id}","timestamp":"${timestamp}","payload":${PAYLOAD_TEXT}}`);
    assert.equal(res.status, 202, JSON.stringify(res.body));

    // S3: the envelope as it was on Kafka, with the client's number text unchanged.
    const object = await waitFor('the S3 object', () => getObject(p, archiveKey({ event_id: id, timestamp })));
    assert.ok(object.body.endsWith(`"payload":${PAYLOAD_TEXT}}`), object.body);

    // DynamoDB: each a Number (N) with the digits sent.
    const out = await waitFor(
      'the DynamoDB item',
      async () => (await p.dynamo.send(new GetItemCommand({ TableName: p.config.aws.table, Key: { event_id: { S: id } }, ConsistentRead: true }))).Item,
    );
    const payload = out.payload?.M as Record<string, AttributeValue>;
    for (const [field, text] of Object.entries(SENT)) {
      const stored = payload[field]?.N;
      assert.equal(typeof stored, 'string', `${field} stored as a Number: ${JSON.stringify(payload[field])}`);
      sameNumber(stored!, text, field);
    }
    sameNumber(payload.list!.L![0]!.N!, '1.0', 'list[0]');
    sameNumber(payload.list!.L![1]!.N!, SENT.order_id!, 'list[1]');
    sameNumber(payload.nested!.M!.id!.N!, SENT.int64_min!, 'nested.id');

    // GraphQL: the response text carries the digits (as DynamoDB stored them).
    const gql = await fetch(`${p.graphqlUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ event(eventId: "${id}") { payload } }` }),
    });
    const text = await gql.text();
    for (const digits of [SENT.order_id, SENT.int64_min, SENT.uint64_max, SENT.digits_38, SENT.long_decimal, SENT.pi, SENT.beyond_2_53]) {
      assert.ok(text.includes(`:${digits!}`), `${digits!} in ${text}`);
    }
    // Every number, read without losing digits, is the one sent.
    const answered = (parseExact(text) as { data: { event: { payload: Record<string, unknown> } } }).data.event.payload;
    const numberText = (v: unknown) => (typeof v === 'number' ? String(v) : (v as { rawJSON: string }).rawJSON);
    for (const [field, sent] of Object.entries(SENT)) sameNumber(numberText(answered[field]), sent, `GraphQL ${field}`);
    assert.deepEqual(Object.keys(answered).sort(), [...Object.keys(SENT), 'list', 'nested'].sort());
  });

  it('numbers DynamoDB cannot hold get a 422 naming the field', async () => {
    const cases: [string, RegExp][] = [
      ['123456789012345678901234567890123456789', /39 significant digits/],
      ['1e126', /too large/],
      ['1.5e300', /too large/],
      ['1e-131', /too close to zero/],
      ['-0', /negative zero/],
    ];
    for (const [text, message] of cases) {
      const id = randomUUID();
      const res = await post(`{"event_id":"${id}","event_type":"order_placed","user_id":"u","payload":{"ok":1,"order":{"ids":[7,${text}]}}}`);
      assert.equal(res.status, 422, `${text}: ${JSON.stringify(res.body)}`);
      const errors = res.body.errors as { field: string; message: string }[];
      assert.deepEqual(
        errors.map((e) => e.field),
        ['payload.order.ids[1]'],
        text,
      );
      assert.match(errors[0]!.message, message, text);
    }
  });
});
