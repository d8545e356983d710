/**
 * docker-compose.yml cannot be run where the tests run (no Docker engine), so its contract with the
 * code is checked statically: every service built from the Dockerfile must be configured only by
 * variables src/platform/config/schema.ts reads, with values loadConfig accepts, pointing at services the file
 * defines, and the host ports and fixed names must be those of docs/design.md.
 *
 * Each check returns a list of problems (empty = fine); the last test feeds broken copies of the
 * file to the checks to show that they do fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { CONFIG_VARIABLES, ConfigError, loadConfig, type Config } from '../../src/platform/config';

type PortEntry = string | number | { target?: number | string; published?: number | string; host_ip?: string };

interface Service {
  image?: string;
  build?: unknown;
  hostname?: string;
  entrypoint?: string | string[];
  command?: string | string[];
  environment?: Record<string, unknown> | string[];
  ports?: PortEntry[];
  deploy?: { replicas?: number };
  depends_on?: string[] | Record<string, { condition?: string }>;
}

interface Compose {
  services?: Record<string, Service>;
}

type Env = Record<string, string | undefined>;

const COMPOSE_FILE = join(__dirname, '..', '..', 'docker-compose.yml');

/** Variables a platform service may set besides CONFIG_VARIABLES. */
const EXTRA_VARIABLES = ['AWS_SECRET_ACCESS_KEY', 'NODE_ENV'];

/** docs/design.md "Fixed names": when a service sets one of these, it must keep the fixed value. */
const FIXED_NAMES: Record<string, string> = {
  KAFKA_TOPIC: 'events.raw',
  KAFKA_DLQ_TOPIC: 'events.dlq',
  KAFKA_CONSUMER_GROUP: 'event-processors',
  TEMPORAL_NAMESPACE: 'default',
  TEMPORAL_TASK_QUEUE: 'events',
  DYNAMODB_TABLE: 'EventsHot',
  DYNAMODB_COUNTS_TABLE: 'EventCounts',
  S3_BUCKET: 'event-platform-raw-events',
};

function readCompose(): Compose {
  return parse(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }) as Compose;
}

function servicesOf(compose: Compose): [string, Service][] {
  return Object.entries(compose.services ?? {});
}

/** The services built from the project's Dockerfile: the platform's own processes. */
function platformServices(compose: Compose): [string, Service][] {
  return servicesOf(compose).filter(([, service]) => service.build !== undefined);
}

/** A service's environment as the container sees it (Compose turns numbers and booleans into strings). */
function environmentOf(service: Service): Env {
  const env = service.environment;
  if (env === undefined) return {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry) => {
        const eq = entry.indexOf('=');
        return eq === -1 ? [entry, undefined] : [entry.slice(0, eq), entry.slice(eq + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, value === null || value === undefined ? undefined : String(value)]));
}

/** Entrypoint and command as one string, for "what does this service run". */
function commandOf(service: Service): string {
  const part = (v: string | string[] | undefined) => (v === undefined ? '' : Array.isArray(v) ? v.join(' ') : v);
  return `${part(service.entrypoint)} ${part(service.command)}`.trim();
}

function instancesOf(service: Service): number {
  return service.deploy?.replicas ?? 1;
}

interface PublishedPort {
  service: string;
  host: number;
  container: number;
}

/** Host-published ports, from the short ("[ip:]host:container[/proto]") and the long syntax. */
function publishedPorts(compose: Compose): { ports: PublishedPort[]; problems: string[] } {
  const ports: PublishedPort[] = [];
  const problems: string[] = [];
  for (const [name, service] of servicesOf(compose)) {
    for (const entry of service.ports ?? []) {
      let host: string | undefined;
      let container: string | undefined;
      if (typeof entry === 'object') {
        host = entry.published === undefined ? undefined : String(entry.published);
        container = entry.target === undefined ? undefined : String(entry.target);
      } else {
        const parts = String(entry)
          .replace(/\/(tcp|udp)$/, '')
          .split(':');
        container = parts.at(-1);
        host = parts.length >= 2 ? parts.at(-2) : undefined;
      }
      if (host === undefined) continue; // only a container port: Docker picks a random host port
      if (!/^\d+$/.test(host) || container === undefined || !/^\d+$/.test(container)) {
        problems.push(`service "${name}": cannot read port mapping ${JSON.stringify(entry)} (expected host:container with single port numbers)`);
        continue;
      }
      ports.push({ service: name, host: Number(host), container: Number(container) });
    }
  }
  return { ports, problems };
}

