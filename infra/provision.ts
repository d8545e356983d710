/**
 * `node --import tsx infra/provision.ts [--check]`: waits for Kafka, Temporal, DynamoDB and S3 to
 * answer, then creates the topics, table, bucket and search attributes named by the environment
 * (see env.example). Idempotent. `--check` only reports. Exit code 1 when something is not ready.
 */
import { loadConfigOrExit } from '../src/config';
import { createLogger } from '../src/logger';
import { provisionAll } from '../src/provisioning';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger({ ...config, logLevel: 'error' }, 'provision');
  const { ok, lines } = await provisionAll(config, { logger, checkOnly: process.argv.includes('--check') });
  for (const line of lines) process.stderr.write(`  ${line}\n`);
  process.exitCode = ok ? 0 : 1;
}

void main();
