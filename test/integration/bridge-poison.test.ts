/**
 * One record must not stop the bridges: a ~1 MB binary record written straight to the raw topic
 * (a raw kafkajs producer, as Kafka's console tools or any client could) is too large for the DLQ
 * once wrapped in JSON. It is dead-lettered cut down, the bridges keep consuming, and none dies.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { bridgeMetric, bridgeReady } from '../support/bridge';
import { getItem, postJson, startWatchedPlatform, type WatchedPlatform } from '../support/clients';
import { waitFor, waitUntil } from '../support/wait';
import { HANG_TIMEOUT_MS } from '../support/timeouts';

const BRIDGES = ['bridge-1', 'bridge-2'] as const;

describe('bridge: an oversized non-JSON record on the raw topic', { timeout: HANG_TIMEOUT_MS }, () => {
  let p: WatchedPlatform;

  before(async () => {
    p = await startWatchedPlatform({ bridges: 2, workers: 1 });
  });

  after(async () => {
    await p?.stop();
  });

  it('is dead-lettered cut down (source position, size, SHA-256, prefix); the events after it are stored; no bridge dies', async () => {
    // What the record must not do is crash a bridge. A consumer may have crashed before it, which
    // kafkajs restarts (on a cluster just started, the group coordinator may still be loading
    // when the bridges join): count from when both consume.
    const crashesBefore = new Map<string, number>();
    for (const bridge of BRIDGES) {
      await waitUntil(
        `${bridge} consuming`,
        () => bridgeReady(p, bridge),
        (ready) => ready.status === 200 && ready.body.consumer === 'running',
      );
      crashesBefore.set(bridge, await bridgeMetric(p, bridge, 'bridge_consumer_crashes_total'));
    }
    const userId = `user-${randomUUID()}`;
    // Random bytes: not JSON, not even UTF-8, and about 2.5 MB once escaped into a JSON string.
    const value = Buffer.concat([Buffer.from('BINARY:'), randomBytes(1_000_000)]);
    const kafka = new Kafka({ clientId: 'poison-test', brokers: p.config.kafka.brokers, logLevel: logLevel.NOTHING });
    const raw = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await raw.connect();
    let written: { partition: number; baseOffset?: string };
    try {
      const [meta] = await raw.send({ topic: p.config.kafka.topic, acks: -1, messages: [{ key: userId, value }] });
      written = { partition: meta!.partition, baseOffset: meta!.baseOffset };
    } finally {
      await raw.disconnect();
    }

    // Normal events after it: the same user (the same partition, behind the record) and others.
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await postJson(`${p.producerUrl}/events`, { event_type: 'after_poison', user_id: i < 10 ? userId : `other-${i}`, payload: { i } });
      assert.equal(res.status, 202);
      ids.push(res.body.event_id as string);
    }
    for (const id of ids) await waitFor(`event ${id} stored`, () => getItem(p, id), { timeoutMs: 120_000 });

    const record = await waitFor('the cut-down dead letter', () => p.dlq.records.find((r) => r.source?.key === userId));
    assert.deepEqual(record.source, { topic: p.config.kafka.topic, partition: written.partition, offset: written.baseOffset, key: userId });
    assert.equal(record.error.stage, 'bridge');
    assert.equal(record.error.type, 'InvalidRecord');
    assert.equal(record.truncated?.original_bytes, value.length);
    assert.equal(record.truncated?.sha256, createHash('sha256').update(value).digest('hex'));
    assert.equal(typeof record.original, 'string');
    assert.ok((record.original as string).startsWith('BINARY:'), 'a prefix of the value');
    assert.ok(value.toString('utf8').startsWith(record.original as string));
    assert.equal(p.dlq.records.length, 1, 'only that record was dead-lettered');

    for (const bridge of BRIDGES) {
      const ready = await bridgeReady(p, bridge);
      assert.equal(ready.status, 200, `${bridge} /ready: ${JSON.stringify(ready.body)}`);
      assert.equal(ready.body.consumer, 'running');
      assert.equal(await bridgeMetric(p, bridge, 'bridge_consumer_crashes_total'), crashesBefore.get(bridge), `${bridge} did not crash on the record`);
    }
    // The bridge counts the dead letter once the DLQ acknowledged it, which may come after the
    // watcher read it.
    const deadLettered = await waitUntil(
      'the bridges to count the dead letter',
      async () =>
        (await bridgeMetric(p, 'bridge-1', 'bridge_records_dead_lettered_total')) + (await bridgeMetric(p, 'bridge-2', 'bridge_records_dead_lettered_total')),
      (n) => n >= 1,
    );
    assert.equal(deadLettered, 1);
  });
});
