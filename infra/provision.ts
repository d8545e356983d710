/**
 * `node --import tsx infra/provision.ts [--check]`: waits for Kafka, Temporal, DynamoDB and S3 to
 * answer, then creates the topics, table, bucket and search attributes named by the environment
 * (see env.example). Idempotent. `--check` only reports. Exit code 1 when something is not ready.
 */
import type { Config } from '../src/platform/config';
import { runMain, type Running } from '../src/platform/runMain';
import { createLogger } from '../src/platform/logger';
import { provisionAll } from '../src/ops/provisioning';

async function startProvision(config: Config): Promise<Running> {
  const logger = createLogger({ ...config, logLevel: 'error' }, 'provision');
  const done = (async () => {
    const { ok, lines } = await provisionAll(config, { logger, checkOnly: process.argv.includes('--check') });
    for (const line of lines) process.stderr.write(`  ${line}\n`);
    return ok ? 0 : 1;
  })();
  return { done };
}

void runMain('provision', startProvision);
