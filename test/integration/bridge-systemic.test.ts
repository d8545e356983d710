/**
 * A Temporal setup that rejects every workflow start (here: a namespace without the platform's
 * search attributes, so every start is INVALID_ARGUMENT) must not drain the raw topic into the
 * DLQ. The bridges back off, commit nothing, say why on /ready; once the attributes are
 * registered, every event is processed.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { temporal as proto } from '@temporalio/proto';
import { createTemporalClient } from '../../src/platform/temporal/connection';
import { SEARCH_ATTRIBUTES } from '../../workflows/contract';
import { bridgeMetric, bridgeReady, rawTopicOffsets } from '../support/bridge';
import { countByType, getItem, postJson, startWatchedPlatform, type WatchedPlatform } from '../support/clients';
import { configFor } from '../support/platform';
import { waitFor } from '../support/wait';
import { HANG_TIMEOUT_MS } from '../support/timeouts';

const BRIDGES = ['bridge-1', 'bridge-2'];

describe('bridge: Temporal rejects every start (search attributes not registered)', { timeout: HANG_TIMEOUT_MS }, () => {
  const namespace = `events-test-ns-${randomBytes(4).toString('hex')}`;
  let admin: Client;
  let p: WatchedPlatform;

  before(async () => {
    admin = await createTemporalClient(configFor({}).temporal);
    await admin.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
    await waitFor('the namespace to be usable', () => admin.workflowService.describeNamespace({ namespace }).then(() => true));
    // Provisioning registers the search attributes on the namespace (the workers need it to exist).
    p = await startWatchedPlatform({ bridges: 2, workers: 1, env: { TEMPORAL_NAMESPACE: namespace } });
  });

  after(async () => {
    await p?.stop();
    await admin?.connection.operatorService.deleteNamespace({ namespace }).catch(() => undefined);
    await admin?.connection.close();
  });

  it('nothing is dead-lettered or committed, /ready says why; after the fix every event is stored', async () => {
    await admin.connection.operatorService.removeSearchAttributes({ namespace, searchAttributes: Object.values(SEARCH_ATTRIBUTES) });

    const eventType = `systemic_${randomUUID().slice(0, 8)}`;
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      // Users spread the events over the 4 partitions, so both bridges hit the rejection.
      const res = await postJson(`${p.producerUrl}/events`, { event_type: eventType, user_id: `user-${i}`, payload: { i } });
      assert.equal(res.status, 202);
      ids.push(res.body.event_id as string);
    }
    // The longest event_type and user_id, in a script of 3-byte characters: still one summary.
    const long = await postJson(`${p.producerUrl}/events`, { event_type: 'x'.repeat(128), user_id: '中'.repeat(256), payload: {} });
    assert.equal(long.status, 202);
    ids.push(long.body.event_id as string);

    // Both bridges back off on the rejection, several steps each.
    for (const bridge of BRIDGES) {
      const ready = await waitFor(
        `${bridge} /ready to report the rejection`,
        async () => {
          const r = await bridgeReady(p, bridge);
          return r.status === 503 && r.body.problems.some((l) => /rejects every workflow start/.test(l)) && r;
        },
        { timeoutMs: 60_000 },
      );
      // The public probe names the dependency and the status; the server's words are in the log.
      assert.match(ready.body.problems.join('\n'), /rejects every workflow start \(fix the namespace setup\) \(INVALID_ARGUMENT\)/);
      assert.doesNotMatch(JSON.stringify(ready.body), /search attribute|mapping/i);
      await waitFor(`${bridge} to retry a few times`, async () => (await bridgeMetric(p, bridge, 'bridge_start_systemic_failures_total')) >= 3, {
        timeoutMs: 60_000,
      });
    }
    // One error line per backoff step and partition, standing for every record of the window.
    for (const bridge of BRIDGES) {
      const steps = p.output(bridge).flatMap((l) => {
        if (!l.startsWith('{')) return [];
        const line = JSON.parse(l) as { msg?: string; partition?: number; step?: number; error?: string };
        if (!line.msg?.startsWith('Temporal rejects every workflow start')) return [];
        assert.match(line.error ?? '', /no mapping defined for search attribute/, 'the log line has the detail');
        return [`${line.partition}/${line.step}`];
      });
      assert.ok(steps.length > 0);
      assert.equal(new Set(steps).size, steps.length, `${bridge}: one line per partition and step: ${steps.join(' ')}`);
    }

    assert.deepEqual(p.dlq.records, [], 'nothing dead-lettered');
    const offsets = await rawTopicOffsets(p);
    assert.ok(
      offsets.every((o) => o.committed <= 0),
      `nothing committed: ${JSON.stringify(offsets)}`,
    );
    for (const bridge of BRIDGES) assert.equal(await bridgeMetric(p, bridge, 'bridge_records_dead_lettered_total'), 0);

    // The fix an operator would make: register the attributes.
    const keyword = proto.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
    await admin.connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(Object.values(SEARCH_ATTRIBUTES).map((name) => [name, keyword])),
    });

    for (const id of ids) await waitFor(`event ${id} stored`, () => getItem(p, id), { timeoutMs: 120_000 });
    assert.equal(await countByType(p, eventType), 40);
    await waitFor('every record committed', async () => (await rawTopicOffsets(p)).every((o) => o.committed === o.end || (o.end === 0 && o.committed === -1)));
    for (const bridge of BRIDGES) {
      await waitFor(`${bridge} ready again`, async () => (await bridgeReady(p, bridge)).status === 200);
    }
    assert.deepEqual(p.dlq.records, [], 'still nothing dead-lettered');
    const longItem = await getItem(p, long.body.event_id as string);
    assert.equal(longItem?.user_id, '中'.repeat(256));
  });
});
