// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Workflow code runs inside Temporal's deterministic sandbox: it may not touch the network, the
// clock, the file system or process configuration. Anything that does belongs in an activity.
const workflowForbiddenImports = {
  patterns: [
    { group: ['node:*'], message: 'Workflow code runs in the Temporal sandbox: no Node built-ins.' },
    { group: ['@aws-sdk/*', 'kafkajs', 'pino', 'express', 'fastify', 'mercurius'], message: 'Workflow code does no I/O: call an activity.' },
    { group: ['**/config', '**/config.js', '**/src/platform/config'], message: 'Workflow code must not read configuration: pass values in as workflow input.' },
    {
      group: ['@temporalio/client', '@temporalio/worker', '@temporalio/activity'],
      message: 'Only @temporalio/workflow and @temporalio/common are workflow-safe.',
    },
  ],
  paths: ['fs', 'path', 'os', 'crypto', 'child_process', 'http', 'https', 'net', 'dns', 'process', 'uuid'].map((name) => ({
    name,
    message: 'Workflow code runs in the Temporal sandbox: no Node built-ins or nondeterministic helpers.',
  })),
};

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.stack*/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // node:test's describe/it return promises the runner itself tracks.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] }] },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  {
    // Every module the workflow bundle loads (test/integration/workflow-lint.test.ts walks its imports).
    files: ['workflows/**/*.ts', 'src/events/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', workflowForbiddenImports] },
  },
);
