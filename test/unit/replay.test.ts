/**
 * Every recorded processEvent history must replay on today's workflow code. A failure here means
 * a change would break workflows already running: guard it with `patched()` or a new workflow
 * type instead. Histories are recorded by test/replay/record.ts.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { exactDataConverter } from '../../src/platform/temporal/dataConverter';

const dir = join(__dirname, '..', 'replay', 'histories');

// With the workers' data converter: histories recorded before it parse to the same values.
it('recorded histories replay without nondeterminism', { timeout: 60_000 }, async () => {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  assert.ok(files.length >= 5, 'histories are committed');
  const histories = files.map((f) => ({ workflowId: f, history: historyFromJSON(JSON.parse(readFileSync(join(dir, f), 'utf8'))) }));
  const results = [];
  for await (const result of Worker.runReplayHistories(
    { workflowsPath: require.resolve('../../workflows'), replayName: 'processEvent', dataConverter: exactDataConverter },
    histories,
  )) {
    results.push(result);
  }
  assert.equal(results.length, files.length);
  for (const r of results) assert.equal(r.error, undefined, `${r.workflowId}: ${String(r.error)}`);
});
