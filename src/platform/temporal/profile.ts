/**
 * Temporal connection settings, read the way Temporal's own tools read them (the SDK's
 * environment configuration, @temporalio/envconfig): a profile from a TOML config file, then the
 * TEMPORAL_* environment variables on top. The Temporal CLI reads the same file and variables, so
 * `temporal --profile prod ...` and the platform with TEMPORAL_PROFILE=prod reach the same server.
 *
 * One difference: the config file is read only when TEMPORAL_CONFIG_FILE or TEMPORAL_PROFILE is
 * set, so a developer's default CLI profile never points the local stack at another server.
 */
import { existsSync, statSync } from 'node:fs';
import { loadClientConfigProfile, type ClientConfigProfile, type ClientConfigTLS, type ConfigDataSource } from '@temporalio/envconfig';

export const TEMPORAL_DEFAULT_ADDRESS = 'localhost:7233';
export const TEMPORAL_DEFAULT_NAMESPACE = 'default';

/** The validated TEMPORAL_* variables (config.ts checks each one's format). */
export interface TemporalEnv {
  TEMPORAL_ADDRESS?: string;
  TEMPORAL_NAMESPACE?: string;
  TEMPORAL_API_KEY?: string;
  TEMPORAL_TLS?: boolean;
  TEMPORAL_TLS_CLIENT_CERT_PATH?: string;
  TEMPORAL_TLS_CLIENT_KEY_PATH?: string;
  TEMPORAL_TLS_SERVER_CA_CERT_PATH?: string;
  TEMPORAL_TLS_SERVER_NAME?: string;
  TEMPORAL_CONFIG_FILE?: string;
  TEMPORAL_PROFILE?: string;
}

/** Everything a Client Connection or a Worker NativeConnection is built from. */
export interface TemporalConnectionSettings {
  address: string;
  namespace: string;
  apiKey?: string;
  /** Undefined: plain TCP, unless an API key is set (an API key implies TLS). */
  tls?: ClientConfigTLS;
  /** gRPC headers from the profile's grpc_meta table. */
  grpcMeta?: Record<string, string>;
}

export interface Problem {
  variable: string;
  message: string;
}

/** Variables the Temporal CLI reads that this platform does not; set, they would be ignored. */
const UNSUPPORTED: Record<string, string> = {
  TEMPORAL_TLS_CLIENT_CERT_DATA: 'put the PEM in a file and set TEMPORAL_TLS_CLIENT_CERT_PATH',
  TEMPORAL_TLS_CLIENT_KEY_DATA: 'put the PEM in a file and set TEMPORAL_TLS_CLIENT_KEY_PATH',
  TEMPORAL_TLS_SERVER_CA_CERT_DATA: 'put the PEM in a file and set TEMPORAL_TLS_SERVER_CA_CERT_PATH',
  TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: 'set TEMPORAL_TLS_SERVER_NAME to the name on the server certificate instead',
};

/** Which environment variable sets each TLS file, for messages. */
const TLS_FILE_VARIABLES = {
  clientCert: 'TEMPORAL_TLS_CLIENT_CERT_PATH',
  clientKey: 'TEMPORAL_TLS_CLIENT_KEY_PATH',
  serverCACert: 'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
} as const;
const TOML_KEYS = { clientCert: 'client_cert', clientKey: 'client_key', serverCACert: 'server_ca_cert' } as const;

/**
 * The settings, or the problems that stop the process (then `settings` holds only the defaults).
 * Paths set in the environment were checked by config.ts; this checks those from the file.
 */
