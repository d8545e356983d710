/** `npm run stack:up` on a running stack changes nothing: same processes, nothing created. Either profile. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { it } from 'node:test';
import { REPO_ROOT } from '../support/paths';
import { HANG_TIMEOUT_MS } from '../support/timeouts';

const stack = (cmd: string) => promisify(execFile)('bash', [join(REPO_ROOT, 'infra/stack.sh'), cmd], { cwd: REPO_ROOT });

/** Service name → pid, from `stack.sh status` (one line per service of the profile). */
async function running(): Promise<Map<string, string>> {
  const { stdout } = await stack('status');
  const pids = new Map([...stdout.matchAll(/^\s+([a-z0-9-]+)\s+\d+\s+running \(pid (\d+)\)$/gm)].map((m) => [m[1]!, m[2]!]));
  assert.ok(pids.size >= 4, `every service running:\n${stdout}`);
  return pids;
}

it('a second stack:up is a no-op', { timeout: HANG_TIMEOUT_MS }, async () => {
  const before = await running();
  const { stderr } = await stack('up');
  for (const svc of before.keys()) assert.match(stderr, new RegExp(`${svc} already running`));
  assert.doesNotMatch(stderr, /created|added|installing/, 'nothing installed or created');
  assert.match(stderr, /topics exist/);
  assert.match(stderr, /table EventsHot exists/);
  assert.match(stderr, /bucket event-platform-raw-events exists/);
  assert.match(stderr, /has search attributes EventType, UserId/);
  assert.deepEqual(await running(), before, 'the same server processes keep running');
});
