/**
 * JSON numbers kept as the client wrote them. A double holds at most 17 significant digits, so
 * `JSON.parse` turns an int64 id such as 12345678901234567890 into 12345678901234567000. Node 24's
 * `JSON.parse` hands a reviver each primitive's source text, and `JSON.rawJSON(text)` is a value
 * that `JSON.stringify` writes back verbatim: numbers whose text a double would change become
 * such raw values, every other value stays what `JSON.parse` makes of it. So the Kafka record, the
 * Temporal payloads and the S3 object (all written by `JSON.stringify`) keep the client's digits.
 *
 * Workflow-safe: no Node imports (the Temporal payload converter uses it inside the sandbox).
 */

/** A number kept as its JSON text: a frozen, null-prototype object `{ rawJSON: "…" }`. */
export interface RawJsonNumber {
  readonly rawJSON: string;
}

/** What Node 24 has and the ES2023 typings lack. */
interface JsonWithRawText {
  rawJSON(text: string): RawJsonNumber;
  isRawJSON(value: unknown): boolean;
  parse(text: string, reviver: (this: unknown, key: string, value: unknown, context?: { source?: string }) => unknown): unknown;
}
const RawText = JSON as unknown as JsonWithRawText;

if (typeof RawText.rawJSON !== 'function' || typeof RawText.isRawJSON !== 'function') {
  // Without them numbers would silently lose digits again.
  throw new Error('JSON.rawJSON is missing: the platform needs Node.js 24 or newer');
}

export function isRawNumber(value: unknown): value is RawJsonNumber {
  return RawText.isRawJSON(value);
}

/** A raw JSON value for a number's text, such as "12345678901234567890". */
export function rawNumber(text: string): RawJsonNumber {
  return RawText.rawJSON(text);
}

/**
 * JSON.parse, except that a number whose text is not what `JSON.stringify` would write for the
 * double it parses to (`12345678901234567890`, `0.1000000000000000055511151231257827`, `1E+5`,
 * `1.0`, `-0`, `1e400`) is kept as its text. Ordinary numbers stay numbers, so values a double
 * holds exactly behave as before everywhere.
 */
export function parseExact(text: string): unknown {
  return RawText.parse(text, (_key, value, context) =>
    typeof value === 'number' && context?.source !== undefined && String(value) !== context.source ? RawText.rawJSON(context.source) : value,
  );
}

/** A number from storage (a DynamoDB N string): a plain number when a double keeps its text. */
export function numberFromText(text: string): number | RawJsonNumber {
  const value = Number(text);
  // Text that is not JSON's number syntax (".5") cannot be raw JSON: the double is the best left.
  return String(value) === text || !JSON_NUMBER.test(text) ? value : RawText.rawJSON(text);
}

/** The JSON text of a payload number: what the client sent for a raw one, String() for a double. */
export function numberText(value: number | RawJsonNumber): string {
  return typeof value === 'number' ? String(value) : value.rawJSON;
}

/** DynamoDB Numbers: up to 38 significant digits, non-zero magnitudes 1e-130 to 9.99…e125. */
export const DYNAMODB_MAX_DIGITS = 38;
export const DYNAMODB_MIN_EXPONENT = -130;
export const DYNAMODB_MAX_EXPONENT = 125;

const JSON_NUMBER = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/** A JSON number's text as sign, significant digits and decimal exponent (d.ddd × 10^exponent). */
export interface NumberShape {
  negative: boolean;
  /** Without leading or trailing zeros; "" for zero. */
  digits: string;
  exponent: number;
}

export function numberShape(text: string): NumberShape | undefined {
  const m = JSON_NUMBER.exec(text);
  if (!m) return undefined;
  const [, sign, whole = '', fraction = '', exp = '0'] = m;
  const all = whole + fraction;
  const leadingZeros = all.length - all.replace(/^0+/, '').length;
  const digits = all.slice(leadingZeros).replace(/0+$/, '');
  // The decimal point sits after `whole`, moved by the exponent; a huge exponent gives ±Infinity.
  const exponent = digits === '' ? 0 : whole.length + Number(exp) - leadingZeros - 1;
  return { negative: sign === '-', digits, exponent };
}

/** Why a payload number cannot be stored as sent (DynamoDB's Number rules), or undefined. */
export function numberTextProblem(text: string): string | undefined {
  const shape = numberShape(text);
  if (!shape) return `not a JSON number: ${text.slice(0, 40)}`;
  if (shape.digits === '') {
    // DynamoDB keeps no sign on zero.
    return shape.negative ? 'negative zero cannot be stored distinctly from 0; send 0' : undefined;
  }
  if (shape.digits.length > DYNAMODB_MAX_DIGITS) {
    return `number has ${shape.digits.length} significant digits; DynamoDB numbers keep at most ${DYNAMODB_MAX_DIGITS}: send it as a string`;
  }
  if (shape.exponent > DYNAMODB_MAX_EXPONENT) return 'number too large to store (DynamoDB numbers end at 9.99…e125); send it as a string';
  if (shape.exponent < DYNAMODB_MIN_EXPONENT) return 'number too close to zero to store (DynamoDB numbers start at 1e-130); send it as a string or 0';
  return undefined;
}
