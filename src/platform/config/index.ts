/**
 * The one place configuration is read: environment variables only. Defaults point at the local
 * stack (`npm run stack:up`); with ENVIRONMENT=production the AWS endpoints have no default, so
 * the SDKs talk to real AWS with their usual credential chain.
 */
export { CONFIG_VARIABLES, MAX_EVENT_BYTES_CAP, PRODUCER_MAX_BATCH_BYTES_CAP, type ConfigVariable } from './schema';
export { LOCAL_STACK_CREDENTIALS, type Config, type RetrySettings } from './shape';
export { ConfigError, configErrorText, isSecretVariable, loadConfig, loadConfigOrExit } from './load';
