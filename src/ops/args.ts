/**
 * Argument parsing shared by every `events` command: node:util's parseArgs in strict mode, with
 * its errors turned into a UsageError (exit code 2) that names the flag, and `--help` / `-h`
 * on every command.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A mistake in how the command was called: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
  constructor(
    message: string,
    readonly usage?: string,
  ) {
    super(message);
  }
}

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/**
 * One command of `events`, declared beside its parse, run and format steps: its name, the old
 * names it still answers to, its line in `events --help`, its own help and its parse step.
 * src/ops/events.ts lists them and wires the run steps to the clients.
 */
export interface CommandSpec {
  name: string;
  aliases: readonly string[];
  summary: string;
  help: string;
  parse: (argv: string[]) => { help?: boolean };
  /** A positional argument, shown after the name in `events --help`. */
  operand?: string;
}

type Options = NonNullable<ParseArgsConfig['options']>;

// The controls a value may not carry (printing one would forge or hide output; no flag needs one).
// eslint-disable-next-line no-control-regex -- matching the controls is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const codePoint = (c: string) => `U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;

/** A value given on the command line: never empty, never a control character. */
export function checkValue(name: string, value: string): string {
  if (value === '') throw new UsageError(`${name} must not be empty`);
  const control = CONTROL.exec(value);
  if (control) throw new UsageError(`${name} must not contain control characters (found ${codePoint(control[0])})`);
  return value;
}

/**
 * parseArgs with strict: true, plus `--help`/`-h`. Node's own messages already name the flag
 * ("Unknown option '--x'", "Option '--since <value>' argument missing"); they are kept, minus
 * the hint about `--` that means nothing here. On top of parseArgs: a flag that takes one value
 * given twice is refused (parseArgs would keep the last silently), and so is an empty value or
 * one holding a control character, in flags and positionals alike.
 */
export function parseFlags<O extends Options>(argv: string[], options: O, usage: string, { positionals = [] }: { positionals?: string[] } = {}) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: positionals.length > 0,
      tokens: true,
    });
  } catch (err) {
    const text = ((err as Error).message.split('\n')[0] ?? '').replace(/\. To specify a positional argument.*$/, '').replace(/\s+$/, '');
    // "--limit -5": parseArgs will not take a value that looks like a flag; say how to give one.
    const ambiguous = /^Option '(-[^' ]+)' argument is ambiguous/.exec(text);
    throw new UsageError(ambiguous ? `${ambiguous[1]} needs a value; to give one that starts with '-', write ${ambiguous[1]}=VALUE` : text, usage);
  }
  const seen = new Set<string>();
  let positional = 0;
  for (const token of parsed.tokens) {
    if (token.kind === 'option') {
      const flag = `--${token.name}`;
      if (seen.has(token.name) && options[token.name]?.multiple !== true) throw new UsageError(`${flag} was given more than once`, usage);
      seen.add(token.name);
      if (token.value !== undefined) withUsage(usage, () => checkValue(flag, token.value!));
    } else if (token.kind === 'positional') {
      withUsage(usage, () => checkValue(positionals[positional++] ?? 'an argument', token.value));
    }
  }
  if (parsed.positionals.length > positionals.length) {
    throw new UsageError(`unexpected argument '${parsed.positionals[positionals.length]}'`, usage);
  }
  return parsed;
}

/** Runs a check; a usage error it throws without a usage gets this one. */
export function withUsage<T>(usage: string, check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (err instanceof UsageError && !err.usage) throw new UsageError(err.message, usage);
    throw err;
  }
}

/** An ISO-8601 time with a date, such as 2026-11-25T10:00:00Z or 2026-11-25; returned as UTC ISO. */
export function isoTime(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  // Date.parse takes 2026-02-30 for March 2: the day written must be a day that exists.
  const day = /^(\d{4}-\d{2}-\d{2})/.exec(value)?.[1];
  if (day === undefined || Number.isNaN(ms) || Number.isNaN(Date.parse(`${day}T00:00:00Z`)) || new Date(`${day}T00:00:00Z`).toISOString().slice(0, 10) !== day)
    throw new UsageError(`${flag} must be an ISO-8601 time such as 2026-11-25T10:00:00Z, got "${value}"`);
  return new Date(ms).toISOString();
}

/** A calendar day YYYY-MM-DD (UTC) that exists. */
export function utcDate(flag: string, value: string | undefined): string {
  if (value === undefined) throw new UsageError(`${flag} is required (a date such as 2026-11-25)`);
  const ms = Date.parse(`${value}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== value) {
    throw new UsageError(`${flag} must be a date such as 2026-11-25, got "${value}"`);
  }
  return value;
}

/** A positive integer flag, at most `max` (a huge number is a typo, never a wish). */
export function positiveInt(flag: string, value: string | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`${flag} must be a positive integer, got "${value}"`);
  if (Number(value) > max) throw new UsageError(`${flag} must be at most ${max}, got ${value}`);
  return Number(value);
}
