/**
 * The same durable path on both stack profiles, in one run: the local default (one broker, the
 * Temporal CLI's dev server on SQLite) and the cluster (3 brokers with replication factor 3 and
 * min ISR 2, a Temporal server on PostgreSQL). Each profile's figure is set against that profile's
 * own bare-workflow ceiling, measured in the same round, so the ratio says what the platform adds
 * on top of what the Temporal server does with no work at all.
 *
 * The profiles share ports, so they run one after the other: each round brings its stack up,
 * measures in a child process that has the profile's configuration (infra/profiles/<name>.env, as
 * `npm start` and `npm test` get it), and the stack that was up before the bench is up after it.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { readStackLayout } from '../test/support/stack';
import type { ProfileFigures } from './profileRound';

const ROOT = join(__dirname, '..');
const PROFILES = ['default', 'cluster'] as const;
type Profile = (typeof PROFILES)[number];

/**
 * The variables a profile's env file sets (infra/lib.sh exports each one that is not set yet):
 * left out of a child's environment, so one profile's values never reach the other's round.
 */
const PROFILE_VARIABLES = new Set(PROFILES.flatMap((profile) => Object.keys(readStackLayout({ ...process.env, STACK_PROFILE: profile }).profileEnv)));

function run(cmd: string, args: string[], env: Record<string, string>, capture = false): Promise<string> {
  const childEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !PROFILE_VARIABLES.has(name)));
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...childEnv, ...env }, stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'] });
    let out = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}`))));
  });
}

const stack = (profile: Profile, ...args: string[]) => run('bash', ['infra/stack.sh', ...args], { STACK_PROFILE: profile, LOG_LEVEL: 'error' });

/** Which profile's stack is up: only the default profile has a service named kafka. */
async function runningProfile(): Promise<Profile | undefined> {
  const out = await run('bash', ['-c', 'source infra/lib.sh; service_running kafka && echo default; service_running kafka-1 && echo cluster; true'], {}, true);
  return PROFILES.find((p) => out.split('\n').includes(p));
}

async function measure(profile: Profile, opts: { events: number; idle: number; ceilingRuns: number }): Promise<ProfileFigures> {
  const current = await runningProfile();
  if (current !== profile) {
    if (current !== undefined) await stack(current, 'down');
    await stack(profile, 'up');
  }
  // The profile's configuration comes from infra/lib.sh, which infra/bin/node sources.
  const out = await run(
    'infra/bin/node',
    ['--import', 'tsx', 'bench/profileRound.ts', String(opts.events), String(opts.idle), String(opts.ceilingRuns)],
    { STACK_PROFILE: profile },
    true,
  );
  const last = out.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as ProfileFigures;
}

export async function benchProfiles({ quick }: { quick: boolean }): Promise<void> {
  const events = Number(process.env.BENCH_PIPELINE_EVENTS ?? (quick ? 400 : 1500));
  const idle = Number(process.env.BENCH_IDLE_EVENTS ?? (quick ? 20 : 50));
  const ceilingRuns = Number(process.env.BENCH_CEILING_RUNS ?? (quick ? 200 : 1000));
  console.log(
    `\nprofiles: the defaults (2 processors, counting on) on each stack profile; ${events} events in batches of 100, ${idle} idle events one at a time; each profile's bare-workflow ceilings from ${ceilingRuns} runs\n`,
  );
  const before = await runningProfile();
  const results: [Profile, ProfileFigures][] = [];
  try {
    for (const profile of PROFILES) {
      const f = await measure(profile, { events, idle, ceilingRuns });
      console.log(`${profile}: ${f.rate.toFixed(1)}/s, bare eager ceiling ${f.bareEager.toFixed(1)}/s`);
      results.push([profile, f]);
    }
  } finally {
    const now = await runningProfile();
    if (now !== before) {
      if (now !== undefined) await stack(now, 'down');
      if (before !== undefined) await stack(before, 'up');
    }
  }
  const [, base] = results[0]!;
  console.log('');
  console.log(
    `${'profile'.padEnd(10)} ${'ceiling bare'.padStart(13)} ${'bare eager'.padStart(11)} ${'defaults'.padStart(9)} ${'of eager'.padStart(9)} ${'x default'.padStart(10)}   idle POST→Completed p50 / p95 / p99`,
  );
  for (const [profile, f] of results) {
    console.log(
      `${profile.padEnd(10)} ${`${f.bare.toFixed(1)}/s`.padStart(13)} ${`${f.bareEager.toFixed(1)}/s`.padStart(11)} ${`${f.rate.toFixed(1)}/s`.padStart(9)} ${`${((100 * f.rate) / f.bareEager).toFixed(0)}%`.padStart(9)} ${`x${(f.rate / base.rate).toFixed(2)}`.padStart(10)}   ${f.completedP50.toFixed(0)} / ${f.completedP95.toFixed(0)} / ${f.completedP99.toFixed(0)} ms`,
    );
  }
}
