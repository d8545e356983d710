/**
 * The batching producer: concurrent sends share one Kafka produce request, callers learn the
 * outcome only when Kafka answered, and failures or silence become KafkaUnavailableError.
 * Time is driven with mock timers; Kafka is a fake whose answers the test releases by hand.
 */
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import type { Message, ProducerRecord, RecordMetadata } from 'kafkajs';
import {
  createBatchingProducer,
  KafkaUnavailableError,
  ProducerOverloadedError,
  RECORD_OVERHEAD_BYTES,
  type BatchingProducerOptions,
} from '../../src/producer/batcher';

interface Deferred {
  resolve: (value: RecordMetadata[]) => void;
  reject: (err: unknown) => void;
}

/** A fake kafkajs producer: records every send; each send waits until the test settles it. */
function fakeProducer() {
  const calls: ProducerRecord[] = [];
  const pending: Deferred[] = [];
  return {
    calls,
    pending,
    send(record: ProducerRecord): Promise<RecordMetadata[]> {
      calls.push(record);
      return new Promise<RecordMetadata[]>((resolve, reject) => pending.push({ resolve, reject }));
    },
    settle(index: number, outcome: 'ack' | Error): void {
      const d = pending[index];
      assert.ok(d, `producer.send #${index} was made`);
      if (outcome === 'ack') d.resolve([]);
      else d.reject(outcome);
    },
  };
}

/** Lets every already-resolved promise callback run (setImmediate is not mocked). */
const drainMicrotasks = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Watches a promise: `state()` says whether it has settled yet and how. */
function watch(promise: Promise<void>) {
  let state: 'pending' | 'resolved' | 'rejected' = 'pending';
  let error: unknown;
  const done = promise.then(
    () => {
      state = 'resolved';
    },
    (err: unknown) => {
      state = 'rejected';
      error = err;
    },
  );
  return { state: () => state, error: () => error, done };
}

const message = (i: number): Message => ({ key: `user-${i % 7}`, value: `{"n":${i}}` });

const OPTIONS: BatchingProducerOptions = { topic: 'events.raw', lingerMs: 5, maxBatchRecords: 1000, maxBatchBytes: 1_000_000, timeoutMs: 10_000 };

