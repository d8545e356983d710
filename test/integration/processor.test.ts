/**
 * npm start's layout: two processors (bridge + worker in one process, eager starts, the fast
 * path) with the real producer against the real stack. What a user checks: every posted event is
 * in the table and the archive, its run Completed without a failed step, and each processor
 * drains and exits 0 on SIGTERM. How many history events a run takes depends on whether its fast
 * attempt met its budget, which a busy machine decides: the one-workflow-task path is asserted in
 * the workflow's unit tests, on the test environment's clock.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { archiveKey } from '../../src/store/archive/layout';
import { countByType, getItem, getObject, postJson } from '../support/clients';
import { startPlatform, type Platform } from '../support/platform';
import { waitFor } from '../support/wait';
import { HANG_TIMEOUT_MS } from '../support/timeouts';

describe('processors: bridge + worker in one process', { timeout: HANG_TIMEOUT_MS }, () => {
  let p: Platform;
  before(async () => {
    p = await startPlatform({ processors: 2 });
  });
  after(() => p?.stop());

  it('a batch goes through: stored, archived, Completed with no failed step', async () => {
    const eventType = `proc_${randomUUID().slice(0, 8)}`;
    const events = Array.from({ length: 40 }, (_, i) => ({ event_type: eventType, user_id: `user-${i % 7}`, payload: { i } }));
    const res = await postJson(`${p.producerUrl}/events/batch`, { events });
    assert.equal(res.status, 202);
    const ids = (res.body.results as { event_id: string }[]).map((r) => r.event_id);
    assert.equal(ids.length, 40);
    await waitFor('40 items', async () => (await countByType(p, eventType)) === 40, { timeoutMs: 120_000, intervalMs: 500 });
    for (const id of ids) {
      await waitFor(`run ${id} completed`, async () => (await p.temporal.workflow.getHandle(id).describe()).status.name === 'COMPLETED', { timeoutMs: 60_000 });
      const item = await getItem(p, id);
      assert.ok(await getObject(p, archiveKey({ event_id: id, timestamp: item!.timestamp as string })), `${id} archived`);
      const history = await p.temporal.workflow.getHandle(id).fetchHistory();
      const failed = (history.events ?? []).filter((e) => e.activityTaskFailedEventAttributes || e.workflowTaskFailedEventAttributes);
      assert.deepEqual(failed, [], `${id}: no activity or workflow task failed`);
    }
  });

  it('SIGTERM: each processor stops its bridge, drains its worker and exits 0', async () => {
    for (const name of ['processor-1', 'processor-2']) {
      assert.equal(await p.signal(name, 'SIGTERM'), 0, `${name} exit code`);
      assert.ok(
        p.output(name).some((l) => l.includes('processor stopped')),
        `${name} logged its drain`,
      );
    }
  });
});