export function resolveTemporalSettings(env: TemporalEnv, rawEnv: NodeJS.ProcessEnv): { settings: TemporalConnectionSettings; problems: Problem[] } {
  const defaults = { address: TEMPORAL_DEFAULT_ADDRESS, namespace: TEMPORAL_DEFAULT_NAMESPACE };
  const problems: Problem[] = Object.entries(UNSUPPORTED)
    .filter(([variable]) => (rawEnv[variable] ?? '').trim() !== '')
    .map(([variable, instead]) => ({ variable, message: `is not supported by this platform; ${instead}` }));
  if (problems.length > 0) return { settings: defaults, problems };

  const useFile = env.TEMPORAL_CONFIG_FILE !== undefined || env.TEMPORAL_PROFILE !== undefined;
  let profile: ClientConfigProfile;
  try {
    profile = loadClientConfigProfile({
      profile: env.TEMPORAL_PROFILE,
      disableFile: !useFile,
      configFileStrict: true,
      // Only the validated variables (plus where the CLI's default config file lives).
      overrideEnvVars: definedStrings({
        TEMPORAL_CONFIG_FILE: env.TEMPORAL_CONFIG_FILE,
        TEMPORAL_ADDRESS: env.TEMPORAL_ADDRESS,
        TEMPORAL_NAMESPACE: env.TEMPORAL_NAMESPACE,
        TEMPORAL_API_KEY: env.TEMPORAL_API_KEY,
        TEMPORAL_TLS: env.TEMPORAL_TLS === undefined ? undefined : String(env.TEMPORAL_TLS),
        TEMPORAL_TLS_CLIENT_CERT_PATH: env.TEMPORAL_TLS_CLIENT_CERT_PATH,
        TEMPORAL_TLS_CLIENT_KEY_PATH: env.TEMPORAL_TLS_CLIENT_KEY_PATH,
        TEMPORAL_TLS_SERVER_CA_CERT_PATH: env.TEMPORAL_TLS_SERVER_CA_CERT_PATH,
        TEMPORAL_TLS_SERVER_NAME: env.TEMPORAL_TLS_SERVER_NAME,
        HOME: rawEnv.HOME,
        XDG_CONFIG_HOME: rawEnv.XDG_CONFIG_HOME,
        APPDATA: rawEnv.APPDATA,
      }),
    });
  } catch (err) {
    const message = (err as Error).message;
    const variable = /^Profile '/.test(message) ? 'TEMPORAL_PROFILE' : 'TEMPORAL_CONFIG_FILE';
    return { settings: defaults, problems: [{ variable, message: `${message} (${env.TEMPORAL_CONFIG_FILE ?? 'the Temporal CLI default config file'})` }] };
  }

  const settings: TemporalConnectionSettings = {
    address: profile.address ?? TEMPORAL_DEFAULT_ADDRESS,
    namespace: profile.namespace ?? TEMPORAL_DEFAULT_NAMESPACE,
    ...(profile.apiKey !== undefined && { apiKey: profile.apiKey }),
    ...(profile.tls !== undefined && { tls: profile.tls }),
    ...(profile.grpcMeta !== undefined && { grpcMeta: profile.grpcMeta }),
  };
  const fromFile = (what: string) => ({
    variable: 'TEMPORAL_CONFIG_FILE',
    message: `profile '${env.TEMPORAL_PROFILE ?? 'default'}': ${what}`,
  });
  if (!/^[A-Za-z0-9.\-_[\]:]+:\d{1,5}$/.test(settings.address)) problems.push(fromFile(`address: expected host:port (got "${settings.address}")`));
  for (const [field, variable] of Object.entries(TLS_FILE_VARIABLES) as [keyof typeof TLS_FILE_VARIABLES, string][]) {
    const source: ConfigDataSource | undefined = settings.tls?.[field];
    // A path the environment set was checked by config.ts; this one came from the config file.
    if (source && 'path' in source && env[variable as keyof TemporalEnv] === undefined && !isFile(source.path)) {
      problems.push(fromFile(`tls.${TOML_KEYS[field]}_path: no such file: ${source.path}`));
    }
  }
  if (settings.tls && settings.tls.disabled !== true && (settings.tls.clientCert === undefined) !== (settings.tls.clientKey === undefined)) {
    const missing = settings.tls.clientCert === undefined ? 'clientCert' : 'clientKey';
    const present = missing === 'clientCert' ? 'clientKey' : 'clientCert';
    problems.push({
      variable: TLS_FILE_VARIABLES[missing],
      message: `required with ${TLS_FILE_VARIABLES[present]}: mTLS needs both the client certificate and its key`,
    });
  }
  return { settings: problems.length > 0 ? defaults : settings, problems };
}

function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}

function definedStrings(record: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).filter((e): e is [string, string] => e[1] !== undefined));
}
