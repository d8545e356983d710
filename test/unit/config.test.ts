import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { configurationTable, docWithTable, TABLE_DOC } from '../../infra/config-table';
import { archiveLifecycleRule } from '../../src/store/archive/layout';
import { CONFIG_VARIABLES, ConfigError, isSecretVariable, loadConfig, MAX_EVENT_BYTES_CAP, PRODUCER_MAX_BATCH_BYTES_CAP } from '../../src/platform/config';
import { BLANK_IS_A_VALUE } from '../../src/platform/config/schema';
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
  it('defaults to the local stack and the fixed names of docs/design.md', () => {
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
    ['HOT_RETRY_MAX_ATTEMPTS', '-1', />= 0/],
    ['COLD_RETRY_MAX_ELAPSED_MS', '500', />= 1000/],
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

  describe('list variables: a value that is set lists something', () => {
    // Every variable whose value is a list, found from the config itself, so a list added later is swept too.
    const defaults = loadConfig({});
    const LISTS = {
      WRITE_KEYS: { read: (c: typeof defaults) => c.http.writeKeys, item: 'k-3f9a1c7e5b2d4f60', other: 'k-0123456789abcdef' },
      READ_KEYS: { read: (c: typeof defaults) => c.http.readKeys, item: 'r-3f9a1c7e5b2d4f60', other: 'r-0123456789abcdef' },
      CORS_ORIGINS: { read: (c: typeof defaults) => c.http.corsOrigins, item: 'https://shop.example.com', other: 'http://[::1]:8080' },
      GRAPHQL_CORS_ORIGINS: { read: (c: typeof defaults) => c.http.graphqlCorsOrigins, item: 'https://app.example.com', other: '*' },
      KAFKA_BOOTSTRAP_SERVERS: { read: (c: typeof defaults) => c.kafka.brokers, item: 'b-1.example.com:9092', other: '10.0.0.2:9092' },
    } as const;

    it('covers every list variable (those in BLANK_IS_A_VALUE but API_KEYS)', () => {
      assert.deepEqual([...BLANK_IS_A_VALUE].filter((v) => v !== 'API_KEYS').sort(), Object.keys(LISTS).sort());
    });

    for (const [variable, list] of Object.entries(LISTS)) {
      it(`${variable}: entries trimmed; only separators or spaces, or an empty entry, refused naming the variable (never showing a key); '' is the default`, () => {
        const { item, other } = list;
        assert.deepEqual(list.read(loadConfig({ [variable]: ` ${item} ,\t${other} ` })), [item, other]);
        assert.deepEqual(list.read(loadConfig({ [variable]: '' })), list.read(defaults), "'' is unset");
        for (const [value, message] of [
          [',', /lists no \w+, only commas or spaces \(unset or empty means /],
          [',,', /lists no /],
          [' , ', /lists no /],
          ['   ', /lists no /],
          ['\t\n', /lists no /],
          [`${item},,${other}`, /entry 2 of 3 is empty \(two commas in a row, or one at an end\)/],
          [`,${item}`, /entry 1 of 2 is empty/],
          [`${item},`, /entry 2 of 2 is empty/],
          [`${item}, ,${other}`, /entry 2 of 3 is empty/],
          [`${item};${other}`, /expected /],
          [`${item} ${other}`, /expected /],
        ] as const) {
          const problems = problemsOf({ [variable]: value });
          assert.deepEqual(
            problems.map((p) => p.variable),
            [variable],
            JSON.stringify(value),
          );
          assert.match(problems[0]!.message, message, `${variable}=${JSON.stringify(value)}: ${problems[0]!.message}`);
          if (isSecretVariable(variable)) for (const key of [item, other]) assert.ok(!JSON.stringify(problems).includes(key), `${variable}: a key shown`);
        }
      });
    }

    it('API_KEYS set to anything, commas or spaces too, is refused; a blank value elsewhere is still unset', () => {
      for (const value of [',,', ' , ', '  ', 'k-3f9a1c7e5b2d4f60']) {
        assert.deepEqual(
          problemsOf({ API_KEYS: value }).map((p) => p.variable),
          ['API_KEYS'],
        );
      }
      assert.equal(loadConfig({ PRODUCER_PORT: '  ', HOST: ' ' }).http.producerPort, 8000);
    });
  });

  it('reports every bad variable at once, and cross-field mistakes', () => {
    assert.deepEqual(
      problemsOf({ PRODUCER_PORT: 'x', GRAPHQL_PORT: 'y' }).map((p) => p.variable),
      ['PRODUCER_PORT', 'GRAPHQL_PORT'],
    );
    assert.equal(problemsOf({ KAFKA_DLQ_TOPIC: 'events.raw' })[0]!.variable, 'KAFKA_DLQ_TOPIC');
    assert.equal(problemsOf({ GRAPHQL_DEFAULT_LIMIT: '500', GRAPHQL_MAX_LIMIT: '100' })[0]!.variable, 'GRAPHQL_DEFAULT_LIMIT');
  });

  it('never prints a secret: WRITE_KEYS with one short key names the variable but shows no key', () => {
    const long = 'k-3f9a1c7e5b2d4f60';
    for (const value of ['short', `${long},short`, ` ${long} , tiny7 `]) {
      const problems = problemsOf({ WRITE_KEYS: value });
      assert.deepEqual(
        problems.map((p) => p.variable),
        ['WRITE_KEYS'],
      );
      const text = JSON.stringify(problems);
      for (const part of value.split(',').map((p) => p.trim())) assert.ok(!text.includes(part), `"${part}" printed in ${text}`);
      assert.match(problems[0]!.message, /16-256 characters/);
    }
  });

  it('treats the key lists and anything named like a credential as secret', () => {
    for (const name of ['API_KEYS', 'WRITE_KEYS', 'READ_KEYS', 'AWS_SECRET_ACCESS_KEY', 'DB_PASSWORD', 'GITHUB_TOKEN', 'SIGNING_KEY']) {
      assert.equal(isSecretVariable(name), true, name);
    }
    for (const name of ['PRODUCER_PORT', 'KAFKA_TOPIC', 'MAX_EVENT_BYTES']) assert.equal(isSecretVariable(name), false, name);
  });

  it('caps MAX_EVENT_BYTES to what one DynamoDB item and one Kafka record hold', () => {
    assert.equal(loadConfig({ MAX_EVENT_BYTES: String(MAX_EVENT_BYTES_CAP) }).limits.maxEventBytes, MAX_EVENT_BYTES_CAP);
    const problems = problemsOf({ MAX_EVENT_BYTES: String(MAX_EVENT_BYTES_CAP + 1) });
    assert.deepEqual(
      problems.map((p) => p.variable),
      ['MAX_EVENT_BYTES'],
    );
    assert.ok(MAX_EVENT_BYTES_CAP * 2 + 1024 <= 400 * 1024, 'twice the cap plus the item attributes fits a DynamoDB item');
  });

  it("caps PRODUCER_MAX_BATCH_BYTES under the broker's default message.max.bytes (1048588)", () => {
    assert.ok(PRODUCER_MAX_BATCH_BYTES_CAP < 1_048_588 - 61);
    assert.equal(loadConfig({ PRODUCER_MAX_BATCH_BYTES: String(PRODUCER_MAX_BATCH_BYTES_CAP) }).kafka.maxBatchBytes, PRODUCER_MAX_BATCH_BYTES_CAP);
    for (const value of ['1048576', '1048588', '16777216']) {
      assert.deepEqual(
        problemsOf({ PRODUCER_MAX_BATCH_BYTES: value }).map((p) => p.variable),
        ['PRODUCER_MAX_BATCH_BYTES'],
      );
    }
  });

  it('reads the producer admission caps (in-flight bytes and records)', () => {
    const c = loadConfig({ PRODUCER_MAX_INFLIGHT_BYTES: '1048576', PRODUCER_MAX_INFLIGHT_RECORDS: '200' });
    assert.equal(c.kafka.maxInflightBytes, 1_048_576);
    assert.equal(c.kafka.maxInflightRecords, 200);
    assert.deepEqual(
      problemsOf({ PRODUCER_MAX_INFLIGHT_RECORDS: '0' }).map((p) => p.variable),
      ['PRODUCER_MAX_INFLIGHT_RECORDS'],
    );
  });

  it('retries transient errors for an hour per step by default, with no attempt cap', () => {
    const { hot, cold, activityTimeoutMs } = loadConfig({}).retries;
    for (const step of [hot, cold]) {
      assert.deepEqual(step, { maximumAttempts: 0, initialIntervalMs: 1_000, maximumIntervalMs: 30_000, maxElapsedMs: 3_600_000 });
    }
    assert.equal(activityTimeoutMs, 30_000);
    assert.equal(loadConfig({ COLD_RETRY_MAX_ELAPSED_MS: '20000', ACTIVITY_TIMEOUT_MS: '5000' }).retries.cold.maxElapsedMs, 20_000);
  });

  it('refuses retry settings Temporal cannot run or that would never retry, naming the variable', () => {
    // An initial interval above the maximum made every step fail at once (with a made-up attempt count).
    const initial = problemsOf({ COLD_RETRY_INITIAL_INTERVAL_MS: '60000', COLD_RETRY_MAX_INTERVAL_MS: '30000' });
    assert.deepEqual(
      initial.map((p) => p.variable),
      ['COLD_RETRY_INITIAL_INTERVAL_MS'],
    );
    assert.match(initial[0]!.message, /must not exceed COLD_RETRY_MAX_INTERVAL_MS \(30000\)/);
    assert.deepEqual(
      problemsOf({ HOT_RETRY_INITIAL_INTERVAL_MS: '5000', HOT_RETRY_MAX_INTERVAL_MS: '1000' }).map((p) => p.variable),
      ['HOT_RETRY_INITIAL_INTERVAL_MS'],
    );
    // A budget no longer than the first backoff, or shorter than one attempt.
    const first = problemsOf({ HOT_RETRY_MAX_ELAPSED_MS: '10000', HOT_RETRY_INITIAL_INTERVAL_MS: '10000', ACTIVITY_TIMEOUT_MS: '5000' });
    assert.deepEqual(
      first.map((p) => p.variable),
      ['HOT_RETRY_MAX_ELAPSED_MS'],
    );
    assert.match(first[0]!.message, /must exceed HOT_RETRY_INITIAL_INTERVAL_MS \(10000\)/);
    const budget = problemsOf({ COLD_RETRY_MAX_ELAPSED_MS: '20000', ACTIVITY_TIMEOUT_MS: '30000' });
    assert.deepEqual(
      budget.map((p) => p.variable),
      ['COLD_RETRY_MAX_ELAPSED_MS'],
    );
    assert.match(budget[0]!.message, /at least ACTIVITY_TIMEOUT_MS \(30000\)/);
  });

  it("nothing but src/platform/config/load.ts reads process.env in the platform's code (one validated place)", () => {
    const readers: string[] = [];
    const walk = (folder: string) => {
      for (const entry of readdirSync(folder)) {
        const path = join(folder, entry);
        if (statSync(path).isDirectory()) walk(path);
        else if (/\.ts$/.test(entry) && /process\.env\b/.test(readFileSync(path, 'utf8'))) readers.push(relative(REPO_ROOT, path));
      }
    };
    for (const folder of ['src', 'workers', 'activities', 'workflows']) walk(join(REPO_ROOT, folder));
    assert.deepEqual(
      readers.filter((path) => path !== 'src/platform/config/load.ts'),
      [],
    );
  });

  it('env.example documents every variable', () => {
    const example = readFileSync(join(REPO_ROOT, 'env.example'), 'utf8');
    const documented = new Set([...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]));
    const missing = CONFIG_VARIABLES.filter((v) => !documented.has(v));
    assert.deepEqual(missing, [], `undocumented: ${missing.join(', ')}`);
  });

  it(`${TABLE_DOC}'s configuration table lists every variable of env.example, as infra/config-table.ts writes it`, () => {
    const example = readFileSync(join(REPO_ROOT, 'env.example'), 'utf8');
    const doc = readFileSync(join(REPO_ROOT, TABLE_DOC), 'utf8');
    assert.equal(doc, docWithTable(doc, example), `${TABLE_DOC} is out of date: run infra/bin/node --import tsx infra/config-table.ts --write`);
    const listed = new Set([...doc.matchAll(/^\| [^|]+ \| `([A-Z][A-Z0-9_]+)` \|/gm)].map((m) => m[1]));
    assert.deepEqual(
      CONFIG_VARIABLES.filter((v) => !listed.has(v)),
      [],
    );
    assert.ok(!configurationTable(example).includes('| ? |'), 'every variable says where it acts');
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

describe('retention settings', () => {
  it('the archive rule: Glacier Instant Retrieval after the transition days, deletion only when asked, and never before the move', () => {
    assert.deepEqual(archiveLifecycleRule(30, 0), {
      ID: 'event-platform-archive',
      Status: 'Enabled',
      Filter: { Prefix: 'events/' },
      Transitions: [{ Days: 30, StorageClass: 'GLACIER_IR' }],
    });
    assert.deepEqual(archiveLifecycleRule(30, 400)?.Expiration, { Days: 400 });
    assert.equal(archiveLifecycleRule(0, 0), undefined, 'no rule at all');
    assert.throws(
      () => loadConfig({ ARCHIVE_TRANSITION_DAYS: '30', ARCHIVE_EXPIRATION_DAYS: '30' }),
      (err: unknown) => err instanceof ConfigError && /ARCHIVE_EXPIRATION_DAYS: must exceed ARCHIVE_TRANSITION_DAYS/.test(err.message),
    );
    assert.deepEqual(loadConfig({}).retention, { hotDays: 0, sweepIntervalMs: 3_600_000, archiveTransitionDays: 30, archiveExpirationDays: 0 });
  });
});
