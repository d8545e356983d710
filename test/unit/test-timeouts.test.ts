/**
 * Suites against the real stack are slow on a busy machine, and that is not a failure: a test's
 * own timeout only catches a hang (test/support/timeouts.ts). This keeps a numeric timeout that
 * would fail a slow but healthy suite from coming back in an integration or fault file.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { REPO_ROOT } from '../support/paths';
import { HANG_TIMEOUT_MS } from '../support/timeouts';

/** `timeout: N` in the options of describe/it/test (same line, or the options line after a long name). */
export function shortTestTimeouts(source: string): string[] {
  const found: string[] = [];
  const lines = source.split('\n');
  lines.forEach((line, i) => {
    const call = /\b(describe|it|test)\(/.test(line) || /^\s*\{[^}]*timeout:[^}]*\},?\s*$/.test(line);
    if (!call) return;
    for (const m of line.matchAll(/(?<![\w.])timeout: ([0-9_]+)\s*[,}]/g)) {
      if (Number(m[1]!.replace(/_/g, '')) < HANG_TIMEOUT_MS) found.push(`line ${i + 1}: ${line.trim()}`);
    }
  });
  return found;
}

it('no integration or fault suite has a timeout shorter than the hang timeout', () => {
  const dirs = ['test/integration', 'test/faults'];
  const offenders = dirs.flatMap((dir) =>
    readdirSync(join(REPO_ROOT, dir))
      .filter((f) => f.endsWith('.ts'))
      .flatMap((f) => shortTestTimeouts(readFileSync(join(REPO_ROOT, dir, f), 'utf8')).map((o) => `${dir}/${f} ${o}`)),
  );
  assert.deepEqual(offenders, []);
});

it('the scan finds a short timeout on a describe, an it and an options line, and ignores other timeouts', () => {
  const source = [
    "describe('a', { timeout: 120_000 }, () => {",
    "  it('b', { skip, timeout: 60000 }, async () => {});",
    '  it(',
    "    'a long name',",
    '    { timeout: 30_000 },',
    "  await waitFor('x', f, { timeoutMs: 5_000 });",
    '  await analytics.closeAndFlush({ timeout: 30_000 });',
    "describe('c', { timeout: HANG_TIMEOUT_MS }, () => {",
    "describe('d', { timeout: 4 * HANG_TIMEOUT_MS }, () => {",
  ].join('\n');
  assert.deepEqual(
    shortTestTimeouts(source).map((o) => o.split(':')[0]),
    ['line 1', 'line 2', 'line 5'],
  );
});
