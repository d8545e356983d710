/**
 * STACK_PROFILE (infra/lib.sh, infra/stack.sh): which services a profile runs, the platform
 * configuration it exports, and the broker configs rendered from infra/kafka/server.properties.
 * Nothing is started: infra/stack.sh is sourced for its functions.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { REPO_ROOT } from '../support/paths';
import { readStackLayout } from '../support/stack';

const stackDir = mkdtempSync(join(tmpdir(), 'event-platform-profile-'));
after(() => rmSync(stackDir, { recursive: true, force: true }));

function bash(script: string, env: Record<string, string | undefined>) {
  const base: NodeJS.ProcessEnv = { ...process.env, EVENT_PLATFORM_STACK_DIR: stackDir };
  delete base.STACK_PROFILE;
  delete base.KAFKA_BOOTSTRAP_SERVERS;
  const run = spawnSync('bash', ['-c', `source infra/stack.sh && ${script}`], { cwd: REPO_ROOT, env: { ...base, ...env }, encoding: 'utf8' });
  return { status: run.status, stdout: run.stdout.trim(), stderr: run.stderr };
}

/** Every broker's rendered server.properties, as key → value maps. */
function brokerConfigs(profile: string | undefined): Map<string, Map<string, string>> {
  const run = bash(
    'mkdir -p "$STACK_DIR/kafka"; for s in "${KAFKA_SERVICES[@]}"; do mkdir -p "$(kafka_dir "$s")"; render_kafka_properties "$s"; echo "== $s"; cat "$(kafka_dir "$s")/server.properties"; done',
    { STACK_PROFILE: profile },
  );
  assert.equal(run.status, 0, run.stderr);
  const configs = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const line of run.stdout.split('\n')) {
    if (line.startsWith('== ')) configs.set(line.slice(3), (current = new Map()));
    else if (current && /^[a-z]/.test(line)) current.set(line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1));
  }
  return configs;
}

test('the default profile: four services, one broker on 9092 with 1 replica, no platform variables exported', () => {
  const run = bash('echo "${SERVICES[*]}|${KAFKA_BOOTSTRAP_SERVERS:-unset}"', {});
  assert.equal(run.stdout, 'temporal kafka dynamodb s3|unset');
  const configs = brokerConfigs(undefined);
  assert.deepEqual([...configs.keys()], ['kafka']);
  const kafka = configs.get('kafka')!;
  assert.equal(kafka.get('node.id'), '1');
  assert.equal(kafka.get('controller.quorum.voters'), '1@127.0.0.1:9093');
  assert.equal(kafka.get('listeners'), 'PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093,SSL://127.0.0.1:9094,SASL_SSL://127.0.0.1:9096');
  assert.equal(kafka.get('log.dirs'), join(stackDir, 'kafka', 'data'));
  for (const key of ['default.replication.factor', 'offsets.topic.replication.factor', 'min.insync.replicas', 'transaction.state.log.min.isr']) {
    assert.equal(kafka.get(key), '1', key);
  }
  assert.ok(![...kafka.values()].some((v) => /@[A-Z_]+@/.test(v)), 'no placeholder left');
});

test('the cluster profile: three brokers with their own ports and log dirs, one quorum, 3 replicas and min ISR 2', () => {
  const run = bash('echo "${SERVICES[*]}|$KAFKA_BOOTSTRAP_SERVERS"', { STACK_PROFILE: 'cluster' });
  assert.equal(run.stdout, 'kafka-1 kafka-2 kafka-3 dynamodb s3 postgres temporal temporal-ui|127.0.0.1:9092,127.0.0.1:9192,127.0.0.1:9292');
  const configs = brokerConfigs('cluster');
  assert.deepEqual([...configs.keys()], ['kafka-1', 'kafka-2', 'kafka-3']);
  const all = [...configs.values()];
  assert.deepEqual(
    all.map((c) => c.get('node.id')),
    ['1', '2', '3'],
  );
  assert.deepEqual(new Set(all.map((c) => c.get('controller.quorum.voters'))), new Set(['1@127.0.0.1:9093,2@127.0.0.1:9193,3@127.0.0.1:9293']));
  const ports = all.flatMap((c) => [...c.get('listeners')!.matchAll(/:(\d+)/g)].map((m) => m[1]));
  assert.equal(new Set(ports).size, 12, `every listener port differs: ${ports.join(' ')}`);
  assert.deepEqual(
    all.map((c) => c.get('log.dirs')),
    [...configs.keys()].map((b) => join(stackDir, b, 'data')),
  );
  for (const c of all) {
    for (const key of ['default.replication.factor', 'offsets.topic.replication.factor', 'transaction.state.log.replication.factor'])
      assert.equal(c.get(key), '3', key);
    for (const key of ['min.insync.replicas', 'transaction.state.log.min.isr']) assert.equal(c.get(key), '2', key);
    assert.equal(c.get('unclean.leader.election.enable'), 'false');
    assert.ok(![...c.values()].some((v) => /@[A-Z_]+@/.test(v)), 'no placeholder left');
  }
});

test("the cluster profile's KAFKA_BOOTSTRAP_SERVERS (infra/profiles/cluster.env) is every broker's PLAINTEXT listener, in order", () => {
  const exported = bash('echo "$KAFKA_BOOTSTRAP_SERVERS"', { STACK_PROFILE: 'cluster' }).stdout;
  const listeners = [...brokerConfigs('cluster').values()].map((c) => /PLAINTEXT:\/\/([^,]+)/.exec(c.get('listeners')!)?.[1]);
  assert.equal(exported, listeners.join(','));
});

