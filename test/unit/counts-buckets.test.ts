import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bucketCount, bucketOf, bucketStarts, counterKey, dimensionKey, dimensionsOf, INTERVALS } from '../../src/store/counts/buckets';
import { parseInstant } from '../../src/graphql/arguments';

void describe('count buckets', () => {
  void it('puts the last millisecond of a bucket in it and the next one in the next bucket', () => {
    assert.equal(bucketOf('2026-11-26T10:59:59.999Z', 'HOUR'), '2026-11-26T10:00:00.000Z');
    assert.equal(bucketOf('2026-11-26T11:00:00.000Z', 'HOUR'), '2026-11-26T11:00:00.000Z');
    assert.equal(bucketOf('2026-11-26T23:59:59.999Z', 'DAY'), '2026-11-26T00:00:00.000Z');
    assert.equal(bucketOf('1970-01-01T00:00:59.999Z', 'MINUTE'), '1970-01-01T00:00:00.000Z');
    assert.equal(bucketOf('2028-02-29T12:00:00.000Z', 'DAY'), '2028-02-29T00:00:00.000Z');
  });

  void it('lists exactly the buckets that overlap [from, to), and counts them without listing', () => {
    let seed = 7;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 2_000; i++) {
      const interval = INTERVALS[i % 3]!;
      const from = Date.parse('2026-01-01T00:00:00Z') + Math.floor(random() * 400 * 86_400_000);
      const to = from + 1 + Math.floor(random() * [3 * 3_600_000, 5 * 86_400_000, 90 * 86_400_000][i % 3]!);
      const starts = bucketStarts(from, to, interval);
      assert.equal(bucketCount(from, to, interval), starts.length);
      assert.ok(starts[0]! <= from && starts.at(-1)! < to, `${interval} ${from} ${to}`);
      assert.equal(new Date(starts[0]!).toISOString(), bucketOf(new Date(from).toISOString(), interval));
    }
    assert.equal(bucketCount(10, 10, 'MINUTE'), 0);
  });

  void it('gives every filter its own key: no type or user can be mistaken for another', () => {
    const keys = [
      dimensionKey({}),
      dimensionKey({ eventType: 'a' }),
      dimensionKey({ userId: 'a' }),
      dimensionKey({ eventType: 'a', userId: 'b' }),
      dimensionKey({ userId: 't:a|u:b' }),
      dimensionKey({ userId: 'all' }),
      dimensionKey({ eventType: 'a', userId: '|u:b' }),
    ];
    assert.equal(new Set(keys).size, keys.length, keys.join(' / '));
    assert.deepEqual(dimensionsOf({ event_type: 'click', user_id: 'u 1' }), ['all', 't:click', 'u:u 1', 't:click|u:u 1']);
    assert.equal(counterKey('DAY', 'all'), 'DAY|all');
  });

  void it('reads instants with a zone only, and only dates that exist', () => {
    assert.equal(parseInstant('2026-11-26T11:00:00+01:00'), Date.parse('2026-11-26T10:00:00Z'));
    assert.equal(parseInstant('2026-11-26T10:00Z'), Date.parse('2026-11-26T10:00:00Z'));
    assert.equal(parseInstant('2026-11-26t10:00:00.123456z'), Date.parse('2026-11-26T10:00:00.123Z'));
    for (const bad of ['2026-11-26T10:00:00', '2026-02-30T00:00:00Z', '2026-11-26T24:00:00Z', '2026-11-26', 'now', '', 12, null]) {
      assert.equal(parseInstant(bad), undefined, String(bad));
    }
  });
});
