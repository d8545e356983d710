import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CONFIG_VARIABLES, ConfigError, loadConfig } from '../../src/config';
import { REPO_ROOT } from '../support/paths';

const problemsOf = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  assert.fail(`expected ${JSON.stringify(env)} to be rejected`);
};

describe('config', () => {
  it('defaults to the local stack and the names in DESIGN.md', () => {
    const c = loadConfig({});
    assert.deepEqual(c.kafka.brokers, ['localhost:9092']);
    assert.equal(c.kafka.topic, 'events.raw');
    assert.equal(c.kafka.dlqTopic, 'events.dlq');
    assert.equal(c.kafka.consumerGroup, 'event-processors');
    assert.equal(c.temporal.address, 'localhost:7233');
    assert.equal(c.temporal.namespace, 'default');
    assert.equal(c.temporal.taskQueue, 'events');
    assert.equal(c.aws.table, 'EventsHot');
    assert.equal(c.aws.bucket, 'event-platform-raw-events');
    assert.equal(c.aws.dynamoEndpoint, 'http://127.0.0.1:4567');
    assert.equal(c.aws.s3Endpoint, 'http://127.0.0.1:9000');
    assert.equal(c.http.producerPort, 8000);
    assert.equal(c.http.graphqlPort, 8001);
    assert.equal(c.limits.maxEventBytes, 32_768);
    assert.equal(c.graphql.maxLimit, 100);
  });

  it('in production leaves the AWS endpoints to the SDK (real AWS)', () => {
    const c = loadConfig({ ENVIRONMENT: 'production' });
    assert.equal(c.aws.dynamoEndpoint, undefined);
    assert.equal(c.aws.s3Endpoint, undefined);
    assert.equal(c.aws.s3ForcePathStyle, false);
  });

  it('reads lists and numbers; treats empty as unset', () => {
    const c = loadConfig({ KAFKA_BOOTSTRAP_SERVERS: 'a:9092, b:9093', PRODUCER_PORT: '8080', S3_ENDPOINT: '' });
    assert.deepEqual(c.kafka.brokers, ['a:9092', 'b:9093']);
    assert.equal(c.http.producerPort, 8080);
    assert.equal(c.aws.s3Endpoint, 'http://127.0.0.1:9000');
  });

  const bad: [string, string, RegExp][] = [
    ['KAFKA_BOOTSTRAP_SERVERS', 'localhost', /host:port/],
    ['PRODUCER_PORT', 'eighty', /integer/],
    ['GRAPHQL_PORT', '70000', /<= 65535/],
    ['TEMPORAL_ADDRESS', 'http://localhost:7233', /host:port/],
    ['ENVIRONMENT', 'staging', /development, test or production/],
    ['DYNAMODB_ENDPOINT', 'localhost:4567', /http/],
    ['S3_BUCKET', 'Bad_Bucket', /bucket name/],
    ['AWS_REGION', 'mars', /region/],
    ['S3_FORCE_PATH_STYLE', 'maybe', /true or false/],
    ['HOT_RETRY_MAX_ATTEMPTS', '0', />= 1/],
    ['LOG_LEVEL', 'loud', /debug/],
  ];
  for (const [variable, value, expected] of bad) {
    it(`rejects ${variable}=${value} naming the variable`, () => {
      const problems = problemsOf({ [variable]: value });
      assert.equal(problems.length, 1);
      assert.equal(problems[0]!.variable, variable);
      assert.match(problems[0]!.message, expected);
      assert.match(problems[0]!.message, new RegExp(`got "${value}"`));
    });
  }

  it('reports every bad variable at once, and cross-field mistakes', () => {
    assert.deepEqual(problemsOf({ PRODUCER_PORT: 'x', GRAPHQL_PORT: 'y' }).map((p) => p.variable), ['PRODUCER_PORT', 'GRAPHQL_PORT']);
    assert.equal(problemsOf({ KAFKA_DLQ_TOPIC: 'events.raw' })[0]!.variable, 'KAFKA_DLQ_TOPIC');
    assert.equal(problemsOf({ GRAPHQL_DEFAULT_LIMIT: '500', GRAPHQL_MAX_LIMIT: '100' })[0]!.variable, 'GRAPHQL_DEFAULT_LIMIT');
  });

  it('env.example documents every variable', () => {
    const example = readFileSync(join(REPO_ROOT, 'env.example'), 'utf8');
    const documented = new Set([...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]));
    const missing = CONFIG_VARIABLES.filter((v) => !documented.has(v));
    assert.deepEqual(missing, [], `undocumented: ${missing.join(', ')}`);
  });

  for (const entry of ['src/producer/server.ts', 'src/bridge/main.ts', 'workers/main.ts', 'src/graphql/server.ts']) {
    it(`${entry} exits at startup with a message naming a bad variable`, () => {
      const run = spawnSync(process.execPath, ['--import', 'tsx', entry], {
        cwd: REPO_ROOT,
        env: { ...process.env, KAFKA_BOOTSTRAP_SERVERS: 'not-a-broker', TEMPORAL_ADDRESS: 'nowhere' },
        encoding: 'utf8',
        timeout: 30_000,
      });
      assert.equal(run.status, 78, run.stderr);
      assert.match(run.stderr, /KAFKA_BOOTSTRAP_SERVERS: expected a comma-separated list of host:port/);
      assert.match(run.stderr, /TEMPORAL_ADDRESS: expected host:port/);
    });
  }
});
