/**
 * The whole platform against the real local stack: real producer, 2 bridges, 2 workers and the
 * GraphQL server as processes, Kafka, Temporal, dynalite and versitygw as servers.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { archiveKey } from '../../src/store/archive/layout';
import type { EventEnvelope } from '../../src/events/event';
import {
  countByType,
  countedEvents,
  countsCaughtUp,
  describeWithCli,
  readKeys,
  getItem,
  getObject,
  graphql,
  listKeys,
  postJson,
  startWatchedPlatform,
  type WatchedPlatform,
} from '../support/clients';
import { rawTopicOffsets, stableGroup } from '../support/bridge';
import { scrape, total } from '../support/metrics';
import { REPO_ROOT } from '../support/paths';
import { waitFor, waitUntil } from '../support/wait';
import { HANG_TIMEOUT_MS } from '../support/timeouts';

const stack = (...args: string[]) => promisify(execFile)('bash', [`${REPO_ROOT}/infra/stack.sh`, ...args]);

describe('pipeline', { timeout: HANG_TIMEOUT_MS }, () => {
  let p: WatchedPlatform;

  before(async () => {
    p = await startWatchedPlatform({
      env: {
        // A short, visible archive budget: attempts 1 s then 2 s apart for 20 s, then the DLQ.
        COLD_RETRY_MAX_ELAPSED_MS: '20000',
        COLD_RETRY_INITIAL_INTERVAL_MS: '1000',
        COLD_RETRY_MAX_INTERVAL_MS: '2000',
        HOT_RETRY_INITIAL_INTERVAL_MS: '500',
        ACTIVITY_TIMEOUT_MS: '5000',
        KAFKA_PRODUCE_TIMEOUT_MS: '3000',
      },
    });
  });

  after(async () => {
    await p?.stop();
  });

  const completed = (id: string) =>
    waitFor(`workflow ${id} to complete`, async () => {
      const d = await p.temporal.workflow.getHandle(id).describe();
      return d.status.name === 'COMPLETED' && d;
    });
  /**
   * The runs of a workflow ID as visibility lists them, once it lists the completed one: a run
   * reaches visibility some time after `describe` says it completed.
   */
  const completedRunsInVisibility = async (id: string) => {
    const list = async () => {
      const runs = [];
      for await (const wf of p.temporal.workflow.list({ query: `WorkflowId = '${id}'` })) runs.push({ runId: wf.runId, status: wf.status });
      return runs;
    };
    return waitUntil(`visibility to list the completed run of ${id}`, list, (runs) => runs.some((r) => r.status.name === 'COMPLETED'));
  };

  it("the seed's curl example: stored, archived, completed with search attributes, and readable by all four queries", async () => {
    const userId = `user-${randomUUID()}`;
    const res = await postJson(`${p.producerUrl}/events`, { event_type: 'page_view', user_id: userId, payload: { page: '/home', referrer: 'google.com' } });
    assert.equal(res.status, 202);
    assert.equal(res.body.status, 'accepted');
    assert.equal(typeof res.body.message, 'string');
    const id = res.body.event_id as string;
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/, 'a UUIDv7 event id');

    const item = await waitFor('the DynamoDB item', () => getItem(p, id));
    assert.equal(item.event_type, 'page_view');
    assert.equal(item.user_id, userId);
    assert.deepEqual(item.payload, { page: '/home', referrer: 'google.com' });

    const key = archiveKey({ event_id: id, timestamp: item.timestamp as string });
    const object = await waitFor('the S3 object', () => getObject(p, key));
    assert.equal(object.contentType, 'application/json');
    const archived = JSON.parse(object.body) as EventEnvelope;
    assert.equal(archived.event_id, id);
    assert.equal(archived.schema_version, 1);
    assert.deepEqual(archived.payload, { page: '/home', referrer: 'google.com' });

    await completed(id);
    const cli = await describeWithCli(p, id);
    assert.equal(cli.workflowExecutionInfo.status, 'WORKFLOW_EXECUTION_STATUS_COMPLETED');
    assert.equal(cli.workflowExecutionInfo.type.name, 'processEvent');
    assert.deepEqual(cli.result, { event_id: id, hot: 'stored', cold: 'archived', archive_key: key });
    const attrs = (await p.temporal.workflow.getHandle(id).describe()).searchAttributes;
    assert.deepEqual(attrs.EventType, ['page_view']);
    assert.deepEqual(attrs.UserId, [userId]);

    const fields = 'eventId eventType userId timestamp payload';
    const q = await graphql<Record<string, { eventId: string; payload: unknown }[]>>(
      p,
      `{ latestEvents(limit: 100) { ${fields} } eventsByType(eventType: "page_view") { ${fields} } eventsByUser(userId: "${userId}") { ${fields} } }`,
    );
    assert.equal(q.errors, undefined, JSON.stringify(q.errors));
    for (const name of ['latestEvents', 'eventsByType', 'eventsByUser']) {
      const hit = q.data![name]!.find((e) => e.eventId === id);
      assert.ok(hit, `${name} returns the event`);
      assert.deepEqual(hit.payload, { page: '/home', referrer: 'google.com' });
    }
    const one = await graphql<{ event: { eventId: string; userId: string } | null }>(p, `{ event(eventId: "${id}") { eventId userId } }`);
    assert.deepEqual(one.data?.event, { eventId: id, userId });
  });

  it('the same event_id posted twice: one item, one object, one completed workflow run', async () => {
    const eventId = randomUUID();
    const userId = `user-${randomUUID()}`;
    const body = { event_id: eventId, event_type: 'signup', user_id: userId, payload: { plan: 'pro' }, timestamp: '2026-11-20T08:00:00Z' };
    const [a, b] = [await postJson(`${p.producerUrl}/events`, body), await postJson(`${p.producerUrl}/events`, body)];
    assert.equal(a.status, 202);
    assert.equal(b.status, 202);
    assert.equal(a.body.event_id, eventId);
    assert.equal(b.body.event_id, eventId);

    await completed(eventId);
    // Both records are consumed once the bridges have committed past them; wait for the second
    // start attempt to have been answered "already started" before counting.
    await waitFor('the redelivered record to be committed', async () =>
      // A partition nothing was written to has no commit (-1) and ends at 0.
      (await rawTopicOffsets(p)).every((o) => o.end === 0 || o.committed === o.end),
    );
    const runs = await completedRunsInVisibility(eventId);
    assert.equal(runs.length, 1, 'one workflow run');
    assert.equal(runs[0]!.status.name, 'COMPLETED');
    const byUser = await graphql<{ eventsByUser: unknown[] }>(p, `{ eventsByUser(userId: "${userId}") { eventId } }`);
    assert.equal(byUser.data?.eventsByUser.length, 1, 'one item');
    assert.deepEqual(await listKeys(p, 'events/2026/11/20/'), [`events/2026/11/20/${eventId}.json`]);
  });

  it('a batch with one bad event: the good ones are processed, the bad one is rejected by field', async () => {
    const userId = `user-${randomUUID()}`;
    const res = await postJson(`${p.producerUrl}/events/batch`, {
      events: [
        { event_type: 'click', user_id: userId, payload: { n: 1 } },
        { event_type: 'click', user_id: 42, payload: { n: 2 } },
        { event_type: 'click', user_id: userId, payload: { n: 3 } },
      ],
    });
    assert.equal(res.status, 202);
    assert.equal(res.body.accepted, 2);
    const results = res.body.results as { status: string; event_id?: string; errors?: { field: string }[] }[];
    assert.deepEqual(
      results[1]!.errors?.map((e) => e.field),
      ['events[1].user_id'],
    );
    for (const r of results.filter((x) => x.status === 'accepted')) await waitFor('batch item stored', () => getItem(p, r.event_id!));
  });

  it('poison records written straight to the raw topic go to the DLQ with their position; the bridge keeps going', async () => {
    const producer = p.kafka.producer();
    await producer.connect();
    const marker = randomUUID();
    await producer.send({
      topic: p.config.kafka.topic,
      messages: [
        { key: 'poison', value: `not json ${marker}` },
        { key: 'poison', value: JSON.stringify({ event_type: 'page_view', marker }) },
      ],
    });
    await producer.disconnect();

    const notJson = await waitFor('the unparseable record in the DLQ', () => p.dlq.records.find((r) => r.original === `not json ${marker}`));
    assert.equal(notJson.error.stage, 'bridge');
    assert.match(notJson.error.message, /not JSON/);
    assert.equal(notJson.source?.topic, p.config.kafka.topic);
    assert.match(notJson.source!.offset, /^\d+$/);
    const invalid = await waitFor('the invalid envelope in the DLQ', () =>
      p.dlq.records.find((r) => (r.original as { marker?: string } | null)?.marker === marker),
    );
    assert.ok(
      invalid.error.fields?.some((f) => f.field === 'event_id'),
      'names the missing field',
    );

    const after = await postJson(`${p.producerUrl}/events`, { event_type: 'page_view', user_id: 'after-poison' });
    await waitFor('an event after the poison records to be stored', () => getItem(p, after.body.event_id as string));
  });

  it('200 events through two bridges and two workers: exactly 200 items and 200 objects', async () => {
    const eventType = `load_${randomUUID().slice(0, 8)}`;
    const day = '2026-11-21';
    const ids = new Set<string>();
    const post = async (i: number) => {
      const res = await postJson(`${p.producerUrl}/events`, { event_type: eventType, user_id: `u${i % 17}`, payload: { i }, timestamp: `${day}T12:00:00Z` });
      assert.equal(res.status, 202);
      ids.add(res.body.event_id as string);
    };
    for (let i = 0; i < 200; i += 50) await Promise.all(Array.from({ length: 50 }, (_, j) => post(i + j)));
    assert.equal(ids.size, 200);

    await waitFor('200 items', async () => (await countByType(p, eventType)) === 200, { timeoutMs: 120_000, intervalMs: 1_000 });
    const keys = await waitFor(
      '200 objects',
      async () => {
        const k = (await listKeys(p, 'events/2026/11/21/')).filter((key) => ids.has(key.slice(-41, -5)));
        return k.length === 200 && k;
      },
      { timeoutMs: 60_000, intervalMs: 1_000 },
    );
    assert.equal(new Set(keys).size, 200);
    assert.equal(await countByType(p, eventType), 200, 'still exactly 200 once everything settled');

    // Both bridges took part: the group has two members sharing the 4 partitions (a rebalance
    // in progress shows fewer, so wait for a stable group).
    const group = await stableGroup(p);
    assert.equal(group.members.length, 2);

    // Both workers' Temporal SDK exporters counted the runs, and, the tasks having come through
    // the task queue (no eager start in this layout), their schedule-to-start latency. A run
    // completes after its writes, and the exporter reports it later still: waited for.
    const sdk = await waitUntil(
      "the workers' exporters to count 200 runs",
      async () => {
        const samples = (await Promise.all(['worker-1', 'worker-2'].map((name) => scrape(p.workerMetricsUrl(name))))).flat();
        return {
          completed: total(samples, 'temporal_workflow_completed', { workflow_type: 'processEvent' }),
          scheduleToStart: total(samples, 'temporal_workflow_task_schedule_to_start_latency_count', { task_queue: p.config.temporal.taskQueue }),
        };
      },
      (m) => m.completed >= 200 && m.scheduleToStart >= 200,
      { timeoutMs: 60_000, intervalMs: 1_000 },
    );
    assert.ok(sdk.completed >= 200 && sdk.scheduleToStart >= 200);
  });

  /**
   * The archiveCold attempts a run's history shows: the fast-path attempt (a local activity
   * marker), if any, plus the attempt number of the regular activity's last started attempt;
   * `started` is false when the budget ran out while an attempt waited to be picked up (then no
   * started event is written).
   */
  const archiveAttempts = async (id: string, runId: string) => {
    const events = (await p.temporal.workflow.getHandle(id, runId).fetchHistory()).events ?? [];
    const local = events.filter((e) => {
      const data = e.markerRecordedEventAttributes?.details?.data?.payloads?.[0]?.data;
      return data && (JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type?: string }).activity_type === 'archiveCold';
    }).length;
    const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'archiveCold');
    const started = events.find((e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId) === String(scheduled?.eventId));
    return { started: started !== undefined, total: local + (started?.activityTaskStartedEventAttributes?.attempt ?? 0) };
  };

  it('S3 down past the budget: the hot write lands, the archive is retried until the budget runs out, then dead-lettered with its true attempt count; replay-dlq restarts it', async () => {
    await stack('stop', 's3');
    try {
      const userId = `user-${randomUUID()}`;
      const res = await postJson(`${p.producerUrl}/events`, { event_type: 'purchase', user_id: userId, payload: { amount: 42 } });
      assert.equal(res.status, 202);
      const id = res.body.event_id as string;

      await waitFor('the DynamoDB item while S3 is down', () => getItem(p, id));
      const retrying = await waitFor('archiveCold to be retrying', async () => {
        const d = await describeWithCli(p, id);
        return (d.pendingActivities ?? []).find((a) => a.activityType?.name === 'archiveCold' && (a.attempt ?? 0) >= 2);
      });
      assert.ok(retrying.lastFailure?.message, 'the last failure is visible');

      const record = await waitFor('the DLQ record', () => p.dlq.records.find((r) => r.workflow_id === id), { timeoutMs: 90_000 });
      assert.equal(record.error.stage, 'archiveCold');
      assert.equal((record.original as EventEnvelope).event_id, id);
      assert.ok(record.run_id);
      assert.ok(Date.parse(record.failed_at));
      // The last error as the S3 client raised it (the one the Web UI showed), and as many
      // attempts as Temporal ran.
      assert.notEqual(record.error.type, 'TimeoutFailure');
      assert.ok(record.error.message.startsWith(retrying.lastFailure!.message!), `${record.error.message} vs ${retrying.lastFailure!.message}`);
      assert.ok(record.error.attempts >= (retrying.attempt ?? 0), `at least the attempts seen pending (${record.error.attempts})`);
      const history = await archiveAttempts(id, record.run_id);
      if (history.started) assert.equal(record.error.attempts, history.total);
      const d = await waitFor('the workflow to be Failed', async () => {
        const x = await p.temporal.workflow.getHandle(id).describe();
        return x.status.name === 'FAILED' && x;
      });
      assert.equal(d.runId, record.run_id);

      // Replay once S3 is back: the same event_id runs again (the failed run allows it) and completes.
      await stack('start', 's3');
      const replay = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/ops/events.ts', 'dlq', 'replay', '--event-id', id], {
        cwd: REPO_ROOT,
        env: { ...process.env, ...p.env },
      });
      assert.match(replay.stdout, new RegExp(`^${id} restarted \\(previous run Failed\\)`, 'm'));
      assert.match(replay.stdout, /^restarted 1, would restart 0, completed earlier 0, still running 0, refused 0$/m);
      await waitFor('the replayed run to complete', async () => {
        const x = await p.temporal.workflow.getHandle(id).describe();
        return x.runId !== record.run_id && x.status.name === 'COMPLETED';
      });
      const item = await getItem(p, id);
      assert.ok(await getObject(p, archiveKey({ event_id: id, timestamp: item!.timestamp as string })), 'archived after the replay');
      // Stored in the first run, announced again by the replayed one: counted once.
      await countsCaughtUp(p);
      const day = Date.parse(item!.timestamp as string);
      assert.equal(await countedEvents(p, `userId: "${userId}"`, new Date(day - 86_400_000).toISOString(), new Date(day + 86_400_000).toISOString()), 1);
    } finally {
      await stack('start', 's3');
    }
  });

  it('S3 back within the budget: the archive is retried until it works, and the event completes in its first run with no dead letter and no replay', async () => {
    let id: string;
    await stack('stop', 's3');
    try {
      const res = await postJson(`${p.producerUrl}/events`, { event_type: 'purchase', user_id: `user-${randomUUID()}`, payload: { amount: 7 } });
      assert.equal(res.status, 202);
      id = res.body.event_id as string;
      await waitFor('archiveCold to be retrying', async () => {
        const d = await describeWithCli(p, id);
        return (d.pendingActivities ?? []).some((a) => a.activityType?.name === 'archiveCold' && (a.attempt ?? 0) >= 2);
      });
    } finally {
      await stack('start', 's3');
    }
    const done = await completed(id);
    const item = await getItem(p, id);
    assert.ok(await getObject(p, archiveKey({ event_id: id, timestamp: item!.timestamp as string })), 'archived');
    assert.ok((await archiveAttempts(id, done.runId)).total >= 2, 'archived by a retry');
    const runs = await completedRunsInVisibility(id);
    assert.equal(runs.length, 1, 'one run: no replay was needed');
    assert.equal(
      p.dlq.records.find((r) => r.workflow_id === id),
      undefined,
      'no dead letter',
    );
  });

  it('Temporal down: the bridge waits and retries without committing, then resumes by itself', async () => {
    await stack('stop', 'temporal');
    let id: string;
    try {
      const res = await postJson(`${p.producerUrl}/events`, { event_type: 'page_view', user_id: `user-${randomUUID()}` });
      assert.equal(res.status, 202, 'the producer does not need Temporal');
      id = res.body.event_id as string;
      // One line per backoff step and partition (not per record), naming the window's first offset.
      await waitFor('a bridge to report it is backing off', () =>
        ['bridge-1', 'bridge-2'].some((b) => p.output(b).some((l) => l.includes('cannot start workflows; backing off, nothing committed'))),
      );
    } finally {
      await stack('start', 'temporal');
    }
    await waitFor('the event to be stored once Temporal is back', () => getItem(p, id), { timeoutMs: 90_000, intervalMs: 500 });
    await completed(id);
    for (const b of ['bridge-1', 'bridge-2']) assert.ok(!p.output(b).some((l) => l.includes('bridge failed')), `${b} kept running`);
  });

  it('Kafka down: POST /events answers 503 with Retry-After instead of hanging; /ready says unavailable; recovery is automatic', async () => {
    await stack('stop', 'kafka');
    try {
      // The abort only guards against a hang; the producer answers after KAFKA_PRODUCE_TIMEOUT_MS.
      const res = await fetch(`${p.producerUrl}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ event_type: 'page_view', user_id: 'while-kafka-down' }),
        signal: AbortSignal.timeout(30_000),
      });
      assert.equal(res.status, 503);
      assert.ok(Number(res.headers.get('retry-after')) > 0, 'Retry-After header');
      assert.match(((await res.json()) as { error: string }).error, /unavailable/i);
      const ready = await fetch(`${p.producerUrl}/ready`, { signal: AbortSignal.timeout(30_000) });
      assert.equal(ready.status, 503);
    } finally {
      await stack('start', 'kafka');
    }
    const accepted = await waitFor(
      'the producer to accept again',
      async () => {
        const res = await postJson(`${p.producerUrl}/events`, { event_type: 'page_view', user_id: `user-${randomUUID()}` });
        return res.status === 202 && (res.body.event_id as string);
      },
      { timeoutMs: 60_000, intervalMs: 1_000 },
    );
    await waitFor('the event to flow through after Kafka returned', () => getItem(p, accepted), { timeoutMs: 120_000, intervalMs: 1_000 });
  });

  it('SIGTERM drains: requests in flight when the producer is told to stop are answered, and every accepted event is stored', async () => {
    const userId = `drain-${randomUUID()}`;
    type Outcome = { status: number; id: string; error?: string };
    const outcomes = Array.from({ length: 100 }, (): Promise<Outcome> =>
      postJson(`${p.producerUrl}/events`, { event_type: 'page_view', user_id: userId }).then(
        (r) => ({ status: r.status, id: r.body.event_id as string }),
        (err: Error & { cause?: { code?: string } }) => ({ status: 0, id: '', error: err.cause?.code ?? err.message }),
      ),
    );
    // Stop the producer as soon as the first answer arrives, while the others are in flight.
    await Promise.race(outcomes);
    const exit = p.signal('producer', 'SIGTERM');
    const results = await Promise.all(outcomes);
    assert.equal(await exit, 0, 'the producer exits cleanly');
    assert.ok(p.output('producer').some((l) => l.includes('producer stopped')));
    const accepted = results.filter((r) => r.status === 202);
    assert.ok(accepted.length > 0, 'requests in flight were answered');
    const others = results.filter((r) => r.status !== 202);
    // A request that never got an answer failed at the connection (refused, or its keep-alive
    // socket closed before the server read it), never with a 5xx.
    for (const r of others) assert.equal(r.status, 0, `unexpected answer ${JSON.stringify(r)}`);
    // And none of them was published: what reached Kafka is exactly what was answered 202.
    const published = await readKeys(p, p.config.kafka.topic, userId);
    assert.deepEqual(published.sort(), accepted.map((r) => r.id).sort());
    await waitFor(
      `all ${accepted.length} accepted events to be stored`,
      async () => {
        const rows = await Promise.all(accepted.map((r) => getItem(p, r.id)));
        return rows.every(Boolean);
      },
      { timeoutMs: 60_000, intervalMs: 1_000 },
    );
  });
});
