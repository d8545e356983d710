/**
 * The bridge's decisions, with kafkajs and Temporal replaced by fakes: what a failed start means,
 * how a window waits out failures that hit every record (no dead letter, no commit, heartbeats,
 * one log line per step), the workflow summary's size, and dead letters cut down to fit.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { Metadata, status as grpcStatus } from '@grpc/grpc-js';
import { ServiceError, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { NamespaceNotFoundError, WorkflowNotFoundError } from '@temporalio/common';
import { KafkaJSProtocolError, type Consumer, type ConsumerRunConfig, type EachBatchPayload, type KafkaMessage, type Producer } from 'kafkajs';
import { pino } from 'pino';
import { createBridge } from '../../src/bridge/consumer';
import { classifyStartError } from '../../src/bridge/startErrors';
import { SUMMARY_MAX_JSON_BYTES, workflowSummary, type StartProcessEvent } from '../../src/bridge/startProcessEvent';
import { BridgeStatus } from '../../src/bridge/status';
import { publishDeadLetter, utf8Prefix, type DeadLetterRecord } from '../../src/platform/kafka/deadLetter';
import type { EventEnvelope } from '../../src/events/event';
import { makeEnvelope } from '../support/events';
import { waitFor } from '../support/wait';

/** What @grpc/grpc-js rejects a call with: an Error with code, details and metadata. */
function grpcError(code: grpcStatus, details: string): Error {
  return Object.assign(new Error(`${code} ${grpcStatus[code]}: ${details}`), { code, details, metadata: new Metadata() });
}

/** What WorkflowClient.start throws for a gRPC failure (rethrowGrpcError). */
const startFailure = (code: grpcStatus, details: string) => new ServiceError('Failed to start Workflow', { cause: grpcError(code, details) });

describe('classifyStartError', () => {
  it('a search attribute the namespace does not have is systemic (it would reject every record)', () => {
    const f = classifyStartError(startFailure(grpcStatus.INVALID_ARGUMENT, 'Namespace events-test has no mapping defined for search attribute EventType'));
    assert.deepEqual(f, { kind: 'systemic', code: 'INVALID_ARGUMENT', message: 'Namespace events-test has no mapping defined for search attribute EventType' });
    assert.equal(classifyStartError(startFailure(grpcStatus.INVALID_ARGUMENT, 'search attribute UserId is not defined')).kind, 'systemic');
  });

  it('namespace missing, permission denied, unauthenticated, unimplemented, failed precondition are systemic', () => {
    assert.equal(classifyStartError(new NamespaceNotFoundError('events')).kind, 'systemic');
    assert.equal(classifyStartError(new WorkflowNotFoundError('Namespace events is not found.', '', undefined)).kind, 'systemic');
    for (const code of [
      grpcStatus.PERMISSION_DENIED,
      grpcStatus.UNAUTHENTICATED,
      grpcStatus.UNIMPLEMENTED,
      grpcStatus.FAILED_PRECONDITION,
      grpcStatus.NOT_FOUND,
    ]) {
      assert.equal(classifyStartError(startFailure(code, 'nope')).kind, 'systemic', grpcStatus[code]);
    }
  });

  it("an INVALID_ARGUMENT about the record's own values is a record rejection", () => {
    const f = classifyStartError(
      startFailure(grpcStatus.INVALID_ARGUMENT, "user_metadata.summary exceeds the namespace's max size limit (size 612, limit 400)"),
    );
    assert.equal(f.kind, 'record');
    assert.equal(f.code, 'INVALID_ARGUMENT');
    assert.equal(classifyStartError(startFailure(grpcStatus.INVALID_ARGUMENT, 'search attribute UserId of size 3000 exceeds size limit 2048')).kind, 'record');
    assert.equal(
      classifyStartError(grpcError(grpcStatus.INVALID_ARGUMENT, 'input exceeds the namespace max payload size')).kind,
      'record',
      'a bare gRPC error too',
    );
  });

  it('unreachable, deadline, overload and anything unrecognised are transient', () => {
    for (const code of [
      grpcStatus.UNAVAILABLE,
      grpcStatus.DEADLINE_EXCEEDED,
      grpcStatus.RESOURCE_EXHAUSTED,
      grpcStatus.ABORTED,
      grpcStatus.INTERNAL,
      grpcStatus.UNKNOWN,
      grpcStatus.CANCELLED,
    ]) {
      assert.equal(classifyStartError(startFailure(code, 'x')).kind, 'transient', grpcStatus[code]);
    }
    assert.equal(
      classifyStartError(new ServiceError('Unexpected error while making gRPC request', { cause: new Error('Failed to connect before the deadline') })).kind,
      'transient',
    );
    assert.equal(classifyStartError(new Error('socket hang up')).kind, 'transient');
    assert.equal(classifyStartError(undefined).kind, 'transient');
  });
});

