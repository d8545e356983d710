/**
 * Records processEvent histories for the replay test: `node --import tsx test/replay/record.ts`.
 * Run it when a workflow change is meant to be compatible with the running ones; commit the new
 * files beside the old ones (never replace those: they stand for runs that may still be open).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import type { EventEnvelope } from '../../src/events/event';
import type { ProcessEventInput } from '../../workflows/contract';
import { temporalCliPath } from '../support/paths';

const event: EventEnvelope = {
  schema_version: 1,
  event_id: '0192f1c4-8d1e-7c3a-9b2f-5a6d7e8f9a0b',
  event_type: 'page_view',
  user_id: '123',
  timestamp: '2026-11-25T10:00:00.000Z',
  received_at: '2026-11-25T10:00:00.120Z',
  payload: { page: '/home', referrer: 'google.com' },
};
// The shape before the fast path: no attempt cap, an elapsed budget per step. (The committed processEvent-completed
// and processEvent-cold-dead-lettered histories were recorded with the earlier shape, an attempt
// cap of 2 and no budget; keep them.)
const retry = { maximumAttempts: 0, initialIntervalMs: 10, maximumIntervalMs: 20, maxElapsedMs: 2_000 };
const input: ProcessEventInput = { event, retries: { hot: retry, cold: retry, activityTimeoutMs: 1_000 } };
// With the fast path (first attempts as local activities): the fast-* histories.
const fastInput: ProcessEventInput = { event, retries: { ...input.retries, fastPathTimeoutMs: 500 } };
const refused = () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9000'), { name: 'Error' }));

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const env = await TestWorkflowEnvironment.createLocal({ server: { executable: { type: 'existing-path', path: temporalCliPath() } } });
  const nonRetryable = async () =>
    Promise.reject(ApplicationFailure.create({ type: 'ValidationException', message: 'Number overflow', nonRetryable: true, details: [{ attempt: 1 }] }));
  let coldCalls = 0;
  const cases: [string, Record<string, (...args: unknown[]) => Promise<unknown>>, ProcessEventInput?][] = [
    [
      'fast-completed',
      { storeHot: async () => 'stored', archiveCold: async () => ({ key: 'events/2026/11/25/x.json' }), deadLetter: async () => undefined },
      fastInput,
    ],
    [
      'fast-cold-fallback-completed',
      {
        storeHot: async () => 'stored',
        archiveCold: async () => (++coldCalls <= 2 ? refused() : { key: 'events/2026/11/25/x.json' }),
        deadLetter: async () => undefined,
      },
      fastInput,
    ],
    ['fast-cold-gave-up', { storeHot: async () => 'stored', archiveCold: refused, deadLetter: async () => undefined }, fastInput],
    [
      'fast-hot-non-retryable',
      { storeHot: nonRetryable, archiveCold: async () => ({ key: 'events/2026/11/25/x.json' }), deadLetter: async () => undefined },
      fastInput,
    ],
    ['budget-completed', { storeHot: async () => 'stored', archiveCold: async () => ({ key: 'events/2026/11/25/x.json' }), deadLetter: async () => undefined }],
    ['budget-cold-gave-up', { storeHot: async () => 'stored', archiveCold: refused, deadLetter: async () => undefined }],
    [
      'budget-hot-non-retryable',
      {
        storeHot: async () =>
          Promise.reject(ApplicationFailure.create({ type: 'ValidationException', message: 'Number overflow', nonRetryable: true, details: [{ attempt: 1 }] })),
        archiveCold: async () => ({ key: 'events/2026/11/25/x.json' }),
        deadLetter: async () => undefined,
      },
    ],
  ];
  try {
    for (const [name, activities, caseInput = input] of cases) {
      const file = join(__dirname, 'histories', `processEvent-${name}.json`);
      // Recorded histories stand for runs that may still be open: never overwritten.
      if (existsSync(file)) continue;
      const taskQueue = `record-${name}`;
      const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath: require.resolve('../../workflows'), activities });
      await worker.runUntil(async () => {
        const handle = await env.client.workflow.start('processEvent', { taskQueue, workflowId: `${name}-${event.event_id}`, args: [caseInput] });
        await handle.result().catch(() => undefined);
        // The CLI's export, the same file an operator downloads from the Web UI.
        const json = execFileSync(temporalCliPath(), ['workflow', 'show', '--address', env.address, '-w', handle.workflowId, '-o', 'json']);
        writeFileSync(file, json);
        process.stdout.write(`wrote ${file}\n`);
      });
    }
  } finally {
    await env.teardown();
  }
}

void main();
