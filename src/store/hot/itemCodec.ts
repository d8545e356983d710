/**
 * JSON values to DynamoDB attribute values and back, keeping every key and value as sent.
 *
 * `@aws-sdk/util-dynamodb` is not safe for arbitrary JSON: its unmarshall assigns `acc[key] = …`,
 * so a key `__proto__` sets the prototype instead of a property and disappears; its marshall does
 * the same when building the attribute map, and picks the conversion from `value.constructor`,
 * so a payload key `constructor` makes the put throw (or, with `{"constructor": {"name":
 * "String"}}`, silently store "[object Object]"). Here, maps are built with own-property
 * definitions and types come from `typeof`, so any key (`__proto__`, `constructor`, "", unicode)
 * round-trips. Only what JSON can hold is supported: null, booleans, finite numbers, strings,
 * arrays and objects.
 *
 * Numbers keep their digits: a number kept as its JSON text (src/events/exactJson.ts, such as an
 * int64 id) is written as an N of that text, and an N that a double would change reads back as
 * such a raw number, so `JSON.stringify` writes the stored digits.
 *
 * One key is also renamed in storage: dynalite (the local DynamoDB) and any JavaScript tool that
 * copies maps by assignment lose `__proto__` the same way, so it is stored as `~__proto__`. To
 * keep the mapping reversible, every key of the form `~…~__proto__` gains one more `~` on write
 * and loses one on read; all other keys are stored as they are.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { isRawNumber, numberFromText } from '../../events/exactJson';

export type Item = Record<string, AttributeValue>;

const PROTO_KEY_ON_WRITE = /^~*__proto__$/;
const PROTO_KEY_ON_READ = /^~+__proto__$/;
const storedKey = (key: string) => (PROTO_KEY_ON_WRITE.test(key) ? `~${key}` : key);
const jsonKey = (key: string) => (PROTO_KEY_ON_READ.test(key) ? key.slice(1) : key);

/** Sets `target[key] = value` as an own, enumerable property, whatever the key is. */
function define(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

export function toAttribute(value: unknown, path = '$'): AttributeValue {
  if (value === null) return { NULL: true };
  if (isRawNumber(value)) return { N: value.rawJSON };
  switch (typeof value) {
    case 'string':
      return { S: value };
    case 'boolean':
      return { BOOL: value };
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`${path}: ${value} is not a JSON number`);
      return { N: String(value) };
    case 'object': {
      if (Array.isArray(value)) return { L: value.map((v, i) => toAttribute(v, `${path}[${i}]`)) };
      const map: Item = {};
      for (const key of Object.keys(value)) {
        const v = (value as Record<string, unknown>)[key];
        if (v !== undefined) define(map, storedKey(key), toAttribute(v, `${path}.${key}`));
      }
      return { M: map };
    }
    default:
      throw new TypeError(`${path}: a ${typeof value} is not a JSON value`);
  }
}

export function fromAttribute(attr: AttributeValue, path = '$'): unknown {
  if (attr.NULL) return null;
  if (attr.S !== undefined) return attr.S;
  if (attr.N !== undefined) return numberFromText(attr.N);
  if (attr.BOOL !== undefined) return attr.BOOL;
  if (attr.L !== undefined) return attr.L.map((v, i) => fromAttribute(v, `${path}[${i}]`));
  if (attr.M !== undefined) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(attr.M)) define(out, jsonKey(key), fromAttribute(attr.M[key]!, `${path}.${key}`));
    return out;
  }
  throw new TypeError(`${path}: attribute type ${Object.keys(attr).join(',')} is not written by this platform`);
}

/** A whole item (an object of JSON values) to a DynamoDB item; undefined attributes are left out. */
export function marshallItem(item: object): Item {
  return (toAttribute(item) as { M: Item }).M;
}

export function unmarshallItem<T = Record<string, unknown>>(item: Item): T {
  return fromAttribute({ M: item }) as T;
}