void describe('createBatchingProducer', () => {
  beforeEach(() => {
    mock.timers.enable({ apis: ['setTimeout'] });
  });
  afterEach(() => {
    mock.timers.reset();
  });

  void it('coalesces 50 concurrent sends into one producer.send, in order, with acks=all on the topic', async () => {
    const kafka = fakeProducer();
    const batcher = createBatchingProducer(kafka, OPTIONS);
    const callers = Array.from({ length: 50 }, (_, i) => watch(batcher.send([message(i)])));

    await drainMicrotasks();
    assert.equal(kafka.calls.length, 0, 'nothing is sent before the linger window ends');

    mock.timers.tick(OPTIONS.lingerMs);
    assert.equal(kafka.calls.length, 1, 'one produce request for the whole window');
    const record = kafka.calls[0];
    assert.ok(record);
    assert.equal(record.topic, 'events.raw');
    assert.equal(record.acks, -1);
    assert.deepEqual(
      record.messages,
      Array.from({ length: 50 }, (_, i) => message(i)),
    );

    await drainMicrotasks();
    assert.deepEqual(new Set(callers.map((c) => c.state())), new Set(['pending']), 'no caller resolves before Kafka acknowledged');

    kafka.settle(0, 'ack');
    await Promise.all(callers.map((c) => c.done));
    assert.deepEqual(new Set(callers.map((c) => c.state())), new Set(['resolved']));
    assert.equal(kafka.calls.length, 1);
  });

  void it('keeps a caller with several messages together and in order', async () => {
    const kafka = fakeProducer();
    const batcher = createBatchingProducer(kafka, OPTIONS);
    const a = watch(batcher.send([message(1), message(2)]));
    const b = watch(batcher.send([message(3)]));
    mock.timers.tick(OPTIONS.lingerMs);
    assert.deepEqual(kafka.calls[0]?.messages, [message(1), message(2), message(3)]);
    kafka.settle(0, 'ack');
    await Promise.all([a.done, b.done]);
    assert.equal(a.state(), 'resolved');
    assert.equal(b.state(), 'resolved');
  });

  void it('caps a batch at maxBatchRecords: 25 queued with a cap of 10 make 3 sends of 10, 10 and 5', async () => {
    const kafka = fakeProducer();
    const batcher = createBatchingProducer(kafka, { ...OPTIONS, maxBatchRecords: 10 });
    const callers = Array.from({ length: 25 }, (_, i) => watch(batcher.send([message(i)])));

    assert.equal(kafka.calls.length, 2, 'full batches go out without waiting for the linger window');
    mock.timers.tick(OPTIONS.lingerMs);
    assert.equal(kafka.calls.length, 3);
    assert.deepEqual(
      kafka.calls.map((c) => c.messages.length),
      [10, 10, 5],
    );
    assert.deepEqual(
      kafka.calls.flatMap((c) => c.messages),
      Array.from({ length: 25 }, (_, i) => message(i)),
    );

    kafka.settle(0, 'ack');
    await drainMicrotasks();
    assert.deepEqual(
      callers.map((c) => c.state()),
      [...Array<string>(10).fill('resolved'), ...Array<string>(15).fill('pending')],
      'each caller waits for its own batch only',
    );
    kafka.settle(1, 'ack');
    kafka.settle(2, 'ack');
    await Promise.all(callers.map((c) => c.done));
    assert.ok(callers.every((c) => c.state() === 'resolved'));
  });

  void it('splits one large send across requests within the caps; its caller waits for all of them', async () => {
    const kafka = fakeProducer();
    const batcher = createBatchingProducer(kafka, { ...OPTIONS, maxBatchRecords: 10 });
    const caller = watch(batcher.send(Array.from({ length: 25 }, (_, i) => message(i))));
    assert.deepEqual(
      kafka.calls.map((c) => c.messages.length),
      [10, 10, 5],
    );
    kafka.settle(0, 'ack');
    kafka.settle(1, 'ack');
    await drainMicrotasks();
    assert.equal(caller.state(), 'pending', 'one request still unacknowledged');
    kafka.settle(2, new Error('NOT_LEADER_FOR_PARTITION'));
    await caller.done;
    assert.equal(caller.state(), 'rejected');
    const err = caller.error();
    assert.ok(err instanceof KafkaUnavailableError);
    assert.deepEqual(err.acknowledged, [...Array<boolean>(20).fill(true), ...Array<boolean>(5).fill(false)], 'what was written, per message');
  });

  void it('caps a request by bytes: records near the size limit never make an oversized request', async () => {
    const kafka = fakeProducer();
    const big = (i: number): Message => ({ key: 'u', value: 'x'.repeat(399) + String(i) });
    const batcher = createBatchingProducer(kafka, { ...OPTIONS, maxBatchBytes: 1_000 });
    const callers = [0, 1, 2, 3, 4].map((i) => watch(batcher.send([big(i)])));
    mock.timers.tick(OPTIONS.lingerMs);
    assert.deepEqual(
      kafka.calls.flatMap((c) => c.messages),
      [0, 1, 2, 3, 4].map(big),
      'every record, in order',
    );
    assert.ok(kafka.calls.length >= 3, 'five 401-byte records need at least three 1000-byte requests');
    for (const call of kafka.calls) {
      assert.ok(call.messages.reduce((n, m) => n + String(m.value).length + String(m.key).length, 0) <= 1_000);
    }
    kafka.calls.forEach((_, i) => kafka.settle(i, 'ack'));
    await Promise.all(callers.map((c) => c.done));
    assert.ok(callers.every((c) => c.state() === 'resolved'));
  });

  void it('rejects every caller of a failed batch with KafkaUnavailableError naming the cause, and a later batch still works', async () => {
    const kafka = fakeProducer();
    const flushes: { records: number; error?: unknown }[] = [];
    const batcher = createBatchingProducer(kafka, { ...OPTIONS, onFlush: (records, _ms, error) => flushes.push({ records, error }) });
    const callers = Array.from({ length: 3 }, (_, i) => watch(batcher.send([message(i)])));
    mock.timers.tick(OPTIONS.lingerMs);
    const cause = new Error('Connection error: broker down');
    kafka.settle(0, cause);
    await Promise.all(callers.map((c) => c.done));

    for (const c of callers) {
      assert.equal(c.state(), 'rejected');
      const err = c.error();
      assert.ok(err instanceof KafkaUnavailableError, `got ${String(err)}`);
      assert.equal(err.name, 'KafkaUnavailableError');
      assert.match(err.message, /broker down/);
      assert.equal(err.cause, cause);
    }
    assert.equal(flushes.length, 1);
    assert.equal(flushes[0]?.records, 3);
    assert.equal(flushes[0]?.error, cause);

    const later = watch(batcher.send([message(99)]));
    mock.timers.tick(OPTIONS.lingerMs);
    assert.equal(kafka.calls.length, 2);
    assert.deepEqual(kafka.calls[1]?.messages, [message(99)]);
    kafka.settle(1, 'ack');
    await later.done;
    assert.equal(later.state(), 'resolved');
    assert.equal(flushes[1]?.error, undefined);
  });

  void it('rejects callers with KafkaUnavailableError when producer.send never settles within timeoutMs', async () => {
    const kafka = fakeProducer();
    const batcher = createBatchingProducer(kafka, { ...OPTIONS, timeoutMs: 2_000 });
    const callers = [watch(batcher.send([message(1)])), watch(batcher.send([message(2)]))];
    mock.timers.tick(OPTIONS.lingerMs);
    assert.equal(kafka.calls.length, 1);
    assert.equal(kafka.calls[0]?.timeout, 2_000, 'the broker-side timeout matches');

    mock.timers.tick(1_999);
    await drainMicrotasks();
    assert.ok(
      callers.every((c) => c.state() === 'pending'),
      'still waiting just before the timeout',
    );

    mock.timers.tick(1);
    await Promise.all(callers.map((c) => c.done));
    for (const c of callers) {
      assert.equal(c.state(), 'rejected');
      const err = c.error();
      assert.ok(err instanceof KafkaUnavailableError, `got ${String(err)}`);
      assert.match(err.message, /2000 ms/);
    }
    // A late answer from Kafka changes nothing (and raises no unhandled rejection).
    kafka.settle(0, new Error('late failure'));
    await drainMicrotasks();
  });

  void it('flush() sends what is queued at once and waits for every in-flight send', async () => {
    const kafka = fakeProducer();
    const batcher = createBatchingProducer(kafka, { ...OPTIONS, lingerMs: 60_000, maxBatchRecords: 2 });
    const full = [watch(batcher.send([message(1)])), watch(batcher.send([message(2)]))];
    assert.equal(kafka.calls.length, 1, 'the full batch is in flight');
    const queued = watch(batcher.send([message(3)]));
    assert.equal(kafka.calls.length, 1, 'the third waits for the (long) linger window');

    const flushed = watch(batcher.flush());
    assert.equal(kafka.calls.length, 2, 'flush sends the queued record without waiting');
    assert.deepEqual(kafka.calls[1]?.messages, [message(3)]);

    kafka.settle(1, 'ack');
    await queued.done;
    await drainMicrotasks();
    assert.equal(flushed.state(), 'pending', 'flush still waits for the first, in-flight batch');

    kafka.settle(0, 'ack');
    await flushed.done;
    assert.equal(flushed.state(), 'resolved');
    assert.ok(full.every((c) => c.state() === 'resolved'));

    await batcher.flush(); // nothing queued, nothing in flight: resolves without sending
    assert.equal(kafka.calls.length, 2);
  });

  void it('flush() resolves even when the in-flight send fails (the callers get the error)', async () => {
    const kafka = fakeProducer();
    const batcher = createBatchingProducer(kafka, OPTIONS);
    const caller = watch(batcher.send([message(1)]));
    const flushed = watch(batcher.flush());
    kafka.settle(0, new Error('not leader'));
    await flushed.done;
    await caller.done;
    assert.equal(flushed.state(), 'resolved');
    assert.equal(caller.state(), 'rejected');
    assert.ok(caller.error() instanceof KafkaUnavailableError);
  });

  void it('never cuts a caller across two requests when its records fit one: a caller that does not fit starts the next', async () => {
    const kafka = fakeProducer();
    const batcher = createBatchingProducer(kafka, { ...OPTIONS, maxBatchRecords: 10 });
    const batch = (from: number, n: number) => Array.from({ length: n }, (_, i) => message(from + i));
    const a = watch(batcher.send(batch(0, 6)));
    const b = watch(batcher.send(batch(6, 6)));
    const c = watch(batcher.send(batch(12, 3)));
    mock.timers.tick(OPTIONS.lingerMs);
    assert.deepEqual(
      kafka.calls.map((call) => call.messages.length),
      [6, 6, 3],
      'b starts a new request instead of being split 4 + 2',
    );
    assert.deepEqual(
      kafka.calls.flatMap((call) => call.messages),
      batch(0, 15),
      'every record, in order',
    );
    kafka.settle(0, 'ack');
    kafka.settle(1, new Error('NOT_ENOUGH_REPLICAS'));
    kafka.settle(2, new Error('NOT_ENOUGH_REPLICAS'));
    await Promise.all([a.done, b.done, c.done]);
    assert.equal(a.state(), 'resolved');
    for (const caller of [b, c]) {
      assert.equal(caller.state(), 'rejected', 'written nothing, told so');
      const err = caller.error();
      assert.ok(err instanceof KafkaUnavailableError);
      assert.ok(err.acknowledged === undefined || err.acknowledged.every((ack) => !ack), 'none of its records acknowledged');
    }
  });

  void it('the same holds for the byte cap', async () => {
    const kafka = fakeProducer();
    const record = (i: number): Message => ({ key: 'u', value: 'x'.repeat(300 - RECORD_OVERHEAD_BYTES - 2) + String(i) }); // 300 bytes counted
    const batcher = createBatchingProducer(kafka, { ...OPTIONS, maxBatchBytes: 1_000 });
    const a = watch(batcher.send([record(0), record(1)]));
    const b = watch(batcher.send([record(2), record(3)]));
    mock.timers.tick(OPTIONS.lingerMs);
    assert.deepEqual(
      kafka.calls.map((call) => call.messages.length),
      [2, 2],
    );
    kafka.settle(0, 'ack');
    kafka.settle(1, 'ack');
    await Promise.all([a.done, b.done]);
  });

  void it('a caller whose records alone exceed a request spans several; a partial failure says per message what was written, after all settled', async () => {
    const kafka = fakeProducer();
    const batcher = createBatchingProducer(kafka, { ...OPTIONS, maxBatchRecords: 10 });
    const small = watch(batcher.send([message(99)]));
    const caller = watch(batcher.send(Array.from({ length: 25 }, (_, i) => message(i))));
    mock.timers.tick(OPTIONS.lingerMs);
    assert.deepEqual(
      kafka.calls.map((c) => c.messages.length),
      [1, 10, 10, 5],
      'the large caller starts its own requests',
    );
    kafka.settle(2, new Error('NOT_LEADER_FOR_PARTITION'));
    await drainMicrotasks();
    assert.equal(caller.state(), 'pending', 'no answer while some of its requests are still open');
    kafka.settle(0, 'ack');
    kafka.settle(1, 'ack');
    kafka.settle(3, 'ack');
    await Promise.all([small.done, caller.done]);
    assert.equal(small.state(), 'resolved');
    assert.equal(caller.state(), 'rejected');
    const err = caller.error();
    assert.ok(err instanceof KafkaUnavailableError);
    assert.match(err.message, /NOT_LEADER_FOR_PARTITION/);
    assert.deepEqual(err.acknowledged, [...Array<boolean>(10).fill(true), ...Array<boolean>(10).fill(false), ...Array<boolean>(5).fill(true)]);
  });

  void it('admission control: beyond the record cap a send fails at once, and capacity returns only when kafkajs settles, not at our timeout', async () => {
    const kafka = fakeProducer();
    const batcher = createBatchingProducer(kafka, { ...OPTIONS, timeoutMs: 1_000, maxInflightRecords: 5 });
    const first = watch(batcher.send([message(1), message(2), message(3)]));
    assert.deepEqual(batcher.inFlight().records, 3, 'queued records count');
    const refused = watch(batcher.send([message(4), message(5), message(6)]));
    await refused.done;
    assert.equal(refused.state(), 'rejected', 'refused before any timer ran');
    assert.ok(refused.error() instanceof ProducerOverloadedError);
    assert.ok(refused.error() instanceof KafkaUnavailableError, 'a kind of unavailability (503)');
    const fits = watch(batcher.send([message(7), message(8)]));

    mock.timers.tick(OPTIONS.lingerMs);
    assert.deepEqual(
      kafka.calls.flatMap((c) => c.messages),
      [1, 2, 3, 7, 8].map(message),
      'the refused records never reach Kafka',
    );
    mock.timers.tick(1_000);
    await Promise.all([first.done, fits.done]);
    assert.equal(first.state(), 'rejected', 'our timeout answered');
    assert.equal(batcher.inFlight().records, 5, 'kafkajs still holds them, so they still count');
    const whileRetrying = watch(batcher.send([message(9)]));
    await whileRetrying.done;
    assert.ok(whileRetrying.error() instanceof ProducerOverloadedError);

    kafka.settle(0, new Error('Request timed out'));
    await drainMicrotasks();
    assert.deepEqual(batcher.inFlight(), { records: 0, bytes: 0 });
    const later = watch(batcher.send([message(10)]));
    mock.timers.tick(OPTIONS.lingerMs);
    kafka.settle(1, 'ack');
    await later.done;
    assert.equal(later.state(), 'resolved');
  });

  void it('admission control by bytes; with nothing in flight, a send larger than the cap is still admitted', async () => {
    const kafka = fakeProducer();
    const record: Message = { key: 'u', value: 'x'.repeat(1_000) };
    const batcher = createBatchingProducer(kafka, { ...OPTIONS, maxInflightBytes: 1_500 });
    const big = watch(batcher.send([record, record]));
    assert.equal(batcher.inFlight().bytes, 2 * (1_001 + RECORD_OVERHEAD_BYTES));
    const refused = watch(batcher.send([record]));
    await refused.done;
    assert.ok(refused.error() instanceof ProducerOverloadedError);
    assert.equal(batcher.hasRoomFor(1), false, 'the pre-read check agrees');
    mock.timers.tick(OPTIONS.lingerMs);
    kafka.settle(0, 'ack');
    await big.done;
    assert.equal(big.state(), 'resolved');
    assert.deepEqual(batcher.inFlight(), { records: 0, bytes: 0 });
    assert.equal(batcher.hasRoomFor(10_000), true, 'nothing in flight: room for anything');
  });

  void it('hasRoomFor: room while the request would fit under both caps', () => {
    const kafka = fakeProducer();
    const batcher = createBatchingProducer(kafka, { ...OPTIONS, maxInflightBytes: 1_000, maxInflightRecords: 2 });
    void batcher.send([message(1)]).catch(() => undefined);
    const used = batcher.inFlight().bytes;
    assert.equal(batcher.hasRoomFor(1_000 - used), true);
    assert.equal(batcher.hasRoomFor(1_001 - used), false);
    void batcher.send([message(2)]).catch(() => undefined);
    assert.equal(batcher.hasRoomFor(1), false, 'record cap reached');
  });
});
