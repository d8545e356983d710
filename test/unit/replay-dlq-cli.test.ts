import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { parseReplayArgs } from '../../src/cli/replayDlq';
import { REPO_ROOT } from '../support/paths';

describe('replay-dlq arguments', () => {
  it('reads repeated --event-id (lower-cased), --stage and --dry-run', () => {
    const args = parseReplayArgs(['--event-id', 'AA', '--event-id', 'bb', '--stage', 'archiveCold', '--dry-run']);
    assert.deepEqual([...args.eventIds], ['aa', 'bb']);
    assert.equal(args.stage, 'archiveCold');
    assert.equal(args.dryRun, true);
  });

  it('names the flag that is wrong', () => {
    assert.throws(() => parseReplayArgs(['--stage', 'cold']), /--stage must be one of storeHot, archiveCold, bridge, got "cold"/);
    assert.throws(() => parseReplayArgs(['--evnt-id', 'x']), /--evnt-id/);
    assert.throws(() => parseReplayArgs(['--event-id']), /--event-id/);
  });

  it('exits 2 with usage on a bad flag, before touching Kafka', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/replayDlq.ts', '--stage', 'nope'], {
      cwd: REPO_ROOT,
      env: { ...process.env, KAFKA_BOOTSTRAP_SERVERS: '127.0.0.1:1' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(run.status, 2);
    assert.match(run.stderr, /replay-dlq: --stage must be one of/);
    assert.match(run.stderr, /Usage: npm run replay-dlq/);
  });
});
