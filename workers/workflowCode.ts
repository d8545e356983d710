/**
 * Where a worker gets its workflow code. A production build (`npm run build`) compiles once and
 * bundles the workflows ahead of time into dist/workflow-bundle.js, so a worker starts without
 * running webpack; running from the TypeScript sources (tsx, development and tests), the SDK
 * bundles workflows/ at startup as before, so a change to workflow code is never shadowed by a
 * stale bundle.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const WORKFLOW_BUNDLE_FILE = 'workflow-bundle.js';

export type WorkflowCode = { workflowBundle: { codePath: string } } | { workflowsPath: string };

export function workflowCode(): WorkflowCode {
  // Compiled, this file is dist/workers/workflowCode.js and the bundle dist/workflow-bundle.js.
  const compiled = __filename.endsWith('.js');
  const bundle = join(__dirname, '..', WORKFLOW_BUNDLE_FILE);
  if (compiled && existsSync(bundle)) return { workflowBundle: { codePath: bundle } };
  return { workflowsPath: require.resolve('../workflows') };
}

export function describeWorkflowCode(code: WorkflowCode): string {
  return 'workflowBundle' in code ? `prebuilt bundle ${code.workflowBundle.codePath}` : `bundled at startup from ${code.workflowsPath}`;
}
