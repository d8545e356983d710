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

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * parseArgs with strict: true, plus `--help`/`-h`. Node's own messages already name the flag
 * ("Unknown option '--x'", "Option '--since <value>' argument missing"); they are kept, minus
 * the hint about `--` that means nothing here.
 */
export function parseFlags<O extends Options>(argv: string[], options: O, usage: string, { positionals = 0 }: { positionals?: number } = {}) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: positionals > 0 });
  } catch (err) {
    throw new UsageError(((err as Error).message.split('\n')[0] ?? '').replace(/\. To specify a positional argument.*$/, '').replace(/\s+$/, ''), usage);
  }
  if (parsed.positionals.length > positionals) {
    throw new UsageError(`unexpected argument '${parsed.positionals[positionals]}'`, usage);
  }
  return parsed;
}

/** An ISO-8601 time with a date, such as 2026-11-25T10:00:00Z or 2026-11-25; returned as UTC ISO. */
export function isoTime(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(ms))
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

/** A positive integer flag. */
export function positiveInt(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`${flag} must be a positive integer, got "${value}"`);
  return Number(value);
}
