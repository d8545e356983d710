import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConditionalCheckFailedException, GetItemCommand, PutItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import type { PutObjectCommand } from '@aws-sdk/client-s3';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Logger } from '@temporalio/common';
import { sdkLogFields } from '../../workers/main';
import { createActivities, type ActivityDeps } from '../../activities';
import { serializeEnvelope, type EventEnvelope } from '../../src/events/event';
import type { DeadLetterError, DeadLetterRecord } from '../../src/platform/kafka/deadLetter';
import { rawNumber } from '../../src/events/exactJson';
import type { ProducerRecord } from 'kafkajs';
import { makeEnvelope } from '../support/events';
import { fakeActivityDeps } from '../support/workflowWorker';

/** Records every command; `fail` decides per call whether to throw. */
function fakeClient(fail?: (command: unknown) => Error | undefined) {
  const calls: unknown[] = [];
  return {
    calls,
    send: async (command: unknown) => {
      calls.push(command);
      const err = fail?.(command);
      if (err) throw err;
      return {};
    },
  };
}

function deps(overrides: Partial<ActivityDeps> = {}) {
  const dynamo = fakeClient();
  const s3 = fakeClient();
  const sent: ProducerRecord[] = [];
  const base = fakeActivityDeps({ dynamo: dynamo.send, s3: s3.send, producer: async (r) => (sent.push(r), []) });
  return { deps: { ...base, ...overrides }, dynamo, s3, sent };
}

/** The dead-letter record of a workflow step that gave up on `event`, as the workflow hands it to deadLetter. */
function stepGaveUp(event: EventEnvelope, error: DeadLetterError): DeadLetterRecord {
  return { original: event, error, failed_at: '2026-11-25T10:00:00.000Z', workflow_id: event.event_id };
}

/** One test per error name: the step's failure is retryable, or not (dead-lettered at once). */
function itClassifies(step: 'storeHot' | 'archiveCold', client: 'dynamo' | 's3', classes: readonly (readonly [string, boolean])[]) {
  for (const [name, nonRetryable] of classes) {
    it(`${name} is ${nonRetryable ? 'not retried' : 'retried'}`, async () => {
      const failing = fakeClient(() => Object.assign(new Error('x'), { name }));
      const { deps: d } = deps({ [client]: failing });
      const err = await new MockActivityEnvironment().run(createActivities(d)[step], makeEnvelope()).catch((e: unknown) => e);
      assert.ok(err instanceof ApplicationFailure);
      assert.equal(err.nonRetryable, nonRetryable);
    });
  }
}