test('test/support/stack.ts reads the layout from infra/lib.sh: directory, services, brokers, the profile env', () => {
  const env = { ...process.env, EVENT_PLATFORM_STACK_DIR: stackDir, STACK_PROFILE: 'cluster', KAFKA_BOOTSTRAP_SERVERS: undefined };
  const cluster = readStackLayout(env);
  assert.equal(cluster.profile, 'cluster');
  assert.equal(cluster.dir, stackDir, 'EVENT_PLATFORM_STACK_DIR, as lib.sh reads it');
  assert.equal(cluster.kafkaTlsDir, join(stackDir, 'kafka', 'tls'));
  assert.deepEqual(cluster.services, ['kafka-1', 'kafka-2', 'kafka-3', 'dynamodb', 's3', 'postgres', 'temporal', 'temporal-ui']);
  assert.deepEqual(cluster.brokers, [
    { service: 'kafka-1', nodeId: 1, port: 9092 },
    { service: 'kafka-2', nodeId: 2, port: 9192 },
    { service: 'kafka-3', nodeId: 3, port: 9292 },
  ]);
  assert.deepEqual(cluster.profileEnv, { KAFKA_BOOTSTRAP_SERVERS: '127.0.0.1:9092,127.0.0.1:9192,127.0.0.1:9292' });
  assert.deepEqual(readStackLayout({ ...env, KAFKA_BOOTSTRAP_SERVERS: 'broker.example:9092' }).profileEnv, { KAFKA_BOOTSTRAP_SERVERS: 'broker.example:9092' });
  const unset = { ...env, STACK_PROFILE: undefined, EVENT_PLATFORM_STACK_DIR: undefined };
  const plain = readStackLayout(unset);
  assert.equal(plain.dir, join(REPO_ROOT, '.stack'));
  assert.deepEqual(plain.brokers, [{ service: 'kafka', nodeId: 1, port: 9092 }]);
  assert.deepEqual(plain.profileEnv, {});
  assert.throws(() => readStackLayout({ ...env, STACK_PROFILE: 'clusters' }), /STACK_PROFILE must be default or cluster, got "clusters"/);
});

test('a test file run on its own with STACK_PROFILE=cluster gets the profile env through the harness, a value already set kept', () => {
  const brokersSeen = (extra: Record<string, string | undefined>) => {
    const env: NodeJS.ProcessEnv = { ...process.env, EVENT_PLATFORM_STACK_DIR: stackDir, STACK_PROFILE: 'cluster', ...extra };
    if (extra.KAFKA_BOOTSTRAP_SERVERS === undefined) delete env.KAFKA_BOOTSTRAP_SERVERS;
    const script = "require('./test/support/platform'); process.stdout.write(JSON.stringify(require('./src/platform/config').loadConfig().kafka.brokers));";
    const run = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: REPO_ROOT, env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(run.status, 0, run.stderr);
    return JSON.parse(run.stdout) as string[];
  };
  assert.deepEqual(brokersSeen({}), ['127.0.0.1:9092', '127.0.0.1:9192', '127.0.0.1:9292']);
  assert.deepEqual(brokersSeen({ KAFKA_BOOTSTRAP_SERVERS: 'broker.example:9092' }), ['broker.example:9092']);
});

test('a KAFKA_BOOTSTRAP_SERVERS already set wins over the profile', () => {
  const run = bash('echo "$KAFKA_BOOTSTRAP_SERVERS"', { STACK_PROFILE: 'cluster', KAFKA_BOOTSTRAP_SERVERS: 'broker.example:9092' });
  assert.equal(run.stdout, 'broker.example:9092');
});

for (const bad of ['Cluster', 'clusters', ' cluster', 'default;rm', '']) {
  test(`STACK_PROFILE=${JSON.stringify(bad)} ${bad === '' ? 'is the default profile' : 'fails naming the variable'}`, () => {
    const run = bash('echo "${SERVICES[*]}"', { STACK_PROFILE: bad });
    if (bad === '') {
      assert.equal(run.stdout, 'temporal kafka dynamodb s3');
      return;
    }
    assert.equal(run.status, 1);
    assert.match(run.stderr, /STACK_PROFILE must be default or cluster/);
  });
}

test('stack.sh start|stop with a service the profile does not have fails and lists the ones it has', () => {
  for (const [profile, name, listed] of [
    ['cluster', 'kafka-4', /kafka \(every broker\) kafka-1 kafka-2 kafka-3 .*temporal-ui/],
    ['default', 'kafka-1', /one of temporal kafka dynamodb s3$/m],
    ['default', 'postgres', /one of temporal kafka dynamodb s3$/m],
  ] as const) {
    for (const verb of ['start', 'stop']) {
      const run = spawnSync('bash', ['infra/stack.sh', verb, name], {
        cwd: REPO_ROOT,
        env: { ...process.env, STACK_PROFILE: profile, EVENT_PLATFORM_STACK_DIR: stackDir },
        encoding: 'utf8',
      });
      assert.equal(run.status, 1, `${profile} ${verb} ${name}: ${run.stderr}`);
      assert.match(run.stderr, new RegExp(`unknown service '${name}'`));
      assert.match(run.stderr, listed);
    }
  }
});

test('the Temporal server is started only once PostgreSQL accepts connections, also when its schema is already set up', () => {
  // The stubs record the order: waiting for postgres must come before the schema step, which
  // returns at once when its marker says the schema is current.
  const run = bash('service_running() { true; }; wait_ready() { echo "wait_ready $1"; }; temporal_schema() { echo schema; }; prepare_temporal_server', {
    STACK_PROFILE: 'cluster',
  });
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(run.stdout.split('\n'), ['wait_ready postgres', 'schema']);
});