describe('workflowSummary', () => {
  const serializedBytes = (s: string) => Buffer.byteLength(JSON.stringify(s), 'utf8');

  it('keeps a short summary as it was', () => {
    const e = makeEnvelope({ event_type: 'page_view', user_id: '123', timestamp: '2026-11-20T08:00:00.000Z' });
    assert.equal(workflowSummary(e), 'page_view from user 123 at 2026-11-20T08:00:00.000Z');
  });

  it('fits the server limit for the longest event_type and user_id of any script, cutting only between code points', () => {
    const timestamp = '2026-11-20T08:00:00.000Z';
    const cases = [
      { event_type: 'e'.repeat(128), user_id: 'u'.repeat(256) },
      { event_type: 'e'.repeat(128), user_id: '😀'.repeat(256) }, // 4 bytes each, surrogate pairs
      { event_type: 'a:b'.repeat(42), user_id: 'ü'.repeat(256) },
      { event_type: 'x', user_id: '"\\'.repeat(128) }, // escaped by JSON: 2 bytes each
      { event_type: 'x', user_id: '\u0001'.repeat(256) }, // \u0001: 6 bytes each
      { event_type: 'x', user_id: '中'.repeat(256) },
    ];
    for (const c of cases) {
      const s = workflowSummary({ ...c, timestamp });
      assert.ok(serializedBytes(s) <= SUMMARY_MAX_JSON_BYTES, `${serializedBytes(s)} bytes for ${c.user_id.slice(0, 4)}`);
      assert.ok(!/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s), 'no lone surrogate');
      assert.ok(s.endsWith(` at ${timestamp}`), 'the timestamp is kept whole');
      assert.ok(s.includes('…'), 'the cut is marked');
    }
    // The server's limit (400) counts the Payload: this JSON plus ~25 bytes of encoding metadata.
    assert.ok(SUMMARY_MAX_JSON_BYTES + 40 <= 400);
  });
});