describe('storeHot', () => {
  it('puts the event with its index keys, only if the event_id is new', async () => {
    const { deps: d, dynamo } = deps();
    const event = makeEnvelope({ timestamp: '2026-11-25T10:00:00.000Z' });
    assert.equal(await new MockActivityEnvironment().run(createActivities(d).storeHot, event), 'stored');
    const put = dynamo.calls[0] as PutItemCommand;
    assert.ok(put instanceof PutItemCommand);
    assert.equal(put.input.TableName, 'EventsHot');
    assert.equal(put.input.ConditionExpression, 'attribute_not_exists(event_id)');
    const item = unmarshall(put.input.Item!);
    assert.equal(item.event_id, event.event_id);
    assert.deepEqual(item.payload, event.payload);
    assert.equal(item.time_id, `2026-11-25T10:00:00.000Z#${event.event_id}`);
    assert.match(item.time_bucket as string, /^[0-3]$/);
  });

  it('reports a duplicate when the conditional check fails', async () => {
    const dynamo = fakeClient(() => new ConditionalCheckFailedException({ message: 'exists', $metadata: {} }));
    const { deps: d } = deps({ dynamo: dynamo });
    assert.equal(await new MockActivityEnvironment().run(createActivities(d).storeHot, makeEnvelope()), 'duplicate');
  });

  it('fails retryably with the error type and the attempt number', async () => {
    const boom = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4567'), { name: 'TimeoutError' });
    const dynamo = fakeClient(() => boom);
    const { deps: d } = deps({ dynamo: dynamo });
    const err = await new MockActivityEnvironment({ attempt: 3 }).run(createActivities(d).storeHot, makeEnvelope()).catch((e: unknown) => e);
    assert.ok(err instanceof ApplicationFailure);
    assert.equal(err.type, 'TimeoutError');
    assert.equal(err.nonRetryable, false);
    assert.deepEqual(err.details?.[0], { attempt: 3 });
  });

  it('does not retry a request DynamoDB calls invalid (ValidationException)', async () => {
    const dynamo = fakeClient(() => Object.assign(new Error('Number overflow'), { name: 'ValidationException' }));
    const { deps: d } = deps({ dynamo: dynamo });
    const err = await new MockActivityEnvironment().run(createActivities(d).storeHot, makeEnvelope()).catch((e: unknown) => e);
    assert.ok(err instanceof ApplicationFailure);
    assert.equal(err.type, 'ValidationException');
    assert.equal(err.nonRetryable, true);
  });

  // Transient (or fixed by an operator for every event at once): retried until the step's budget
  // runs out. Wrong for this one request: dead-lettered at once.
  const classes: [string, boolean][] = [
    ['ProvisionedThroughputExceededException', false],
    ['ThrottlingException', false],
    ['InternalServerError', false],
    ['TimeoutError', false],
    ['ResourceNotFoundException', false],
    ['AccessDeniedException', false],
    ['SomethingNobodyExpected', false],
    ['ValidationException', true],
    ['SerializationException', true],
  ];
  itClassifies('storeHot', 'dynamo', classes);

  it('records its attempt number as heartbeat details from the second attempt on (counted when the budget cuts an attempt)', async () => {
    const { deps: d } = deps();
    for (const [attempt, expected] of [
      [1, []],
      [2, [{ attempt: 2 }]],
    ] as const) {
      const env = new MockActivityEnvironment({ attempt });
      const beats: unknown[] = [];
      env.on('heartbeat', (details: unknown) => beats.push(details));
      await env.run(createActivities(d).storeHot, makeEnvelope());
      assert.deepEqual(beats, expected);
    }
  });

  /** A table that keeps what is put into it: the conditional put and the consistent read storeHot uses. */
  function fakeTable() {
    const items = new Map<string, Record<string, AttributeValue>>();
    const calls: unknown[] = [];
    return {
      calls,
      items,
      send: async (command: unknown) => {
        calls.push(command);
        if (command instanceof PutItemCommand) {
          const id = command.input.Item!.event_id!.S!;
          if (items.has(id)) throw new ConditionalCheckFailedException({ message: 'exists', $metadata: {} });
          items.set(id, command.input.Item!);
          return {};
        }
        if (command instanceof GetItemCommand) {
          assert.equal(command.input.ConsistentRead, true, 'a put that just found the item must read it back consistently');
          const item = items.get(command.input.Key!.event_id!.S!);
          return item ? { Item: item } : {};
        }
        throw new Error('unexpected DynamoDB call');
      },
    };
  }

  it('announces the stored event on the stored topic after the put, on both outcomes', async () => {
    const dynamo = fakeTable();
    const { deps: d, sent } = deps({ dynamo: dynamo, storedTopic: 'events.stored' });
    const event = makeEnvelope({ payload: { n: 1, big: rawNumber('12345678901234567890'), __proto__x: 'k' } });
    for (const outcome of ['stored', 'duplicate'] as const) {
      sent.length = 0;
      assert.equal(await new MockActivityEnvironment().run(createActivities(d).storeHot, event), outcome);
      assert.deepEqual(
        sent.map((r) => r.topic),
        ['events.stored'],
      );
      assert.deepEqual(sent[0]!.messages, [{ key: event.event_id, value: serializeEnvelope(event) }]);
    }
  });

  it('on a duplicate announces what is stored, not its own input (a retry with another envelope of the same event_id)', async () => {
    const dynamo = fakeTable();
    const { deps: d, sent } = deps({ dynamo: dynamo, storedTopic: 'events.stored' });
    const first = makeEnvelope({ event_type: 'purchase', user_id: 'alice', timestamp: '2026-11-25T10:00:00.000Z', payload: { total: 12 } });
    // Run 1: the put succeeds, its announcement fails for good (the run is dead-lettered).
    const down = { send: async () => Promise.reject(Object.assign(new Error('broker down'), { name: 'KafkaJSNumberOfRetriesExceeded' })) };
    const run1 = createActivities({ ...d, producer: down });
    await assert.rejects(new MockActivityEnvironment().run(run1.storeHot, first));
    assert.equal(dynamo.items.size, 1);
    // Run 2: the same event_id posted again without a timestamp, another type and user.
    const retry = makeEnvelope({ event_id: first.event_id, event_type: 'page_view', user_id: 'bob', timestamp: '2026-11-27T08:00:00.000Z', payload: {} });
    assert.equal(await new MockActivityEnvironment().run(createActivities(d).storeHot, retry), 'duplicate');
    assert.deepEqual(
      sent.flatMap((r) => r.messages),
      [{ key: first.event_id, value: serializeEnvelope(first) }],
    );
  });

  it('on a duplicate whose item is gone (expired and swept since) announces nothing', async () => {
    const dynamo = fakeTable();
    const { deps: d, sent } = deps({ dynamo: dynamo, storedTopic: 'events.stored' });
    const event = makeEnvelope();
    await new MockActivityEnvironment().run(createActivities(d).storeHot, event);
    dynamo.items.clear();
    // The put of a duplicate whose item vanished between its condition check and the read.
    const racing = {
      ...dynamo,
      send: async (c: unknown) =>
        c instanceof PutItemCommand ? Promise.reject(new ConditionalCheckFailedException({ message: 'exists', $metadata: {} })) : dynamo.send(c),
    };
    sent.length = 0;
    assert.equal(await new MockActivityEnvironment().run(createActivities({ ...d, dynamo: racing }).storeHot, event), 'duplicate');
    assert.deepEqual(sent, []);
  });

  it('fails retryably when the announcement cannot be sent (the retry finds a duplicate and announces it)', async () => {
    const { deps: d } = deps({
      storedTopic: 'events.stored',
      producer: {
        send: async () => Promise.reject(Object.assign(new Error('broker down'), { name: 'KafkaJSNumberOfRetriesExceeded' })),
      },
    });
    const err = await new MockActivityEnvironment().run(createActivities(d).storeHot, makeEnvelope()).catch((e: unknown) => e);
    assert.ok(err instanceof ApplicationFailure);
    assert.equal(err.type, 'KafkaJSNumberOfRetriesExceeded');
    assert.equal(err.nonRetryable, false);
  });

  it('writes no item and announces nothing for an event already older than HOT_RETENTION_DAYS, judged when it runs', async () => {
    const now = Date.UTC(2026, 11, 3, 12, 0, 0);
    const day = 86_400_000;
    const { deps: d, dynamo, sent } = deps({ hotRetentionDays: 30, storedTopic: 'events.stored', now: () => now });
    // Late on arrival (a mobile queue flushed after weeks offline), and one that crossed the line
    // while it waited: the same rule at storeHot time.
    for (const timestamp of ['2025-01-01T00:00:00.000Z', new Date(now - 30 * day - 1).toISOString()]) {
      const event = makeEnvelope({ timestamp, received_at: new Date(now - 31 * day).toISOString() });
      assert.equal(await new MockActivityEnvironment().run(createActivities(d).storeHot, event), 'past-retention', timestamp);
    }
    assert.equal(dynamo.calls.length, 0, 'no item written');
    assert.deepEqual(sent, [], 'nothing announced to subscribers or the counter');
    // At the line itself it is still served, so it is stored.
    assert.equal(
      await new MockActivityEnvironment().run(createActivities(d).storeHot, makeEnvelope({ timestamp: new Date(now - 30 * day).toISOString() })),
      'stored',
    );
    // Without retention, any age is stored.
    const { deps: kept } = deps({ now: () => now });
    assert.equal(await new MockActivityEnvironment().run(createActivities(kept).storeHot, makeEnvelope({ timestamp: '2025-01-01T00:00:00.000Z' })), 'stored');
  });

  it('refuses an invalid event without retrying and without touching the table', async () => {
    const { deps: d, dynamo } = deps();
    const bad = makeEnvelope({ event_id: 'not-a-uuid' });
    const err = await new MockActivityEnvironment().run(createActivities(d).storeHot, bad).catch((e: unknown) => e);
    assert.ok(err instanceof ApplicationFailure);
    assert.equal(err.type, 'InvalidEventError');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, /event_id/);
    assert.equal(dynamo.calls.length, 0);
  });
});

