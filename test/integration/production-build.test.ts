/**
 * The production build runs the platform: `tsc -p tsconfig.build.json` into a private folder and
 * the workflow bundle made ahead of time (infra/bundle-workflows.ts), exactly the two steps of
 * `npm run build` and of the Dockerfile. The compiled producer, processor and GraphQL server take
 * an event through the real stack, and the processor's worker says it loaded the prebuilt bundle
 * (no webpack at start). The folder is inside the repository so the compiled code finds
 * node_modules, and is removed afterwards.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { getItem, graphql, postJson } from '../support/clients';
import { REPO_ROOT } from '../support/paths';
import { startPlatform, type Platform } from '../support/platform';
import { waitFor } from '../support/wait';
import { HANG_TIMEOUT_MS } from '../support/timeouts';

const run = promisify(execFile);
const outDir = join(REPO_ROOT, `dist-test-${randomBytes(4).toString('hex')}`);
let p: Platform | undefined;

before(async () => {
  await run(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', outDir], { cwd: REPO_ROOT });
  await run(process.execPath, [join(outDir, 'infra/bundle-workflows.js')], { cwd: REPO_ROOT });
  assert.ok(existsSync(join(outDir, 'workflow-bundle.js')), 'the workflow bundle is part of the build');
});

after(async () => {
  await p?.stop();
  rmSync(outDir, { recursive: true, force: true });
});

it('the compiled processes take an event through the real stack; the worker loads the prebuilt workflow bundle', { timeout: HANG_TIMEOUT_MS }, async () => {
  p = await startPlatform({ processors: 1, built: outDir });
  const posted = await postJson(`${p.producerUrl}/events`, { event_type: 'built', user_id: 'u-build', payload: { n: 1 } });
  assert.equal(posted.status, 202, JSON.stringify(posted.body));
  const id = posted.body.event_id as string;
  await waitFor('the item', async () => (await getItem(p!, id)) !== undefined, { timeoutMs: 60_000 });
  const result = (await p.temporal.workflow.getHandle(id).result()) as { hot: string; cold: string };
  assert.deepEqual([result.hot, result.cold], ['stored', 'archived']);
  const answer = await graphql<{ event: { eventType: string } | null }>(p, `{ event(eventId: "${id}") { eventType } }`);
  assert.equal(answer.data?.event?.eventType, 'built');
  const codeLine = p.output('processor-1').find((line) => line.includes('"workflowCode"'));
  assert.match(codeLine ?? '', new RegExp(`prebuilt bundle ${join(outDir, 'workflow-bundle.js').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
});