describe('publishDeadLetter', () => {
  /** A producer that refuses records above `limit` bytes, as a broker does. */
  function sizeLimitedProducer(limit: number) {
    const sent: { key: string | null; value: string }[] = [];
    const producer = {
      send: async ({ messages }: { messages: { key: string | null; value: string }[] }) => {
        for (const m of messages) {
          const size = Buffer.byteLength(m.value) + (m.key ? Buffer.byteLength(m.key) : 0);
          if (size > limit)
            throw new KafkaJSProtocolError({
              message: 'The request included a message larger than the max message size the server will accept',
              type: 'MESSAGE_TOO_LARGE',
              code: 10,
              retriable: false,
            } as unknown as Error);
          sent.push(m);
        }
        return [];
      },
    } as unknown as Pick<Producer, 'send'>;
    return { producer, sent };
  }
  const bridgeRecord = (original: unknown, key: string | null = 'k'): DeadLetterRecord => ({
    original,
    error: { stage: 'bridge', type: 'InvalidRecord', message: 'value is not JSON', attempts: 1 },
    failed_at: new Date().toISOString(),
    source: { topic: 'events.raw', partition: 2, offset: '41', key },
  });

  it('a record over the limit is cut down: source position, size, SHA-256 and a prefix, marked truncated', async () => {
    const raw = Buffer.from(`not json ${'é'.repeat(600_000)}`, 'utf8'); // ~1.2 MB
    const { producer, sent } = sizeLimitedProducer(1_048_576);
    await publishDeadLetter(producer, 'dlq', 'k', bridgeRecord(raw.toString('utf8')), { rawValue: raw });
    assert.equal(sent.length, 1);
    const r = JSON.parse(sent[0]!.value) as DeadLetterRecord;
    assert.deepEqual(r.source, { topic: 'events.raw', partition: 2, offset: '41', key: 'k' });
    assert.equal(r.truncated?.original_bytes, raw.length);
    assert.equal(r.truncated?.sha256, createHash('sha256').update(raw).digest('hex'));
    assert.equal(typeof r.original, 'string');
    assert.ok(raw.toString('utf8').startsWith(r.original as string), 'a prefix of the value');
    assert.ok(Buffer.byteLength(r.original as string) <= r.truncated!.prefix_bytes);
    assert.equal(r.error.message, 'value is not JSON');
  });

  it('a broker with a smaller limit than assumed still gets a record (a shorter prefix)', async () => {
    const raw = Buffer.from('x'.repeat(200_000));
    const { producer, sent } = sizeLimitedProducer(8_000);
    await publishDeadLetter(producer, 'dlq', 'k', bridgeRecord(raw.toString()), { rawValue: raw });
    const r = JSON.parse(sent[0]!.value) as DeadLetterRecord;
    assert.equal(r.truncated?.original_bytes, 200_000);
    assert.ok((r.original as string).length <= 1_024);
  });

  it('a huge key is cut too; a record that fits is sent whole', async () => {
    const { producer, sent } = sizeLimitedProducer(1_048_576);
    const hugeKey = 'k'.repeat(900_000);
    await publishDeadLetter(producer, 'dlq', hugeKey, bridgeRecord('x'.repeat(300_000), hugeKey));
    const r = JSON.parse(sent[0]!.value) as DeadLetterRecord;
    assert.ok(sent[0]!.key!.length <= 1_024);
    assert.ok(r.source!.key!.length <= 1_024);
    assert.equal(r.truncated?.key_bytes, 900_000);

    await publishDeadLetter(producer, 'dlq', 'k', bridgeRecord({ a: 1 }));
    assert.deepEqual((JSON.parse(sent[1]!.value) as DeadLetterRecord).original, { a: 1 });
    assert.equal((JSON.parse(sent[1]!.value) as DeadLetterRecord).truncated, undefined);
  });

  it('a huge list of field errors is cut too, so the cut-down record still fits', async () => {
    const { producer, sent } = sizeLimitedProducer(1_048_576);
    const fields = Array.from({ length: 50_000 }, (_, i) => ({ field: `payload.k${i}`, message: 'unexpected field '.repeat(2) }));
    const record = {
      ...bridgeRecord('{"big": true}'),
      error: { stage: 'bridge' as const, type: 'InvalidRecord', message: 'x'.repeat(100_000), attempts: 1, fields },
    };
    await publishDeadLetter(producer, 'dlq', 'k', record);
    const r = JSON.parse(sent[0]!.value) as DeadLetterRecord;
    assert.equal(r.error.fields?.length, 20);
    assert.ok(r.error.message.length <= 4_096);
    assert.ok(r.truncated);
  });

  it('utf8Prefix never splits a code point', () => {
    assert.equal(utf8Prefix('a😀b', 4), 'a');
    assert.equal(utf8Prefix('a😀b', 5), 'a😀');
    assert.equal(utf8Prefix('abc', 10), 'abc');
  });
});

/** A kafkajs consumer whose run() hands eachBatch to the test. */
function fakeConsumer() {
  let config: ConsumerRunConfig | undefined;
  const consumer = {
    events: { GROUP_JOIN: 'consumer.group_join', CRASH: 'consumer.crash' },
    on: () => () => undefined,
    connect: async () => undefined,
    subscribe: async () => undefined,
    run: async (c: ConsumerRunConfig) => {
      config = c;
    },
    disconnect: async () => undefined,
  } as unknown as Consumer;
  return { consumer, eachBatch: (p: EachBatchPayload) => config!.eachBatch!(p) };
}

