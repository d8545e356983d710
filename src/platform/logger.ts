import { pino, type DestinationStream, type Logger } from 'pino';
import type { Config } from './config';

/**
 * Credentials never reach a log line, whatever logs a request or its headers (a request logger,
 * an error carrying the request): API keys travel in these headers.
 */
export const REDACTED_PATHS = ['authorization', 'x-api-key', 'cookie'].flatMap((header) =>
  ['req.headers', 'request.headers', 'headers', 'err.config.headers'].map((at) => `${at}["${header}"]`),
);

/** JSON lines on stdout (or `destination`); `service` names the process in shared logs. */
export function createLogger(config: Pick<Config, 'logLevel' | 'environment'>, service: string, destination?: DestinationStream): Logger {
  const options = { level: config.logLevel, base: { service, env: config.environment }, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
  return destination ? pino(options, destination) : pino(options);
}