/** loadConfig on exactly the service's environment: nothing from the machine running the test. */
function configOf(service: Service): Config | ConfigError {
  try {
    return loadConfig(environmentOf(service));
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
}

// ------------------------------------------------------------------------------------- checks

function checkPlatformServicesExist(compose: Compose): string[] {
  const problems: string[] = [];
  const platform = platformServices(compose);
  const running = (script: string) => platform.filter(([, service]) => commandOf(service).includes(script));
  const wanted: [string, string, number][] = [
    ['producer', 'src/producer/server', 1],
    ['bridge', 'src/bridge/main', 2],
    ['worker', 'workers/main', 2],
    ['graphql', 'src/graphql/server', 1],
    ['provision', 'infra/provision', 1],
  ];
  for (const [role, script, minimum] of wanted) {
    const services = running(script);
    const instances = services.reduce((sum, [, service]) => sum + instancesOf(service), 0);
    if (services.length === 0) problems.push(`no service built from the Dockerfile runs ${script} (the ${role})`);
    else if (instances < minimum) problems.push(`the ${role} (${script}) runs ${instances} instance(s); expected at least ${minimum}`);
  }
  const names = new Set(Object.keys(compose.services ?? {}));
  for (const [name, service] of servicesOf(compose)) {
    const deps = Array.isArray(service.depends_on) ? service.depends_on : Object.keys(service.depends_on ?? {});
    for (const dep of deps) {
      if (!names.has(dep)) problems.push(`service "${name}" depends_on "${dep}", which is not a service in docker-compose.yml`);
      if (dep === name) problems.push(`service "${name}" depends on itself`);
    }
  }
  return problems;
}

function checkConfigLoads(compose: Compose): string[] {
  const problems: string[] = [];
  for (const [name, service] of platformServices(compose)) {
    const config = configOf(service);
    if (config instanceof ConfigError) problems.push(`service "${name}": loadConfig rejects its environment. ${config.message}`);
  }
  return problems;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(above + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

function checkVariableNames(compose: Compose): string[] {
  const known: string[] = [...CONFIG_VARIABLES, ...EXTRA_VARIABLES];
  const problems: string[] = [];
  for (const [name, service] of platformServices(compose)) {
    for (const key of Object.keys(environmentOf(service))) {
      if (known.includes(key)) continue;
      const nearest = known.reduce((best, candidate) => (editDistance(key, candidate) < editDistance(key, best) ? candidate : best));
      const hint = editDistance(key, nearest) <= 3 ? ` Did you mean ${nearest}?` : '';
      problems.push(
        `service "${name}": environment variable ${key} is not read by src/platform/config/schema.ts (not in CONFIG_VARIABLES), so it has no effect.${hint}`,
      );
    }
  }
  return problems;
}

/** docs/design.md: which kind of service owns each host port. */
const HOST_PORTS: { port: number; what: string; owns: (service: Service) => boolean }[] = [
  {
    port: 8000,
    what: 'the producer (built from the Dockerfile, running the producer)',
    owns: (s) => s.build !== undefined && commandOf(s).includes('src/producer/server'),
  },
  {
    port: 8001,
    what: 'the GraphQL API (built from the Dockerfile, running the GraphQL server)',
    owns: (s) => s.build !== undefined && commandOf(s).includes('src/graphql/server'),
  },
  {
    port: 7233,
    what: 'the Temporal dev server (temporalio image, server start-dev)',
    owns: (s) => /^temporalio\//.test(s.image ?? '') && commandOf(s).includes('start-dev'),
  },
  {
    port: 8233,
    what: 'the Temporal Web UI (temporalio image, server start-dev)',
    owns: (s) => /^temporalio\//.test(s.image ?? '') && commandOf(s).includes('start-dev'),
  },
  { port: 9092, what: 'Kafka (apache/kafka image)', owns: (s) => /^apache\/kafka/.test(s.image ?? '') },
  { port: 4567, what: 'the DynamoDB API (dynalite)', owns: (s) => commandOf(s).includes('dynalite') },
  { port: 9000, what: 'the S3 API (versitygw)', owns: (s) => /^versity\/versitygw/.test(s.image ?? '') },
];

function checkHostPorts(compose: Compose): string[] {
  const { ports, problems } = publishedPorts(compose);
  for (const { port, what, owns } of HOST_PORTS) {
    const owners = ports.filter((p) => p.host === port);
    if (owners.length === 0) {
      problems.push(`host port ${port} is not published; docs/design.md gives it to ${what}`);
      continue;
    }
    if (owners.length > 1) problems.push(`host port ${port} is published by more than one service: ${owners.map((o) => o.service).join(', ')}`);
    for (const owner of owners) {
      const service = compose.services?.[owner.service] ?? {};
      if (!owns(service)) problems.push(`host port ${port} is published by service "${owner.service}", but docs/design.md gives it to ${what}`);
    }
  }
  // The platform's HTTP servers must listen where their port mapping points.
  for (const [name, service] of platformServices(compose)) {
    const config = configOf(service);
    if (config instanceof ConfigError) continue; // reported by checkConfigLoads
    const listening = commandOf(service).includes('src/producer/server')
      ? config.http.producerPort
      : commandOf(service).includes('src/graphql/server')
        ? config.http.graphqlPort
        : undefined;
    for (const p of ports.filter((p) => p.service === name)) {
      if (listening !== p.container) {
        problems.push(`service "${name}" maps host port ${p.host} to container port ${p.container}, but it listens on ${listening ?? 'no port'}`);
      }
    }
    if (listening !== undefined && config.http.host !== '0.0.0.0' && config.http.host !== '::') {
      problems.push(`service "${name}" listens on HOST=${config.http.host}, which other containers and the published port cannot reach; set HOST=0.0.0.0`);
    }
  }
  return problems;
}

function hostOf(hostPort: string): string {
  return hostPort.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
}

function checkEndpointsAreServices(compose: Compose): string[] {
  const problems: string[] = [];
  const reachable = new Set(servicesOf(compose).flatMap(([name, service]) => (service.hostname ? [name, service.hostname] : [name])));
  for (const [name, service] of platformServices(compose)) {
    const config = configOf(service);
    if (config instanceof ConfigError) continue; // reported by checkConfigLoads
    const endpoints: [string, string | undefined][] = [
      ...config.kafka.brokers.map((broker): [string, string] => ['KAFKA_BOOTSTRAP_SERVERS', hostOf(broker)]),
      ['TEMPORAL_ADDRESS', hostOf(config.temporal.address)],
      ['DYNAMODB_ENDPOINT', config.aws.dynamoEndpoint === undefined ? undefined : new URL(config.aws.dynamoEndpoint).hostname],
      ['S3_ENDPOINT', config.aws.s3Endpoint === undefined ? undefined : new URL(config.aws.s3Endpoint).hostname],
    ];
    for (const [variable, host] of endpoints) {
      const set = environmentOf(service)[variable] !== undefined;
      if (host === undefined) {
        problems.push(`service "${name}": ${variable} is unset, so the service would talk to real AWS instead of the server in docker-compose.yml`);
      } else if (!reachable.has(host)) {
        problems.push(
          `service "${name}": ${variable} points at host "${host}"${set ? '' : ' (the default, because it is unset)'}, which is not a service in docker-compose.yml (services: ${[...reachable].join(', ')})`,
        );
      }
    }
  }
  return problems;
}

function checkFixedNames(compose: Compose): string[] {
  const problems: string[] = [];
  for (const [name, service] of platformServices(compose)) {
    const env = environmentOf(service);
    for (const [variable, fixed] of Object.entries(FIXED_NAMES)) {
      const value = env[variable];
      if (value !== undefined && value.trim() !== '' && value.trim() !== fixed) {
        problems.push(`service "${name}": ${variable}=${value}, but docs/design.md fixes it to ${fixed} (set it to that or leave it unset)`);
      }
    }
  }
  return problems;
}

function checkTopicInit(compose: Compose): string[] {
  const commands = servicesOf(compose)
    .filter(([, service]) => service.build === undefined)
    .map(([, service]) => commandOf(service));
  const creates = (topic: string, partitions: number) =>
    commands.some((c) =>
      new RegExp(`--create[^\\n]*--if-not-exists[^\\n]*--topic ${topic.replace('.', '\\.')}\\s[^\\n]*--partitions ${partitions}\\b`).test(c),
    );
  const problems: string[] = [];
  if (!creates('events.raw', 4))
    problems.push('no init container creates events.raw with 4 partitions (kafka-topics.sh --create --if-not-exists ... --partitions 4)');
  if (!creates('events.dlq', 1))
    problems.push('no init container creates events.dlq with 1 partition (kafka-topics.sh --create --if-not-exists ... --partitions 1)');
  return problems;
}

const CHECKS = {
  platformServicesExist: checkPlatformServicesExist,
  configLoads: checkConfigLoads,
  variableNames: checkVariableNames,
  hostPorts: checkHostPorts,
  endpointsAreServices: checkEndpointsAreServices,
  fixedNames: checkFixedNames,
  topicInit: checkTopicInit,
};

function assertNoProblems(problems: string[]): void {
  assert.deepEqual(problems, [], `docker-compose.yml:\n  ${problems.join('\n  ')}`);
}

// -------------------------------------------------------------------------------------- tests

void test('docker-compose.yml runs producer, 2 bridges, 2 workers, graphql and provision from the Dockerfile', () => {
  const compose = readCompose();
  assert.ok(platformServices(compose).length > 0, 'docker-compose.yml has no service with a build section (built from the Dockerfile)');
  assertNoProblems(checkPlatformServicesExist(compose));
});

// Each check on the file as it is: no problem reported.
const CHECKS_OF_THE_FILE: [name: string, check: keyof typeof CHECKS][] = [
  ['every platform service environment passes loadConfig on its own', 'configLoads'],
  ['every platform service variable is one src/platform/config/schema.ts reads (or an AWS key / NODE_ENV)', 'variableNames'],
  ['host ports are those of docs/design.md and map to the right services', 'hostPorts'],
  ['Kafka, Temporal, DynamoDB and S3 endpoints point at services defined in the file', 'endpointsAreServices'],
  ['topic, consumer group, namespace, task queue, table and bucket names are the fixed ones or unset', 'fixedNames'],
  ['an init container creates events.raw (4 partitions) and events.dlq idempotently', 'topicInit'],
];
for (const [name, check] of CHECKS_OF_THE_FILE) {
  void test(name, () => {
    assertNoProblems(CHECKS[check](readCompose()));
  });
}

void test('the checks catch a broken file', () => {
  /** A copy of the file with `edit` applied to one service's environment (its own object, not the shared anchor). */
  const withEnv = (service: string, edit: (env: Env) => Env): Compose => {
    const copy = structuredClone(readCompose());
    const target = copy.services?.[service];
    assert.ok(target, `docker-compose.yml has no service "${service}"`);
    target.environment = edit({ ...environmentOf(target) }) as Record<string, unknown>;
    return copy;
  };
  const expectProblem = (check: keyof typeof CHECKS, compose: Compose, pattern: RegExp) => {
    const problems = CHECKS[check](compose);
    assert.ok(
      problems.some((p) => pattern.test(p)),
      `${check} should report ${pattern} for the broken copy, got: ${JSON.stringify(problems)}`,
    );
  };

  // A misspelled variable: unknown to config, and the real one falls back to localhost.
  const typo = withEnv('producer', ({ KAFKA_BOOTSTRAP_SERVERS, ...env }) => ({ ...env, KAFKA_BOOTSTRAP_SERVER: KAFKA_BOOTSTRAP_SERVERS }));
  expectProblem('variableNames', typo, /KAFKA_BOOTSTRAP_SERVER is not read.*Did you mean KAFKA_BOOTSTRAP_SERVERS\?/);
  expectProblem('endpointsAreServices', typo, /"producer": KAFKA_BOOTSTRAP_SERVERS points at host "localhost" \(the default/);

  expectProblem(
    'configLoads',
    withEnv('worker', (env) => ({ ...env, LATEST_INDEX_SHARDS: '0' })),
    /"worker".*LATEST_INDEX_SHARDS/s,
  );
  expectProblem(
    'configLoads',
    withEnv('bridge', (env) => ({ ...env, TEMPORAL_ADDRESS: 'temporal' })),
    /"bridge".*TEMPORAL_ADDRESS/s,
  );
  expectProblem(
    'endpointsAreServices',
    withEnv('graphql', (env) => ({ ...env, DYNAMODB_ENDPOINT: 'http://dynamodb-local:8000' })),
    /"graphql": DYNAMODB_ENDPOINT points at host "dynamodb-local"/,
  );
  expectProblem(
    'fixedNames',
    withEnv('worker', (env) => ({ ...env, S3_BUCKET: 'my-bucket' })),
    /"worker": S3_BUCKET=my-bucket/,
  );
  expectProblem(
    'hostPorts',
    withEnv('producer', (env) => ({ ...env, HOST: '127.0.0.1' })),
    /"producer" listens on HOST=127\.0\.0\.1/,
  );

  // Ports: the producer's port moved to another service, and Kafka's port dropped.
  const ports = structuredClone(readCompose());
  const services = ports.services ?? {};
  services.bridge = { ...services.bridge, ports: ['8000:8000'] };
  services.producer = { ...services.producer, ports: [] };
  services.kafka = { ...services.kafka, ports: [] };
  expectProblem('hostPorts', ports, /host port 8000 is published by service "bridge", but docs\/design\.md gives it to the producer/);
  expectProblem('hostPorts', ports, /host port 9092 is not published/);

  const noWorkers = structuredClone(readCompose());
  delete noWorkers.services?.worker;
  expectProblem('platformServicesExist', noWorkers, /runs workers\/main \(the worker\)/);
});