function fakePayload(partition: number, messages: KafkaMessage[], highWatermark?: string) {
  const seen = { resolved: [] as string[], heartbeats: 0, running: true };
  const payload = {
    batch: { topic: 'events.raw', partition, messages, highWatermark },
    resolveOffset: (offset: string) => void seen.resolved.push(offset),
    heartbeat: async () => void seen.heartbeats++,
    commitOffsetsIfNecessary: async () => undefined,
    isRunning: () => seen.running,
    isStale: () => false,
  } as unknown as EachBatchPayload;
  return { payload, seen };
}

const message = (offset: number, value: string | Buffer): KafkaMessage =>
  ({
    offset: String(offset),
    key: Buffer.from('user-1'),
    value: Buffer.isBuffer(value) ? value : Buffer.from(value),
    timestamp: '0',
    attributes: 0,
    headers: {},
  }) as unknown as KafkaMessage;

function capturingLogger() {
  const lines: { level: number; msg: string; partition?: number; kind?: string }[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as (typeof lines)[number]) });
  return { logger, lines };
}

async function bridgeWith(start: StartProcessEvent, opts: { dlq?: Pick<Producer, 'send'>; heartbeatEveryMs?: number } = {}) {
  const { consumer, eachBatch } = fakeConsumer();
  const { logger, lines } = capturingLogger();
  const dlqSent: DeadLetterRecord[] = [];
  const status = new BridgeStatus();
  const bridge = createBridge({
    consumer,
    dlqProducer:
      opts.dlq ??
      ({
        send: async ({ messages }: { messages: { value: string }[] }) => void dlqSent.push(...messages.map((m) => JSON.parse(m.value) as DeadLetterRecord)),
      } as unknown as Pick<Producer, 'send'>),
    startProcessEvent: start,
    topic: 'events.raw',
    dlqTopic: 'events.dlq',
    concurrency: 8,
    logger,
    retry: { initialMs: 20, maxMs: 40 },
    heartbeatEveryMs: opts.heartbeatEveryMs ?? 1_000,
    status,
  });
  await bridge.run();
  return { eachBatch, lines, dlqSent, status };
}

const envelopes = (n: number, first = 0) => Array.from({ length: n }, (_, i) => message(first + i, JSON.stringify(makeEnvelope())));

