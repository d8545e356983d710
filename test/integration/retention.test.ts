/**
 * Hot-table retention on the real local DynamoDB server, which has no TTL (as provisioning says):
 * GraphQL never serves an event older than HOT_RETENTION_DAYS, deleted yet or not, and the
 * workers' sweep deletes those items through the time index, leaving the others. Events of 1, 3
 * and 10 days ago against 2 days of retention; the platform's own processor runs the sweep.
 * An event posted already older than that (a late event) is accepted into the archive only.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import { Analytics } from '@segment/analytics-node';
import { putEventItem } from '../../src/store/hot/writer';
import { archiveKey } from '../../src/store/archive/layout';
import type { EventEnvelope } from '../../src/events/event';
import { readTopicToEnd } from '../../src/platform/kafka/readToEnd';
import { eventIdForMessageId } from '../../src/producer/segment';
import { provisionTable } from '../../src/ops/provisioning';
import { getItem, getObject, graphql, postJson } from '../support/clients';
import { makeEnvelope } from '../support/events';
import { quietLogger, startPlatform, type Platform } from '../support/platform';
import { waitFor } from '../support/wait';
import { HANG_TIMEOUT_MS } from '../support/timeouts';

const DAY = 86_400_000;
let p: Platform;

before(async () => {
  p = await startPlatform({ processors: 1, env: { HOT_RETENTION_DAYS: '2', HOT_SWEEP_INTERVAL_MS: '2000' } });
});
after(async () => {
  await p?.stop();
});

it('expired events are never served and the sweep deletes them; the others stay', { timeout: HANG_TIMEOUT_MS }, async () => {
  assert.match(await provisionTable(p.config, { logger: quietLogger }), /no TTL: the workers' sweep deletes expired items/);
  const ages = [1, 3, 10];
  const events = ages.map((days) =>
    makeEnvelope({ event_type: 'retention', user_id: 'u-retention', timestamp: new Date(Date.now() - days * DAY).toISOString() }),
  );
  for (const event of events)
    assert.equal(
      await putEventItem({ dynamo: p.dynamo, table: p.config.aws.table, latestIndexShards: p.config.latestIndexShards, hotRetentionDays: 2 }, event),
      'stored',
    );
  const [fresh, old, older] = events.map((e) => e.event_id) as [string, string, string];

  // Served or not, whatever the sweep has done so far.
  const lists = await graphql<Record<string, { eventId: string }[]>>(
    p,
    '{ byType: eventsByType(eventType: "retention") { eventId } byUser: eventsByUser(userId: "u-retention") { eventId } latest: latestEvents(limit: 100) { eventId } }',
  );
  for (const name of ['byType', 'byUser', 'latest'])
    assert.deepEqual(
      lists.data?.[name]?.map((e) => e.eventId).filter((id) => events.some((e) => e.event_id === id)),
      [fresh],
      name,
    );
  for (const [id, served] of [
    [fresh, true],
    [old, false],
    [older, false],
  ] as const) {
    const one = await graphql<{ event: { eventId: string } | null }>(p, `{ event(eventId: "${id}") { eventId } }`);
    assert.equal(one.data?.event?.eventId ?? null, served ? id : null);
  }

  await waitFor('the sweep to delete the expired items', async () => (await getItem(p, old)) === undefined && (await getItem(p, older)) === undefined, {
    timeoutMs: 60_000,
  });
  assert.ok(await getItem(p, fresh), 'the event within retention stays');
  assert.ok(
    p.output('processor-1').some((line) => line.includes('expired items deleted')),
    'the processor logged its sweep',
  );
});

it(
  'a late event (older than HOT_RETENTION_DAYS on arrival) is accepted, archived, never written to the hot table nor announced, and its run completes',
  { timeout: HANG_TIMEOUT_MS },
  async () => {
    const user = `u-late-${randomUUID()}`;
    const late = new Date(Date.now() - 10 * DAY).toISOString();
    const fresh = new Date(Date.now() - 60_000).toISOString();

    const one = await postJson(`${p.producerUrl}/events`, { event_type: 'late', user_id: user, timestamp: late });
    assert.equal(one.status, 202);
    assert.equal(one.body.status, 'accepted');
    assert.equal(one.body.stored, 'archive');
    assert.match(String(one.body.message), /older than HOT_RETENTION_DAYS \(2 days\): archived only/);

    const batch = await postJson(`${p.producerUrl}/events/batch`, {
      events: [
        { event_type: 'late', user_id: user, timestamp: late },
        { event_type: 'fresh', user_id: user, timestamp: fresh },
      ],
    });
    assert.equal(batch.status, 202);
    const results = batch.body.results as { event_id: string; status: string; stored?: string }[];
    assert.deepEqual(
      results.map((r) => [r.status, r.stored]),
      [
        ['accepted', 'archive'],
        ['accepted', undefined],
      ],
    );

    const segment = await postJson(`${p.producerUrl}/v1/batch`, {
      batch: [{ type: 'track', event: 'Late', userId: user, messageId: `late-${user}`, timestamp: late }],
    });
    assert.equal(segment.status, 200);
    const archiveOnly = segment.body.archiveOnly as { field: string; message: string }[];
    assert.deepEqual(
      archiveOnly.map((a) => a.field),
      ['batch[0].timestamp'],
    );
    assert.match(archiveOnly[0]!.message, /older than HOT_RETENTION_DAYS/);

    // Segment's own SDK, sending a message its queue held for 10 days.
    const analytics = new Analytics({ writeKey: 'wk-open-stack-0123456789', host: p.producerUrl, flushAt: 1, flushInterval: 60_000 });
    const sdkErrors: unknown[] = [];
    analytics.on('error', (e) => sdkErrors.push(e));
    analytics.track({ userId: user, event: 'Queued Offline', messageId: `sdk-${user}`, timestamp: new Date(late) });
    await analytics.closeAndFlush({ timeout: 30_000 });
    assert.deepEqual(sdkErrors, []);

    const lateIds = [String(one.body.event_id), results[0]!.event_id, eventIdForMessageId(`late-${user}`), eventIdForMessageId(`sdk-${user}`)];
    const freshId = results[1]!.event_id;
    for (const id of lateIds) {
      const result = (await p.temporal.workflow.getHandle(id).result()) as { hot: string; cold: string; archive_key: string };
      assert.equal(result.hot, 'past-retention', id);
      assert.equal(result.cold, 'archived');
      const object = await getObject(p, result.archive_key);
      assert.ok(object, `${id} is in the archive`);
      const archived = JSON.parse(object.body) as EventEnvelope;
      assert.equal(archived.event_id, id);
      assert.equal(result.archive_key, archiveKey(archived));
      assert.equal(await getItem(p, id), undefined, `${id} has no item in the hot table`);
      const served = await graphql<{ event: { eventId: string } | null }>(p, `{ event(eventId: "${id}") { eventId } }`);
      assert.equal(served.data?.event ?? null, null);
    }
    assert.equal(((await p.temporal.workflow.getHandle(freshId).result()) as { hot: string }).hot, 'stored');
    assert.ok(await getItem(p, freshId), 'the fresh event of the same batch is in the hot table');

    // Announced to subscribers and the counter: the fresh event only.
    const announced: string[] = [];
    await readTopicToEnd(p.kafka, p.config.kafka.storedTopic, (m) => void announced.push(String(m.key)));
    assert.ok(announced.includes(freshId), 'the fresh event is announced');
    assert.deepEqual(
      lateIds.filter((id) => announced.includes(id)),
      [],
      'no late event is announced',
    );
  },
);
