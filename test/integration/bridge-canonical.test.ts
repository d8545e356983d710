/**
 * Records written straight to the raw topic (a supported path: Kafka's console tools, another
 * client) in forms the producer never writes: an upper-case event_id, an offset timestamp, no
 * milliseconds, nine fraction digits. The bridge hands the workflow the producer's canonical form,
 * so each is stored, archived, counted and served exactly as a POSTed copy would be, and the same
 * event in two spellings is one event. A form that cannot be normalised is dead-lettered.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { getObject, graphql, listKeys, countsCaughtUp, startWatchedPlatform } from '../support/clients';
import { platformPerSuite } from '../support/platform';
import { waitFor } from '../support/wait';
import { HANG_TIMEOUT_MS } from '../support/timeouts';

describe('bridge: non-canonical envelopes on the raw topic', { timeout: HANG_TIMEOUT_MS }, () => {
  const platform = platformPerSuite(() => startWatchedPlatform({ processors: 1 }));

  it('are stored, archived, counted and served in the canonical form, once per event; what cannot be normalised is dead-lettered', async () => {
    const p = platform();
    const type = `canon_${randomUUID().slice(0, 8)}`;
    const user = `user-${randomUUID()}`;
    const a = randomUUID();
    const b = randomUUID();
    const bad = randomUUID();
    const envelope = (fields: Record<string, unknown>) =>
      JSON.stringify({ schema_version: 1, event_type: type, user_id: user, received_at: '2026-11-26T02:00:00Z', payload: { n: 1 }, ...fields });
    const records = [
      // 23:30 at -02:00 is 01:30 UTC the next day: the local text sorts and buckets on the wrong day.
      envelope({ event_id: a.toUpperCase(), timestamp: '2026-11-25T23:30:00-02:00' }),
      // The same event again, as the producer would spell it: must not be a second event.
      envelope({ event_id: a, timestamp: '2026-11-26T01:30:00.000Z', received_at: '2026-11-26T02:00:00.000Z' }),
      envelope({ event_id: b, timestamp: '2026-11-26T01:00:00.123456789+00:00' }),
      envelope({ event_id: `{${bad}}`, timestamp: '2026-11-26T01:00:00Z' }),
    ];
    const kafka = new Kafka({ clientId: 'canonical-test', brokers: p.config.kafka.brokers, logLevel: logLevel.NOTHING });
    const raw = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await raw.connect();
    try {
      await raw.send({ topic: p.config.kafka.topic, acks: -1, messages: records.map((value) => ({ key: user, value })) });
    } finally {
      await raw.disconnect();
    }

    const dead = await waitFor('the braced id dead-lettered', () => p.dlq.records.find((r) => JSON.stringify(r.original).includes(bad)), {
      timeoutMs: 120_000,
    });
    assert.equal(dead.error.stage, 'bridge');
    assert.deepEqual(
      dead.error.fields?.map((f) => f.field),
      ['event_id'],
    );

    type Ev = { eventId: string; timestamp: string; receivedAt: string; cursor: string };
    const fields = 'eventId timestamp receivedAt cursor';
    const byType = async (extra = '') => {
      const out = await graphql<{ eventsByType: Ev[] }>(p, `{ eventsByType(eventType: "${type}"${extra}) { ${fields} } }`);
      assert.equal(out.errors, undefined, JSON.stringify(out.errors));
      return out.data!.eventsByType;
    };
    // The later record of `a` was in the same partition, behind the dead-lettered one: all were read.
    await waitFor('both events served', async () => (await byType()).length === 2, { timeoutMs: 120_000 });
    await waitFor('the processor to finish every record', async () => {
      const runs = await p.temporal.workflow.count(`TaskQueue = '${p.config.temporal.taskQueue}' AND ExecutionStatus = 'Completed'`);
      return runs.count === 2;
    });

    const events = await byType();
    assert.deepEqual(
      events.map((e) => [e.eventId, e.timestamp, e.receivedAt]),
      [
        [a, '2026-11-26T01:30:00.000Z', '2026-11-26T02:00:00.000Z'],
        [b, '2026-11-26T01:00:00.123Z', '2026-11-26T02:00:00.000Z'],
      ],
      'one copy of a, newest first, both in the canonical form',
    );
    // Paging through the cursor of each: an item whose sort key is not canonical had a refused cursor.
    const page1 = await byType(', limit: 1');
    assert.equal(page1[0]!.eventId, a);
    const page2 = await byType(`, limit: 1, after: "${page1[0]!.cursor}"`);
    assert.deepEqual(
      page2.map((e) => e.eventId),
      [b],
    );
    assert.deepEqual(await byType(`, limit: 1, after: "${page2[0]!.cursor}"`), []);
    // event(eventId) lower-cases what it is given: it finds the item in either spelling.
    for (const id of [a, a.toUpperCase()]) {
      const one = await graphql<{ event: Ev | null }>(p, `{ event(eventId: "${id}") { eventId } }`);
      assert.equal(one.data?.event?.eventId, a, `event(eventId: "${id}")`);
    }

    // S3: under the UTC day of the instant, in the canonical form; nothing under the local day.
    const key = `events/2026/11/26/${a}.json`;
    const object = await waitFor(`the archive object ${key}`, () => getObject(p, key));
    assert.deepEqual(JSON.parse(object.body), {
      schema_version: 1,
      event_id: a,
      event_type: type,
      user_id: user,
      timestamp: '2026-11-26T01:30:00.000Z',
      received_at: '2026-11-26T02:00:00.000Z',
      payload: { n: 1 },
    });
    assert.deepEqual(await listKeys(p, 'events/2026/11/25/'), []);
    assert.deepEqual((await listKeys(p, 'events/2026/11/26/')).sort(), [`events/2026/11/26/${a}.json`, `events/2026/11/26/${b}.json`].sort());

    // Counts: both in the 01:00 UTC hour, a counted once.
    await countsCaughtUp(p);
    const counts = await graphql<{ eventCounts: { start: string; count: number }[] }>(
      p,
      `{ eventCounts(eventType: "${type}", from: "2026-11-25T23:00:00Z", to: "2026-11-26T03:00:00Z", interval: HOUR) { start count } }`,
    );
    assert.deepEqual(
      counts.data?.eventCounts.filter((c) => c.count > 0),
      [{ start: '2026-11-26T01:00:00.000Z', count: 2 }],
      JSON.stringify(counts),
    );
  });
});