describe('bridge windows', () => {
  it('systemic rejection: nothing dead-lettered or committed, one error line per backoff step per partition, not ready; drains once fixed', async () => {
    let fixed = false;
    const start: StartProcessEvent = async () => {
      if (!fixed) throw startFailure(grpcStatus.INVALID_ARGUMENT, 'Namespace default has no mapping defined for search attribute EventType');
      return 'started';
    };
    const b = await bridgeWith(start);
    const p0 = fakePayload(0, envelopes(16));
    const p1 = fakePayload(1, envelopes(16, 100));
    const runs = [b.eachBatch(p0.payload), b.eachBatch(p1.payload)];
    await waitFor('three backoff steps on each partition', () =>
      [0, 1].every((partition) => b.lines.filter((l) => l.kind === 'systemic' && l.partition === partition).length >= 3),
    );
    assert.deepEqual(b.dlqSent, [], 'nothing dead-lettered');
    assert.deepEqual([p0.seen.resolved, p1.seen.resolved], [[], []], 'nothing resolved, so nothing committed');
    const steps = b.lines.filter((l) => l.kind === 'systemic');
    assert.ok(
      steps.every((l) => l.level === 50),
      'logged as errors',
    );
    // 8 records a window, each failing every step: one line per step and partition stands for all 8.
    assert.ok(steps.every((l) => (l as { waiting?: number }).waiting === 8));
    const ready = b.status.readiness();
    assert.equal(ready.ready, false);
    assert.match(ready.problems.join('\n'), /partition 0: Temporal rejects every workflow start .*\(INVALID_ARGUMENT\)/);
    assert.ok(
      steps.every((l) => /search attribute EventType/.test((l as { error?: string }).error ?? '')),
      "the server's words are in the log, not on /ready",
    );
    assert.match(await b.status.text(), /^bridge_partitions_backing_off\{kind="systemic"\} 2$/m);
    assert.ok(b.status.stats.systemicFailures >= 2 * 3 * 8);

    fixed = true;
    await Promise.all(runs);
    assert.deepEqual(p0.seen.resolved, ['7', '15']);
    assert.deepEqual(p1.seen.resolved, ['107', '115']);
    assert.equal(b.status.stats.started, 32);
    assert.deepEqual(b.dlqSent, []);
    assert.equal(b.status.readiness().problems.length, 1, 'only the fake consumer never joining is left');
  });

  it('Temporal unreachable: one warning per backoff step and partition, not one per record per retry', async () => {
    let failures = 0;
    const start: StartProcessEvent = async () => {
      failures++;
      if (failures <= 8 * 4) throw startFailure(grpcStatus.UNAVAILABLE, 'Connection refused');
      return 'started';
    };
    const b = await bridgeWith(start);
    const p = fakePayload(3, envelopes(8));
    await b.eachBatch(p.payload);
    const warnings = b.lines.filter((l) => l.level === 40);
    assert.equal(warnings.length, 4, warnings.map((l) => l.msg).join('\n'));
    assert.ok(warnings.every((l) => l.partition === 3 && l.kind === 'transient'));
    assert.deepEqual(p.seen.resolved, ['7']);
    assert.equal(b.status.stats.transientFailures, 32);
    assert.ok(b.lines.some((l) => l.msg === 'partition resumed after backoff'));
    assert.deepEqual(b.dlqSent, []);
  });

  it('heartbeats while a slow start is in flight, not only between windows', async () => {
    const start: StartProcessEvent = () => new Promise((r) => setTimeout(() => r('started'), 600));
    const b = await bridgeWith(start, { heartbeatEveryMs: 50 });
    const p = fakePayload(0, envelopes(4));
    await b.eachBatch(p.payload);
    assert.ok(p.seen.heartbeats >= 5, `${p.seen.heartbeats} heartbeats during a 600 ms window`);
    assert.deepEqual(p.seen.resolved, ['3']);
  });

  it('a record rejection is dead-lettered and committed; already-started counts as done', async () => {
    const ids: string[] = [];
    const start: StartProcessEvent = async (e) => {
      ids.push(e.event_id);
      if (ids.length === 1) throw startFailure(grpcStatus.INVALID_ARGUMENT, 'input exceeds the namespace max payload size');
      if (ids.length === 2) throw new WorkflowExecutionAlreadyStartedError('started', e.event_id, 'processEvent');
      return 'started';
    };
    const b = await bridgeWith(start);
    const p = fakePayload(0, envelopes(1).concat(envelopes(2, 1)));
    await b.eachBatch(p.payload);
    assert.equal(b.dlqSent.length, 1);
    assert.equal(b.dlqSent[0]!.error.type, 'WorkflowStartRejected');
    assert.match(b.dlqSent[0]!.error.message, /^INVALID_ARGUMENT: input exceeds/);
    assert.deepEqual(p.seen.resolved, ['2']);
    assert.equal(b.status.stats.deadLettered, 1);
  });

  it('a dead-letter log line names the record key as the key it is (the producer keys by user_id) and the event under event_id', async () => {
    const rejected = makeEnvelope({ user_id: 'user-1' });
    const b = await bridgeWith(async () => {
      throw startFailure(grpcStatus.INVALID_ARGUMENT, 'input exceeds the namespace max payload size');
    });
    const unkeyed = { ...message(2, JSON.stringify({ ...rejected, payload: 'not an object' })), key: null };
    await b.eachBatch(fakePayload(0, [message(0, JSON.stringify(rejected)), message(1, 'not json'), unkeyed]).payload);
    const lines = b.lines.filter((l) => l.msg === 'record dead-lettered') as { record_key?: string; event_id?: string; offset?: string }[];
    assert.deepEqual(
      lines.map((l) => ({ offset: l.offset, record_key: l.record_key, event_id: l.event_id })).sort((x, y) => Number(x.offset) - Number(y.offset)),
      [
        { offset: '0', record_key: 'user-1', event_id: rejected.event_id },
        { offset: '1', record_key: 'user-1', event_id: undefined },
        { offset: '2', record_key: null, event_id: undefined },
      ],
      'no user id under event_id; the event id where the record named one',
    );
  });

  it("a record written straight to the topic in a non-canonical form is started in the producer's form; one that cannot be is dead-lettered", async () => {
    const started: EventEnvelope[] = [];
    const b = await bridgeWith(async (e) => (started.push(e), 'started'));
    const canonical = makeEnvelope({ timestamp: '2026-11-25T10:00:00.000Z', received_at: '2026-11-25T10:00:01.000Z' });
    const sent = { ...canonical, event_id: canonical.event_id.toUpperCase(), timestamp: '2026-11-25T08:00:00-02:00', received_at: '2026-11-25T10:00:01Z' };
    const p = fakePayload(0, [message(0, JSON.stringify(sent)), message(1, JSON.stringify({ ...canonical, timestamp: '2026-11-25T10:00:00' }))]);
    await b.eachBatch(p.payload);
    assert.deepEqual(started, [canonical]);
    assert.equal(b.dlqSent.length, 1);
    assert.deepEqual(
      b.dlqSent[0]!.error.fields?.map((f) => f.field),
      ['timestamp'],
    );
    assert.deepEqual(p.seen.resolved, ['1']);
  });

  it('metrics: records consumed, starts, and the lag per partition from the batch high watermark, dropped once the partition is revoked', async () => {
    const b = await bridgeWith(async () => 'started');
    const metric = async (line: RegExp) => line.exec(await b.status.text())?.[1];
    // 20 records from offset 100 of a partition whose end was 130 when fetched: 10 left behind.
    await b.eachBatch(fakePayload(2, envelopes(20, 100), '130').payload);
    assert.equal(await metric(/^bridge_records_consumed_total (\d+)$/m), '20');
    assert.equal(await metric(/^bridge_records_started_total (\d+)$/m), '20');
    assert.equal(await metric(/^bridge_consumer_lag\{topic="events.raw",partition="2"\} (\d+)$/m), '10');
    assert.match(await b.status.text(), /^# TYPE bridge_records_consumed_total counter$/m);
    b.status.keepLagOf({ 'events.raw': [0, 1] });
    assert.equal(await metric(/^bridge_consumer_lag\{[^}]*partition="2"\} (\d+)$/m), undefined);
  });

  it('a DLQ that refuses writes holds the window (backoff, no commit) instead of crashing the consumer', async () => {
    let refuse = true;
    const dlq = {
      send: async () => {
        if (refuse)
          throw new KafkaJSProtocolError({
            message: 'Not authorized to access topics: [Topic authorization failed]',
            type: 'TOPIC_AUTHORIZATION_FAILED',
            code: 29,
            retriable: false,
          } as unknown as Error);
        return [];
      },
    } as unknown as Pick<Producer, 'send'>;
    const b = await bridgeWith(async () => 'started', { dlq });
    const p = fakePayload(0, [message(0, 'not json'), ...envelopes(2, 1)]);
    const run = b.eachBatch(p.payload);
    await waitFor('two dead-letter backoff steps', () => b.lines.filter((l) => l.kind === 'dead-letter').length >= 2);
    assert.deepEqual(p.seen.resolved, []);
    assert.match(b.status.readiness().problems.join('\n'), /dead-letter topic refuses records/);
    refuse = false;
    await run;
    assert.deepEqual(p.seen.resolved, ['2']);
  });

  it('a shutdown during a backoff returns promptly without resolving anything', async () => {
    const b = await bridgeWith(async () => {
      throw startFailure(grpcStatus.UNAVAILABLE, 'down');
    });
    const p = fakePayload(0, envelopes(3));
    const run = b.eachBatch(p.payload);
    await waitFor('a backoff step', () => b.lines.some((l) => l.kind === 'transient'));
    p.seen.running = false;
    await run;
    assert.deepEqual(p.seen.resolved, []);
  });
});
