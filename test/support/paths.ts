import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO_ROOT = resolve(__dirname, '../..');

const cacheDir = () => process.env.EVENT_PLATFORM_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'event-platform');

/** The Temporal CLI the local stack installed (infra/lib.sh computes the same path). */
export function temporalCliPath(): string {
  if (process.env.TEMPORAL_CLI_PATH) return process.env.TEMPORAL_CLI_PATH;
  return join(cacheDir(), 'temporal-v1.5.1', 'temporal');
}

/** The versitygw S3 server the local stack installed (VERSITYGW_BIN in infra/lib.sh). */
export function versitygwPath(): string {
  return join(cacheDir(), 'versitygw-v1.7.0', 'versitygw');
}
