/**
 * Temporal down for 3 minutes while events keep arriving: the bridges keep their group membership
 * (no evictions, no rebalance storm), commit nothing they did not start, and drain the whole
 * backlog once Temporal is back, each event stored exactly once.
 *
 * Stops the shared Temporal server (under the stack lock) and always starts it again.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { createTemporalClient } from '../../src/platform/temporal/connection';
import { bridgeMetric, bridgeReady, describeGroup, rawTopicOffsets, stableGroup } from '../support/bridge';
import { countByType, getItem, postJson, startWatchedPlatform, type WatchedPlatform } from '../support/clients';
import { REPO_ROOT } from '../support/paths';
import { waitFor, waitUntil } from '../support/wait';

const stack = (...args: string[]) => promisify(execFile)('bash', [`${REPO_ROOT}/infra/stack.sh`, ...args]);
/**
 * Longer than the 2 minutes a fixed bridge needs to prove itself, because an unfixed one survives
 * about that long: its starts blocked ~21 s (the SDK's gRPC retries) and it heartbeated only after
 * its own backoff, so the gap between heartbeats passed the 30 s session timeout once the backoff
 * reached 15 s, about 2.6 minutes into the outage.
 */
const OUTAGE_MS = 180_000;
const BRIDGES = ['bridge-1', 'bridge-2'];

describe('bridge: Temporal down for 3 minutes', { timeout: 900_000 }, () => {
  let p: WatchedPlatform;

  before(async () => {
    p = await startWatchedPlatform({ bridges: 2, workers: 1 });
  });

  after(async () => {
    await p?.stop();
  });

  async function temporalAnswers(): Promise<boolean> {
    const client = await createTemporalClient(p.config.temporal);
    try {
      await client.workflowService.describeNamespace({ namespace: p.config.temporal.namespace });
      return true;
    } finally {
      await client.connection.close();
    }
  }

  it('keeps the group, commits nothing early, and drains the backlog afterwards', async () => {
    const eventType = `outage_${randomUUID().slice(0, 8)}`;
    const ids: string[] = [];
    const post = async (i: number) => {
      const res = await postJson(`${p.producerUrl}/events`, { event_type: eventType, user_id: `user-${i % 16}`, payload: { i } });
      assert.equal(res.status, 202);
      ids.push(res.body.event_id as string);
    };
    for (let i = 0; i < 20; i++) await post(i);
    for (const id of ids) await waitFor(`event ${id} stored`, () => getItem(p, id));
    await waitFor('the first events committed', async () =>
      (await rawTopicOffsets(p)).every((o) => o.committed === o.end || (o.end === 0 && o.committed === -1)),
    );
    const before = await rawTopicOffsets(p);
    // The reference the outage is compared with: a Stable group, each bridge having counted its join.
    const group = await stableGroup(p);
    assert.equal(group.members.length, 2);
    const joinsBefore = await waitUntil(
      'each bridge to count its join',
      () => Promise.all(BRIDGES.map((b) => bridgeMetric(p, b, 'bridge_group_joins_total'))),
      (joins) => joins.every((n) => n >= 1),
    );

    const samples: { state: string; members: string[] }[] = [];
    const committedDuringOutage: number[][] = [];
    await stack('stop', 'temporal');
    try {
      const until = Date.now() + OUTAGE_MS;
      let i = 20;
      while (Date.now() < until) {
        await post(i++);
        if (i % 5 === 0) {
          samples.push(await describeGroup(p));
          committedDuringOutage.push((await rawTopicOffsets(p)).map((o) => o.committed));
        }
        await new Promise((r) => setTimeout(r, 500)); // the posting rate, not a wait for a condition
      }
      for (const bridge of BRIDGES) {
        const ready = await bridgeReady(p, bridge);
        if (ready.body.problems.length > 0) assert.equal(ready.status, 503);
      }
      assert.ok(
        (await Promise.all(BRIDGES.map((b) => bridgeReady(p, b)))).some(
          (r) => r.status === 503 && r.body.problems.some((l) => /Temporal is unreachable/.test(l)),
        ),
        'a bridge with a backlog reports Temporal as unreachable',
      );
    } finally {
      await stack('start', 'temporal');
      await waitFor('Temporal to answer again', temporalAnswers, { timeoutMs: 120_000, intervalMs: 1_000 });
    }

    // The group kept its members throughout: no eviction, no rebalance storm.
    for (const s of samples) {
      assert.deepEqual(s.members, group.members, `members changed during the outage: ${JSON.stringify(samples)}`);
      assert.equal(s.state, 'Stable');
    }
    const joinsAfter = await Promise.all(BRIDGES.map((b) => bridgeMetric(p, b, 'bridge_group_joins_total')));
    assert.deepEqual(joinsAfter, joinsBefore, 'no member rejoined its group');
    // Nothing could start while Temporal was down, so nothing was committed past the pre-outage ends.
    for (const committed of committedDuringOutage)
      assert.deepEqual(
        committed,
        before.map((o) => o.committed),
      );

    // The backlog drains: every event exactly once, nothing dead-lettered.
    const back = Date.now();
    for (const id of ids) await waitFor(`event ${id} stored`, () => getItem(p, id), { timeoutMs: 240_000 });
    assert.equal(await countByType(p, eventType), ids.length);
    assert.equal(new Set(ids).size, ids.length);
    await waitFor('every record committed', async () => (await rawTopicOffsets(p)).every((o) => o.committed === o.end || (o.end === 0 && o.committed === -1)));
    assert.deepEqual(p.dlq.records, []);
    for (const bridge of BRIDGES) await waitFor(`${bridge} ready again`, async () => (await bridgeReady(p, bridge)).status === 200);
    process.stdout.write(
      `# ${ids.length} events, ${ids.length - 20} posted during the ${OUTAGE_MS / 1000} s outage; ${samples.length} group samples, all Stable with the same members; backlog stored ${((Date.now() - back) / 1000).toFixed(1)} s after Temporal answered\n`,
    );
  });
});
