/** The lint override that keeps workflow code deterministic really rejects I/O imports. */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { it } from 'node:test';
import { ESLint } from 'eslint';
import ts from 'typescript';
import { REPO_ROOT } from '../support/paths';
import { HANG_TIMEOUT_MS } from '../support/timeouts';

it('workflow files may not import Node built-ins, AWS, Kafka or config', { timeout: HANG_TIMEOUT_MS }, async () => {
  const eslint = new ESLint({ cwd: REPO_ROOT });
  const forbidden = [
    "import { readFileSync } from 'node:fs';",
    "import { S3Client } from '@aws-sdk/client-s3';",
    "import { Kafka } from 'kafkajs';",
    "import { loadConfig } from '../src/platform/config';",
    "import { loadConfig } from '../src/platform/config/load';",
    "import { envSchema } from '../src/platform/config/schema';",
    "import { Context } from '@temporalio/activity';",
  ];
  // Lint the real workflow file with one forbidden import added, as if someone had written it.
  const source = readFileSync(`${REPO_ROOT}/workflows/processEvent.ts`, 'utf8');
  for (const line of forbidden) {
    const [result] = await eslint.lintText(`${line}\n${source}`, { filePath: `${REPO_ROOT}/workflows/processEvent.ts` });
    const restricted = result!.messages.filter((m) => m.ruleId === 'no-restricted-imports');
    assert.equal(restricted.length, 1, `${line} → ${JSON.stringify(result!.messages.map((m) => m.message))}`);
  }
  const [clean] = await eslint.lintText(source, { filePath: `${REPO_ROOT}/workflows/processEvent.ts` });
  assert.deepEqual(
    clean!.messages.filter((m) => m.ruleId === 'no-restricted-imports'),
    [],
  );
});

/** Relative modules a file loads at run time (type-only imports are erased, so they do not count). */
function runtimeImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
  const specifiers: string[] = [];
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement) && !statement.importClause?.isTypeOnly) specifiers.push((statement.moduleSpecifier as ts.StringLiteral).text);
    if (ts.isExportDeclaration(statement) && !statement.isTypeOnly && statement.moduleSpecifier)
      specifiers.push((statement.moduleSpecifier as ts.StringLiteral).text);
  }
  return specifiers
    .filter((s) => s.startsWith('.'))
    .map((s) => {
      const base = resolve(dirname(file), s);
      const found = [`${base}.ts`, join(base, 'index.ts')].find((candidate) => existsSync(candidate));
      assert.ok(found, `${file} imports ${s}, which does not resolve to a .ts file`);
      return found;
    });
}

it('every module the workflow bundle loads is under the sandbox lint rule', { timeout: HANG_TIMEOUT_MS }, async () => {
  const eslint = new ESLint({ cwd: REPO_ROOT });
  const seen = new Set<string>();
  const queue = [join(REPO_ROOT, 'workflows', 'index.ts')];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    queue.push(...runtimeImports(file));
  }
  assert.ok(seen.size >= 3, `walked ${[...seen].join(', ')}`);
  const uncovered: string[] = [];
  for (const file of seen) {
    const config = (await eslint.calculateConfigForFile(file)) as { rules?: Record<string, unknown> };
    const rule = config.rules?.['no-restricted-imports'];
    if (!Array.isArray(rule) || (rule[0] !== 2 && rule[0] !== 'error')) uncovered.push(relative(REPO_ROOT, file));
  }
  assert.deepEqual(uncovered, [], 'workflow code loads these without the sandbox rule: add them to its files in eslint.config.mjs');
});
