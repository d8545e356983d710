/**
 * HTTP load from a separate process: autocannon's CLI, so the load generator never shares an
 * event loop (or a CPU's worth of JIT) with the server it measures. Also the helpers the HTTP
 * benches share: starting a server process and waiting until it answers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');
const AUTOCANNON = require.resolve('autocannon/autocannon.js');

export interface LoadResult {
  /** Requests answered 2xx per second over the run (refusals such as 503 do not count). */
  rps: number;
  p50: number;
  p99: number;
  /** Answers outside 2xx and transport errors: a figure with any is not a throughput figure. */
  failures: number;
}

export async function autocannon(opts: {
  url: string;
  connections: number;
  seconds: number;
  method?: string;
  body?: string;
  headers?: Record<string, string>;
}): Promise<LoadResult> {
  const args = [AUTOCANNON, '--json', '-c', String(opts.connections), '-d', String(opts.seconds), '-m', opts.method ?? 'GET'];
  for (const [name, value] of Object.entries(opts.headers ?? {})) args.push('-H', `${name}=${value}`);
  if (opts.body !== undefined) args.push('-b', opts.body);
  args.push(opts.url);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`autocannon exited ${code}: ${stderr.slice(-500)}`);
  const result = JSON.parse(stdout) as {
    '2xx': number;
    duration: number;
    latency: { p50: number; p99: number };
    non2xx: number;
    errors: number;
    timeouts: number;
  };
  return { rps: result['2xx'] / result.duration, p50: result.latency.p50, p99: result.latency.p99, failures: result.non2xx + result.errors + result.timeouts };
}

/** Starts `node --import tsx <entry>` with `env`, and resolves once `ready()` says so. */
export async function startServer(entry: string, env: Record<string, string>, ready: () => Promise<boolean>): Promise<{ stop(): Promise<void> }> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-2000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${entry} exited ${child.exitCode}: ${stderr}`);
    if (await ready().catch(() => false)) break;
    if (Date.now() > deadline) throw new Error(`${entry} not ready after 60 s: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(kill);
    },
  };
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