describe('archiveCold', () => {
  it('writes the raw JSON under the UTC date of the event, the same bytes every time', async () => {
    const { deps: d, s3 } = deps();
    const event = makeEnvelope({ timestamp: '2026-01-31T23:59:59.999Z' });
    const env = new MockActivityEnvironment();
    const first = (await env.run(createActivities(d).archiveCold, event)) as { key: string };
    await env.run(createActivities(d).archiveCold, { ...event });
    assert.equal(first.key, `events/2026/01/31/${event.event_id}.json`);
    const [a, b] = s3.calls as PutObjectCommand[];
    assert.equal(a!.input.Bucket, 'bucket');
    assert.equal(a!.input.Key, first.key);
    assert.equal(a!.input.ContentType, 'application/json');
    assert.equal(a!.input.Body, serializeEnvelope(event));
    assert.equal(b!.input.Body, a!.input.Body);
    assert.deepEqual(JSON.parse(a!.input.Body as string), event);
  });
});

describe('archiveCold failures', () => {
  itClassifies('archiveCold', 's3', [
    ['EntityTooLarge', true],
    ['KeyTooLongError', true],
    ['SlowDown', false],
    ['NoSuchBucket', false],
  ]);
});

describe('deadLetter', () => {
  it('publishes the record to the DLQ topic keyed by event_id', async () => {
    const { deps: d, sent } = deps();
    const event = makeEnvelope();
    const record = { ...stepGaveUp(event, { stage: 'archiveCold', type: 'S3ServiceException', message: 'down', attempts: 5 }), run_id: 'run-1' };
    await new MockActivityEnvironment().run(createActivities(d).deadLetter, record);
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.topic, 'events.dlq');
    assert.equal(sent[0]!.messages[0]!.key, event.event_id);
    assert.deepEqual(JSON.parse(String(sent[0]!.messages[0]!.value)), record);
  });
});

