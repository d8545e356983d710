/**
 * runMain, the start and end of every platform process: config errors, signals and drain, exit
 * codes and the failure message, driven through a stand-in for `process`.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { runMain, type ProcessLike, type Running } from '../../src/platform/runMain';

function fakeProcess(env: NodeJS.ProcessEnv = {}) {
  const events = new EventEmitter();
  const exits: number[] = [];
  let stderr = '';
  const proc = {
    env,
    on: (event: string, listener: (...args: unknown[]) => void) => events.on(event, listener),
    exit: (code: number) => void exits.push(code),
    stderr: { write: (text: string) => (stderr += text) },
  } as unknown as ProcessLike;
  return { proc, events, exits, stderr: () => stderr };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('runMain', () => {
  it('an invalid variable stops the process before it starts: exit 78, the variable named', async () => {
    const p = fakeProcess({ PRODUCER_PORT: 'eighty' });
    let started = false;
    const code = await runMain('producer', async () => ((started = true), {}), p.proc);
    assert.equal(code, 78);
    assert.deepEqual(p.exits, [78]);
    assert.equal(started, false);
    assert.match(p.stderr(), /PRODUCER_PORT/);
  });

  it('SIGTERM drains once (a second signal does not stop twice), then exits 0', async () => {
    const p = fakeProcess();
    let stops = 0;
    let release!: () => void;
    const drained = new Promise<void>((resolve) => (release = resolve));
    const ended = runMain('bridge', async () => ({ stop: async () => (stops++, drained) }), p.proc);
    await tick();
    p.events.emit('SIGTERM');
    p.events.emit('SIGINT');
    await tick();
    assert.equal(stops, 1);
    assert.deepEqual(p.exits, [], 'no exit while draining');
    release();
    assert.equal(await ended, 0);
  });

  it('a signal during startup is honoured once startup finished', async () => {
    const p = fakeProcess();
    let finishStart!: (r: Running) => void;
    const stopped: string[] = [];
    const ended = runMain('graphql', () => new Promise<Running>((resolve) => (finishStart = resolve)), p.proc);
    await tick();
    p.events.emit('SIGINT');
    finishStart({ stop: async (signal) => void stopped.push(signal) });
    assert.equal(await ended, 0);
    assert.deepEqual(stopped, ['SIGINT']);
  });

  it("with `done`, the exit code is done's; stop only triggers it", async () => {
    const p = fakeProcess();
    let finish!: (code: number) => void;
    const done = new Promise<number>((resolve) => (finish = resolve));
    const ended = runMain('provision', async () => ({ done, stop: async () => finish(0) }), p.proc);
    await tick();
    p.events.emit('SIGTERM');
    assert.equal(await ended, 0);
    const q = fakeProcess();
    assert.equal(await runMain('provision', async () => ({ done: Promise.resolve(1) }), q.proc), 1);
  });

  it('a failed start, a failed drain, a failing `done` and an unhandled rejection: exit 1 with one clean line', async () => {
    const cases: [string, (p: ReturnType<typeof fakeProcess>) => Promise<number>][] = [
      [
        'start',
        (p) => runMain('worker', async () => Promise.reject(new Error('Temporal unreachable', { cause: new Error('ECONNREFUSED 127.0.0.1:7233') })), p.proc),
      ],
      [
        'stop',
        async (p) => {
          const ended = runMain('worker', async () => ({ stop: async () => Promise.reject(new Error('drain broke')) }), p.proc);
          await tick();
          p.events.emit('SIGTERM');
          return ended;
        },
      ],
      ['done', (p) => runMain('processor', async () => ({ done: Promise.reject(new Error('worker crashed')) }), p.proc)],
      [
        'unhandled',
        async (p) => {
          const ended = runMain('producer', async () => ({ stop: async () => undefined }), p.proc);
          await tick();
          p.events.emit('unhandledRejection', new Error('nobody awaited this'));
          return ended;
        },
      ],
    ];
    for (const [what, run] of cases) {
      const p = fakeProcess();
      assert.equal(await run(p), 1, what);
      assert.match(p.stderr(), /^\w+ failed: .+\n$/, `${what}: one line, no stack (${JSON.stringify(p.stderr())})`);
    }
    const p = fakeProcess();
    await cases[0]![1](p);
    assert.equal(p.stderr(), 'worker failed: Temporal unreachable (ECONNREFUSED 127.0.0.1:7233)\n');
    const verbose = fakeProcess({ LOG_LEVEL: 'debug' });
    await cases[0]![1](verbose);
    assert.match(verbose.stderr(), /\n\s+at /, 'the stack with LOG_LEVEL=debug');
  });

  it('a one-shot command with nothing to drain ends at once on a signal, as interrupted (130)', async () => {
    const p = fakeProcess();
    const ended = runMain('provision', async () => ({ done: new Promise<number>(() => undefined) }), p.proc);
    await tick();
    p.events.emit('SIGINT');
    assert.equal(await ended, 130);
  });
});
