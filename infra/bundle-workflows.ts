/**
 * The second half of `npm run build`: bundles the compiled workflow code (dist/workflows) into
 * dist/workflow-bundle.js, which compiled workers load instead of bundling at every start
 * (workers/workflowCode.ts). Run from dist/infra after tsc.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { WORKFLOW_BUNDLE_FILE } from '../workers/workflowCode';

async function main(): Promise<void> {
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: new DefaultLogger('WARN') });
  const target = join(__dirname, '..', WORKFLOW_BUNDLE_FILE);
  writeFileSync(target, code);
  console.log(`workflow bundle: ${target} (${(code.length / 1024).toFixed(0)} KiB)`);
}

main().catch((err: unknown) => {
  console.error(`bundling the workflows failed: ${(err as Error).message}`);
  process.exit(1);
});
