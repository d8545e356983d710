import { pino, type Logger } from 'pino';
import type { Config } from './config';

/** JSON lines on stdout; `service` names the process in shared logs. */
export function createLogger(config: Pick<Config, 'logLevel' | 'environment'>, service: string): Logger {
  return pino({ level: config.logLevel, base: { service, env: config.environment } });
}