/** An SDK Logger that keeps each line (what the worker's Runtime logger would receive). */
function recordingLogger(lines: { message: string; meta?: Record<string, unknown> }[]): Logger {
  const keep = (message: string, meta?: Record<string, unknown>) => void lines.push({ message, meta });
  return {
    log: (_level: string, message: string, meta?: Record<string, unknown>) => keep(message, meta),
    trace: keep,
    debug: keep,
    info: keep,
    warn: keep,
    error: keep,
  };
}

describe('logs about an event carry its event_id', () => {
  it('the dead-letter line, through the SDK logger the worker maps to pino (workflow id = event_id)', async () => {
    const { deps: d } = deps();
    const event = makeEnvelope();
    const record = stepGaveUp(event, { stage: 'storeHot', type: 'ValidationException', message: 'bad', attempts: 1 });
    const lines: { message: string; meta?: Record<string, unknown> }[] = [];
    const env = new MockActivityEnvironment({ workflowExecution: { workflowId: event.event_id, runId: 'run-1' } }, { logger: recordingLogger(lines) });
    await env.run(createActivities(d).deadLetter, record);
    const line = lines.find((l) => l.message === 'event dead-lettered');
    assert.ok(line, `a dead-letter log line among ${JSON.stringify(lines.map((l) => l.message))}`);
    assert.equal(sdkLogFields(line.meta).event_id, event.event_id);
    assert.deepEqual(sdkLogFields({ taskQueue: 'events' }), { temporal: { taskQueue: 'events' } }, 'no event_id on lines about no run');
  });
});
