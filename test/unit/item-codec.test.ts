/** The DynamoDB item codec keeps every JSON key and value, where @aws-sdk/util-dynamodb does not. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromAttribute, marshallItem, toAttribute, unmarshallItem } from '../../src/store/hot/itemCodec';

const PAYLOADS = [
  '{"__proto__": {"polluted": true}, "constructor": 1, "prototype": "p", "": "empty", "hasOwnProperty": false, "toString": null, "valueOf": []}',
  '{"constructor": {"name": "String"}, "b": {"constructor": {"name": "Map"}}, "c": {"constructor": {"name": "Set"}}, "d": {"constructor": {"name": "Number"}}}',
  '{"~__proto__": 1, "~~__proto__": 2, "__proto__x": 3, "x__proto__": 4, "list": [{"__proto__": [{"__proto__": null}]}]}',
  '{"é": 1, "日本": 2, "🙂": 3, "a\\u0000b": 4, " ": 5}',
  '{"n": [0, -1, 0.1, 1e-130, 9.99e125, 9007199254740991, -9007199254740991, 123456.789, 5e-7, true, false, null, "1e3"]}',
];

describe('item codec', () => {
  for (const text of PAYLOADS) {
    it(`round-trips ${text.slice(0, 70)}`, () => {
      const sent = JSON.parse(text) as Record<string, unknown>;
      const back = unmarshallItem(JSON.parse(JSON.stringify(marshallItem({ payload: sent }))) as ReturnType<typeof marshallItem>);
      assert.equal(JSON.stringify(back), JSON.stringify({ payload: sent }), 'same keys, order and values');
      assert.deepEqual(JSON.parse(JSON.stringify(back)), { payload: JSON.parse(text) as unknown });
      assert.equal(Object.getPrototypeOf((back as { payload: object }).payload), Object.prototype, 'no prototype was set from data');
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    });
  }

  it('stores __proto__ keys as ~__proto__ (dynalite drops them), reversibly', () => {
    const attr = toAttribute(JSON.parse('{"__proto__": 1, "~__proto__": 2}'));
    assert.deepEqual(Object.keys(attr.M!), ['~__proto__', '~~__proto__']);
    assert.equal(JSON.stringify(fromAttribute(attr)), '{"__proto__":1,"~__proto__":2}');
  });

  it('refuses what JSON cannot hold instead of storing something else', () => {
    assert.throws(() => toAttribute({ a: Number.NaN }), /\$\.a: NaN is not a JSON number/);
    assert.throws(() => toAttribute({ a: Infinity }), /not a JSON number/);
    assert.throws(() => toAttribute({ f: () => 1 }), /function is not a JSON value/);
    assert.throws(() => fromAttribute({ SS: ['a'] }), /SS is not written by this platform/);
  });
});
