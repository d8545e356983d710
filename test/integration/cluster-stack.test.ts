/**
 * The cluster profile of the local stack (docs/cluster.md): three KRaft brokers replicating the
 * platform's topics, a Temporal server on PostgreSQL, its Web UI. Runs only against that stack
 * (the harness sets what infra/profiles/cluster.env sets, as npm test does):
 *   STACK_PROFILE=cluster npm run stack:up
 *   STACK_PROFILE=cluster infra/bin/node --import tsx --test test/integration/cluster-stack.test.ts
 * The brokers' names, node ids and ports are infra/lib.sh's (test/support/stack.ts reads them).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { ConfigResourceTypes, type Admin } from 'kafkajs';
import { loadConfig } from '../../src/platform/config';
import { createKafka } from '../../src/platform/kafka/client';
import { archiveKey } from '../../src/store/archive/layout';
import { getItem, getObject, postJson } from '../support/clients';
import { REPO_ROOT } from '../support/paths';
import { quietLogger, startPlatform, type Platform } from '../support/platform';
import { stackLayout, type StackBroker } from '../support/stack';
import { waitFor } from '../support/wait';
import { HANG_TIMEOUT_MS } from '../support/timeouts';

const skip =
  process.env.STACK_PROFILE === 'cluster'
    ? false
    : 'runs on the cluster profile only: STACK_PROFILE=cluster npm run stack:up, then this file with STACK_PROFILE=cluster (npm test does both)';

const stack = (...args: string[]) => promisify(execFile)('bash', [`${REPO_ROOT}/infra/stack.sh`, ...args], { cwd: REPO_ROOT });
const UI = 'http://127.0.0.1:8233';

describe('cluster stack', { skip, timeout: HANG_TIMEOUT_MS }, () => {
  // The stack's own topics (what `npm start` uses), as provisioned by stack:up.
  const config = loadConfig(process.env);
  const { brokers, services } = stackLayout();
  const [first, second, third] = brokers as [StackBroker, StackBroker, StackBroker];
  /** A service's line in `stack.sh status`: name, port, state. */
  const statusLine = (b: StackBroker, state: string) => new RegExp(`^\\s+${b.service}\\s+${b.port}\\s+${state}$`, 'm');
  let admin: Admin;

  before(async () => {
    admin = createKafka(config.kafka, quietLogger, '-cluster-test').admin();
    await admin.connect();
  });
  after(async () => {
    await admin?.disconnect();
  });

  it('the platform is configured with all three brokers, and the cluster metadata has three', async () => {
    assert.equal(brokers.length, 3, 'the profile runs three brokers');
    assert.deepEqual(
      config.kafka.brokers,
      brokers.map((b) => `127.0.0.1:${b.port}`),
      'KAFKA_BOOTSTRAP_SERVERS from infra/profiles/cluster.env',
    );
    const cluster = await admin.describeCluster();
    assert.deepEqual(cluster.brokers.map((b) => `${b.nodeId}@${b.host}:${b.port}`).sort(), brokers.map((b) => `${b.nodeId}@127.0.0.1:${b.port}`).sort());
    assert.ok(
      brokers.some((b) => b.nodeId === cluster.controller),
      `controller ${cluster.controller} is one of the brokers`,
    );
  });

  it("the platform's topics and the consumer offsets have 3 replicas, min.insync.replicas 2, no unclean leader election", async () => {
    const topics = [config.kafka.topic, config.kafka.dlqTopic, config.kafka.storedTopic, '__consumer_offsets'];
    // Kafka creates __consumer_offsets at the first group-coordinator lookup, which this makes.
    await admin.describeGroups([config.kafka.consumerGroup]);
    const meta = await waitFor('the topics metadata', () => admin.fetchTopicMetadata({ topics }), { timeoutMs: 60_000 });
    for (const t of meta.topics) {
      for (const p of t.partitions) {
        assert.equal(p.replicas.length, 3, `${t.name}[${p.partitionId}] replicas ${p.replicas.join(',')}`);
        assert.equal(new Set(p.replicas).size, 3, `${t.name}[${p.partitionId}] on three different brokers`);
      }
    }
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['min.insync.replicas', 'unclean.leader.election.enable'] })),
    });
    for (const r of described.resources) {
      const value = (name: string) => r.configEntries.find((e) => e.configName === name)?.configValue;
      assert.equal(value('min.insync.replicas'), '2', `${r.resourceName} min.insync.replicas`);
      assert.equal(value('unclean.leader.election.enable'), 'false', `${r.resourceName} unclean.leader.election.enable`);
    }
  });

  it('Temporal runs on PostgreSQL: persistence and visibility stores, as the Web UI shows them', async () => {
    const res = await fetch(`${UI}/api/v1/cluster-info`);
    assert.equal(res.status, 200);
    const info = (await res.json()) as { serverVersion: string; persistenceStore: string; visibilityStore: string; historyShardCount: number };
    assert.match(info.serverVersion, /^1\.29\./);
    assert.equal(info.persistenceStore, 'postgres12');
    assert.equal(info.visibilityStore, 'postgres12');
    assert.equal(info.historyShardCount, 4);
    const page = await fetch(`${UI}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
  });

  it('`stack:status` lists every service of the profile as running', async () => {
    const { stdout } = await stack('status');
    for (const svc of services) {
      assert.match(stdout, new RegExp(`^\\s+${svc}\\s+\\d+\\s+running \\(pid \\d+\\)$`, 'm'), `${svc} in:\n${stdout}`);
    }
  });

  it('stack:up with PostgreSQL and Temporal stopped starts both, Temporal once PostgreSQL accepts connections', async () => {
    await stack('stop', 'temporal');
    await stack('stop', 'postgres');
    try {
      await stack('up');
    } finally {
      // Whatever the outcome, the services this test stopped run again.
      await stack('start', 'postgres').catch(() => undefined);
      await stack('start', 'temporal').catch(() => undefined);
    }
    const { stdout } = await stack('status');
    assert.match(stdout, /^\s+postgres\s+5433\s+running/m);
    assert.match(stdout, /^\s+temporal\s+7233\s+running/m);
  });

  it(`\`stack.sh kill ${third.service}\` is a crash, not a shutdown: the process is gone at once, status says stopped, start brings it back`, async () => {
    const pidBefore = statusLine(third, 'running \\(pid (\\d+)\\)').exec((await stack('status')).stdout)?.[1];
    assert.ok(pidBefore, `${third.service} runs before the kill`);
    await stack('kill', third.service);
    try {
      assert.throws(() => process.kill(Number(pidBefore), 0), /ESRCH/, 'the broker process no longer exists');
      const { stdout } = await stack('status').catch((err: { stdout: string }) => err);
      assert.match(stdout, statusLine(third, 'stopped'));
    } finally {
      await stack('start', third.service);
    }
    await waitFor(
      `${third.service} back in every in-sync replica set`,
      async () => {
        const meta = await admin.fetchTopicMetadata({ topics: [config.kafka.topic] });
        return meta.topics[0]!.partitions.every((part) => part.isr.includes(third.nodeId));
      },
      { timeoutMs: 120_000 },
    );
  });

  it('`stack.sh kill` names the services it knows when given another', async () => {
    const err = (await stack('kill', 'kafka-9').catch((e: unknown) => e)) as { code?: number; stderr?: string };
    assert.notEqual(err.code, 0);
    assert.match(err.stderr ?? '', new RegExp(`unknown service 'kafka-9'.*${first.service}`));
  });

  describe('an event end to end', () => {
    let p: Platform;
    before(async () => {
      p = await startPlatform({ processors: 1 });
    });
    after(async () => {
      await p?.stop();
    });

    const post = async () => {
      const userId = `user-${randomUUID()}`;
      const res = await postJson(`${p.producerUrl}/events`, { event_type: 'page_view', user_id: userId, payload: { page: '/cluster' } });
      assert.equal(res.status, 202, JSON.stringify(res.body));
      return { id: res.body.event_id as string, userId };
    };

    const delivered = async (id: string, userId: string) => {
      const item = await waitFor('the DynamoDB item', () => getItem(p, id), { timeoutMs: 60_000 });
      assert.equal(item.user_id, userId);
      const object = await waitFor('the S3 object', () => getObject(p, archiveKey({ event_id: id, timestamp: item.timestamp as string })), {
        timeoutMs: 60_000,
      });
      assert.equal((JSON.parse(object.body) as { event_id: string }).event_id, id);
      // Found through the search attributes: advanced visibility on PostgreSQL.
      const query = `EventType = 'page_view' AND UserId = '${userId}' AND ExecutionStatus = 'Completed'`;
      const runs = await waitFor(
        'the completed run in visibility',
        async () => {
          const found = [];
          for await (const wf of p.temporal.workflow.list({ query })) found.push(wf.workflowId);
          return found.length > 0 && found;
        },
        { timeoutMs: 60_000 },
      );
      assert.deepEqual(runs, [id]);
      // What someone inspecting retries sees: the Web UI lists the run.
      const ui = await fetch(`${UI}/api/v1/namespaces/${p.config.temporal.namespace}/workflows?query=${encodeURIComponent(`WorkflowId = '${id}'`)}`);
      assert.equal(ui.status, 200);
      const listed = (await ui.json()) as { executions?: { execution: { workflowId: string } }[] };
      assert.deepEqual(
        listed.executions?.map((e) => e.execution.workflowId),
        [id],
      );
    };

    it('a posted event is stored, archived, and its completed run is found by its search attributes and in the Web UI', async () => {
      const { id, userId } = await post();
      await delivered(id, userId);
    });

    it(`with ${second.service} stopped, events are still accepted (acks=all, 2 of 3 in sync) and delivered; ${second.service} rejoins`, async () => {
      await stack('stop', second.service);
      try {
        const { stdout } = await stack('status').catch((err: { stdout: string }) => err);
        assert.match(stdout, statusLine(second, 'stopped'));
        const { id, userId } = await post();
        await delivered(id, userId);
      } finally {
        await stack('start', second.service);
      }
      await waitFor(
        `${second.service} back in every in-sync replica set`,
        async () => {
          const meta = await admin.fetchTopicMetadata({ topics: [p.config.kafka.topic] });
          return meta.topics[0]!.partitions.every((part) => part.isr.includes(second.nodeId));
        },
        { timeoutMs: 120_000 },
      );
    });
  });
});
