/**
 * Ports for the servers a test starts, chosen so nothing else can take them in between. A port
 * found free by binding 0 lies in the kernel's ephemeral range, where any outgoing connection
 * (Kafka, Temporal, AWS clients) may be given it before the child process binds it. These come
 * from below that range instead, and each one is held by a lock file (created with O_EXCL,
 * holding the pid) so concurrent test processes never pick the same one. Locks are removed when
 * the process exits; a lock whose pid is gone is taken over.
 */
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The local stack's fixed ports (infra/stack.sh) and the platform's defaults: never handed out. */
export const STACK_PORTS: ReadonlySet<number> = new Set([4567, 7233, 8233, 9000, 9092, 9093, 9094, 9095, 9096, 8000, 8001, 8002, 9464]);

export const LOCK_DIR = join(tmpdir(), 'event-platform-test-ports');
const FIRST_CANDIDATE = 20_000;
const MIN_WINDOW = 1_000;

/** The kernel's ephemeral range (Linux); elsewhere the IANA dynamic range most systems use. */
export function ephemeralRange(read: () => string = () => readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')): [number, number] {
  try {
    const [low, high] = read().trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high) && low! > 0 && high! >= low!) return [low!, high!];
  } catch {
    // no /proc: not Linux
  }
  return [49_152, 65_535];
}

/** The ports handed out: [FIRST_CANDIDATE, low) below the ephemeral range, else above it. */
export function candidateWindow([low, high]: [number, number]): [number, number] {
  if (low - FIRST_CANDIDATE >= MIN_WINDOW) return [FIRST_CANDIDATE, low - 1];
  if (65_535 - high >= MIN_WINDOW) return [high + 1, 65_535];
  throw new Error(`no room for test ports outside the ephemeral range ${low}-${high} (/proc/sys/net/ipv4/ip_local_port_range)`);
}

const held = new Set<number>();
process.once('exit', () => {
  for (const port of held) release(port);
});

function release(port: number): void {
  try {
    unlinkSync(join(LOCK_DIR, String(port)));
  } catch {
    // already gone
  }
  held.delete(port);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock of `port`, or takes over one left by a process that is gone. */
function lock(port: number): boolean {
  const file = join(LOCK_DIR, String(port));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let owner = NaN;
      try {
        owner = Number(readFileSync(file, 'utf8'));
      } catch {
        continue; // removed meanwhile: try again
      }
      // An empty file is a lock being written right now; a live pid is a lock in use.
      if (!Number.isInteger(owner) || owner <= 0 || alive(owner)) return false;
      try {
        unlinkSync(file);
      } catch {
        return false;
      }
    }
  }
  return false;
}

/** Whether nothing listens on `port` (on any address). */
function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ port, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

/**
 * A port no other test process holds and nothing listens on, outside the ephemeral range; held
 * until this process exits (or `releasePort`). Pass it to the child process that binds it.
 */
export async function reservePort({ window = candidateWindow(ephemeralRange()) }: { window?: [number, number] } = {}): Promise<number> {
  mkdirSync(LOCK_DIR, { recursive: true });
  const [from, to] = window;
  const size = to - from + 1;
  // A random start spreads concurrent runs and keeps a port just released (its old connections
  // possibly in TIME_WAIT) from being the next one handed out.
  const start = Math.floor(Math.random() * size);
  for (let i = 0; i < size; i++) {
    const port = from + ((start + i) % size);
    if (STACK_PORTS.has(port) || held.has(port) || !lock(port)) continue;
    if (await bindable(port)) {
      held.add(port);
      return port;
    }
    release(port);
  }
  throw new Error(`no free port in ${from}-${to}`);
}

/** Gives a reserved port back before the process exits. */
export function releasePort(port: number): void {
  if (held.has(port)) release(port);
}
