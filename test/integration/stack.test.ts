/** `npm run stack:up` on a running stack changes nothing: same processes, nothing created. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { it } from 'node:test';
import { REPO_ROOT } from '../support/paths';

const SERVICES = ['temporal', 'kafka', 'dynamodb', 's3'];
const pids = () => SERVICES.map((s) => readFileSync(join(REPO_ROOT, '.stack', 'pids', `${s}.pid`), 'utf8').trim());

it('a second stack:up is a no-op', { timeout: 120_000 }, async () => {
  const before = pids();
  const { stderr } = await promisify(execFile)('bash', [join(REPO_ROOT, 'infra/stack.sh'), 'up'], { cwd: REPO_ROOT });
  assert.deepEqual(pids(), before, 'the same server processes keep running');
  for (const svc of SERVICES) assert.match(stderr, new RegExp(`${svc} already running`));
  assert.doesNotMatch(stderr, /created|added|installing/, 'nothing installed or created');
  assert.match(stderr, /topics exist/);
  assert.match(stderr, /table EventsHot exists/);
  assert.match(stderr, /bucket event-platform-raw-events exists/);
  assert.match(stderr, /has search attributes EventType, UserId/);

  const status = await promisify(execFile)('bash', [join(REPO_ROOT, 'infra/stack.sh'), 'status'], { cwd: REPO_ROOT });
  for (const svc of SERVICES) assert.match(status.stdout, new RegExp(`${svc}\\s+\\d+\\s+running`));
});
