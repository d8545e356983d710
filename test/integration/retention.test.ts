/**
 * Hot-table retention on the real local DynamoDB server, which has no TTL (as provisioning says):
 * GraphQL never serves an event older than HOT_RETENTION_DAYS, deleted yet or not, and the
 * workers' sweep deletes those items through the time index, leaving the others. Events of 1, 3
 * and 10 days ago against 2 days of retention; the platform's own processor runs the sweep.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { putEventItem } from '../../src/aws/hotTable';
import { provisionTable } from '../../src/provisioning';
import { getItem, graphql } from '../support/clients';
import { makeEnvelope } from '../support/events';
import { quietLogger, startPlatform, type Platform } from '../support/platform';
import { waitFor } from '../support/wait';

const DAY = 86_400_000;
let p: Platform;

before(async () => {
  p = await startPlatform({ processors: 1, env: { HOT_RETENTION_DAYS: '2', HOT_SWEEP_INTERVAL_MS: '2000' } });
});
after(async () => {
  await p?.stop();
});

it('expired events are never served and the sweep deletes them; the others stay', { timeout: 120_000 }, async () => {
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
