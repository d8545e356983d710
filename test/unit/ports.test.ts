/**
 * Test ports (test/support/ports.ts): outside the kernel's ephemeral range, so no outgoing
 * connection can be given one between its reservation and the child process binding it; never
 * one of the stack's; and never the same one to two test processes running at once.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { candidateWindow, ephemeralRange, LOCK_DIR, releasePort, reservePort, STACK_PORTS } from '../support/ports';
import { REPO_ROOT } from '../support/paths';

describe('test ports', () => {
  it('the window lies below the ephemeral range, or above it when there is no room below', () => {
    assert.deepEqual(
      ephemeralRange(() => '32768\t60999\n'),
      [32768, 60999],
    );
    assert.deepEqual(
      ephemeralRange(() => 'garbage'),
      [49152, 65535],
    );
    assert.deepEqual(candidateWindow([32768, 60999]), [20000, 32767]);
    assert.deepEqual(candidateWindow([1024, 60000]), [60001, 65535]);
    assert.throws(() => candidateWindow([1024, 65000]), /no room for test ports outside the ephemeral range 1024-65000/);
  });

  it('a reserved port is outside the ephemeral range, not a stack port, and locked by this process until released', async () => {
    const [low, high] = ephemeralRange();
    const ports = [];
    for (let i = 0; i < 20; i++) ports.push(await reservePort());
    try {
      assert.equal(new Set(ports).size, ports.length);
      for (const port of ports) {
        assert.ok(port < low || port > high, `${port} is outside ${low}-${high}`);
        assert.ok(!STACK_PORTS.has(port), `${port} is not a stack port`);
        assert.equal(readFileSync(join(LOCK_DIR, String(port)), 'utf8'), String(process.pid));
      }
    } finally {
      for (const port of ports) releasePort(port);
    }
    for (const port of ports) assert.equal(existsSync(join(LOCK_DIR, String(port))), false, `${port} released`);
  });

  it('a lock left by a process that is gone is taken over; one held by a live process is not', async () => {
    mkdirSync(LOCK_DIR, { recursive: true });
    const [, to] = candidateWindow(ephemeralRange());
    // Two ports at the top of the window, locked by hand (skipped if a test process holds them now).
    const [dead, live] = [to - 1, to];
    const plant = (port: number, pid: number) => {
      try {
        writeFileSync(join(LOCK_DIR, String(port)), String(pid), { flag: 'wx' });
        return true;
      } catch {
        return false;
      }
    };
    const plantedLive = plant(live, process.ppid);
    try {
      if (plant(dead, 2_147_483_646)) {
        assert.equal(await reservePort({ window: [dead, dead] }), dead);
        assert.equal(readFileSync(join(LOCK_DIR, String(dead)), 'utf8'), String(process.pid));
        releasePort(dead);
      }
      if (plantedLive) await assert.rejects(reservePort({ window: [live, live] }), /no free port/);
    } finally {
      if (plantedLive) rmSync(join(LOCK_DIR, String(live)), { force: true });
    }
  });

  it('two test processes reserving at once never get the same port', async () => {
    const reserve = () =>
      new Promise<{ ports: number[]; done: () => void }>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'test/unit/fixtures/reservePorts.ts', '200'], {
          cwd: REPO_ROOT,
          stdio: ['pipe', 'pipe', 'inherit'],
        });
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (c: string) => {
          out += c;
          if (out.includes('\n')) resolve({ ports: JSON.parse(out) as number[], done: () => child.stdin.end() });
        });
        child.on('exit', (code) => reject(new Error(`exited with ${code} before printing its ports`)));
      });
    const [a, b] = await Promise.all([reserve(), reserve()]);
    try {
      assert.equal(a.ports.length, 200);
      assert.equal(b.ports.length, 200);
      const shared = a.ports.filter((p) => b.ports.includes(p));
      assert.deepEqual(shared, []);
    } finally {
      a.done();
      b.done();
    }
  });
});
