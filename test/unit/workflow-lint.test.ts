/** The lint override that keeps workflow code deterministic really rejects I/O imports. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { ESLint } from 'eslint';
import { REPO_ROOT } from '../support/paths';

it('workflow files may not import Node built-ins, AWS, Kafka or config', { timeout: 60_000 }, async () => {
  const eslint = new ESLint({ cwd: REPO_ROOT });
  const forbidden = [
    "import { readFileSync } from 'node:fs';",
    "import { S3Client } from '@aws-sdk/client-s3';",
    "import { Kafka } from 'kafkajs';",
    "import { loadConfig } from '../src/config';",
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
