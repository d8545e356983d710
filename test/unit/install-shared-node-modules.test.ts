/**
 * infra/install.sh in a checkout whose node_modules is a symlink to another checkout's (a git
 * worktree sharing one install): npm ci would delete the other checkout's packages through the
 * link, so install.sh leaves it alone. Runs a copy of infra/ with every server already installed
 * (the real cache), so nothing is downloaded.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { REPO_ROOT } from '../support/paths';

const root = mkdtempSync(join(tmpdir(), 'event-platform-install-'));
after(() => rmSync(root, { recursive: true, force: true }));

const install = (checkout: string) =>
  spawnSync('bash', [join(checkout, 'infra/install.sh')], { cwd: checkout, env: { ...process.env, STACK_PROFILE: 'default' }, encoding: 'utf8' });

function checkoutWithSharedModules(name: string, target: string) {
  const checkout = join(root, name);
  mkdirSync(checkout);
  cpSync(join(REPO_ROOT, 'infra'), join(checkout, 'infra'), { recursive: true });
  cpSync(join(REPO_ROOT, 'package.json'), join(checkout, 'package.json'));
  cpSync(join(REPO_ROOT, 'package-lock.json'), join(checkout, 'package-lock.json'));
  symlinkSync(target, join(checkout, 'node_modules'));
  return checkout;
}

test('a symlinked node_modules older than package-lock.json is not reinstalled, and its target keeps its packages', (t) => {
  if (!existsSync(join(REPO_ROOT, 'infra', 'kafka', 'pom.xml'))) return t.skip('no infra/kafka/pom.xml');
  const shared = join(root, 'shared-node_modules');
  mkdirSync(join(shared, 'some-package'), { recursive: true });
  writeFileSync(join(shared, 'some-package', 'index.js'), '');
  writeFileSync(join(shared, '.package-lock.json'), '{}');
  const old = new Date(Date.now() - 86_400_000);
  utimesSync(join(shared, '.package-lock.json'), old, old);
  const checkout = checkoutWithSharedModules('worktree', shared);

  const run = install(checkout);
  assert.equal(run.status, 0, run.stderr);
  assert.doesNotMatch(run.stderr, /installing node_modules/);
  assert.ok(existsSync(join(shared, 'some-package', 'index.js')), "the other checkout's packages are still there");
});

test('a symlinked node_modules whose target is gone fails, naming the link', () => {
  const checkout = checkoutWithSharedModules('dangling', join(root, 'missing-node_modules'));
  const run = install(checkout);
  assert.equal(run.status, 1);
  assert.match(run.stderr, /node_modules is a symlink to a missing folder \(.*missing-node_modules\)/);
});
