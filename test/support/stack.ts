/**
 * The local stack of this STACK_PROFILE as infra/lib.sh defines it: its directory, its services,
 * its brokers and the platform configuration the profile exports. Read from lib.sh itself, so the
 * shell holds the only definition and a test cannot restate one that has since changed.
 */
import { spawnSync } from 'node:child_process';
import { REPO_ROOT } from './paths';

export interface StackBroker {
  /** The service name infra/stack.sh stops and starts it by: `kafka`, or `kafka-1`… */
  service: string;
  nodeId: number;
  port: number;
}

export interface StackLayout {
  profile: string;
  /** EVENT_PLATFORM_STACK_DIR, else the checkout's .stack (pids, data, logs). */
  dir: string;
  /** KAFKA_TLS_DIR: the CA, broker and client certificates of Kafka's TLS listeners. */
  kafkaTlsDir: string;
  /** In start order; a broker by its own name. */
  services: string[];
  brokers: StackBroker[];
  /** What infra/profiles/<profile>.env sets, with a value the environment already has kept. */
  profileEnv: Record<string, string>;
}

// A bash script (not a template literal: its ${...} are bash's).
const QUERY = [
  'source infra/lib.sh || exit 1',
  `printf 'profile\\t%s\\n' "$STACK_PROFILE"`,
  `printf 'dir\\t%s\\n' "$STACK_DIR"`,
  `printf 'tls\\t%s\\n' "$KAFKA_TLS_DIR"`,
  'printf \'service\\t%s\\n\' "${SERVICES[@]}"',
  'for s in "${KAFKA_SERVICES[@]}"; do printf \'broker\\t%s %s %s\\n\' "$s" "$(kafka_node "$s")" "$(kafka_port "$s")"; done',
  'if [ -f "$PROFILE_ENV" ]; then',
  '  while IFS="=" read -r k _; do printf \'env\\t%s=%s\\n\' "$k" "${!k}"; done < <(grep -vE \'^\\s*(#|$)\' "$PROFILE_ENV")',
  'fi',
].join('\n');

/** Asks infra/lib.sh, with `env` as its environment; throws with lib.sh's message when it refuses (a bad STACK_PROFILE). */
export function readStackLayout(env: NodeJS.ProcessEnv = process.env): StackLayout {
  const run = spawnSync('bash', ['-c', QUERY], { cwd: REPO_ROOT, env, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`infra/lib.sh: ${run.stderr.trim() || `exit ${run.status}`}`);
  const layout: StackLayout = { profile: '', dir: '', kafkaTlsDir: '', services: [], brokers: [], profileEnv: {} };
  for (const line of run.stdout.split('\n')) {
    const [kind, value = ''] = line.split('\t', 2);
    if (kind === 'profile') layout.profile = value;
    else if (kind === 'dir') layout.dir = value;
    else if (kind === 'tls') layout.kafkaTlsDir = value;
    else if (kind === 'service') layout.services.push(value);
    else if (kind === 'broker') {
      const [service = '', nodeId, port] = value.split(' ');
      layout.brokers.push({ service, nodeId: Number(nodeId), port: Number(port) });
    } else if (kind === 'env') layout.profileEnv[value.slice(0, value.indexOf('='))] = value.slice(value.indexOf('=') + 1);
  }
  return layout;
}

let current: StackLayout | undefined;
/** The layout for this process's environment, read once. */
export function stackLayout(): StackLayout {
  current ??= readStackLayout();
  return current;
}

/**
 * Sets in `env` what the profile's env file sets and `env` does not, as infra/lib.sh exports it
 * for npm test: a test file run on its own (`STACK_PROFILE=cluster node --import tsx --test
 * test/integration/X.test.ts`) then reaches the same stack as under npm test.
 */
export function applyProfileEnv(env: NodeJS.ProcessEnv = process.env): void {
  for (const [name, value] of Object.entries(stackLayout().profileEnv)) env[name] ??= value;
}
