/**
 * Loading: the environment validated against the schema, then the checks across variables, with
 * every secret's value kept out of the error. Every process loads it once at startup
 * (src/platform/runMain.ts); everything else receives the typed `Config` (or a slice) as an argument.
 */
import { listsShareAKey } from '../http/keys';
import { kafkaSecurityProblems } from '../kafka/security';
import { resolveTemporalSettings } from '../temporal/profile';
import { BLANK_IS_A_VALUE, CONFIG_VARIABLES, RETRY_STEPS, envSchema, type ParsedEnv } from './schema';
import { shape, type Config } from './shape';

/**
 * Variables whose values never appear in an error message: the API keys (known by name) and
 * anything named like a credential. A startup error goes to logs that many people can read.
 */
const SECRET_VARIABLES: ReadonlySet<string> = new Set(['API_KEYS', 'WRITE_KEYS', 'READ_KEYS']);
export function isSecretVariable(name: string): boolean {
  return SECRET_VARIABLES.has(name) || /KEY|SECRET|PASSWORD|TOKEN|CREDENTIAL/i.test(name);
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n')}`);
  }
}

/**
 * Validates `env` (process.env by default). '' counts as unset, and so does a value of only spaces
 * except for a list (or API_KEYS), where it is refused as listing nothing. Throws ConfigError.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(
    CONFIG_VARIABLES.flatMap((key) => {
      const value = env[key];
      const unset = value === undefined || value === '' || (value.trim() === '' && !BLANK_IS_A_VALUE.has(key));
      return unset ? [] : [[key, value]];
    }),
  );
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues
        .map((issue) => {
          const variable = String(issue.path[0] ?? '(environment)');
          const got = present[variable];
          const shown = got === undefined ? '' : isSecretVariable(variable) ? ' (value not shown: it is a secret)' : ` (got "${got}")`;
          return { variable, message: `${issue.message}${shown}` };
        })
        .map((problem) => redactSecrets(problem, present)),
    );
  }
  const env2 = parsed.data;
  const problems: { variable: string; message: string }[] = [];
  if (env2.GRAPHQL_GRAPHIQL === true && env2.GRAPHQL_INTROSPECTION === false) {
    problems.push({ variable: 'GRAPHQL_GRAPHIQL', message: 'GraphiQL needs introspection: set GRAPHQL_INTROSPECTION=true too, or turn GraphiQL off' });
  }
  if (env2.GRAPHQL_DEFAULT_LIMIT > env2.GRAPHQL_MAX_LIMIT) {
    problems.push({ variable: 'GRAPHQL_DEFAULT_LIMIT', message: `must not exceed GRAPHQL_MAX_LIMIT (${env2.GRAPHQL_MAX_LIMIT})` });
  }
  if (env2.KAFKA_TOPIC === env2.KAFKA_DLQ_TOPIC) {
    problems.push({ variable: 'KAFKA_DLQ_TOPIC', message: 'must differ from KAFKA_TOPIC' });
  }
  if (env2.KAFKA_STORED_TOPIC === env2.KAFKA_TOPIC || env2.KAFKA_STORED_TOPIC === env2.KAFKA_DLQ_TOPIC) {
    problems.push({ variable: 'KAFKA_STORED_TOPIC', message: 'must differ from KAFKA_TOPIC and KAFKA_DLQ_TOPIC' });
  }
  if (env2.DYNAMODB_COUNTS_TABLE === env2.DYNAMODB_TABLE) {
    problems.push({ variable: 'DYNAMODB_COUNTS_TABLE', message: 'must differ from DYNAMODB_TABLE' });
  }
  if (env2.MAX_EVENT_BYTES > env2.PRODUCER_MAX_BATCH_BYTES) {
    problems.push({
      variable: 'PRODUCER_MAX_BATCH_BYTES',
      message: `must be at least MAX_EVENT_BYTES (${env2.MAX_EVENT_BYTES}) so one event fits a produce request`,
    });
  }
  if (env2.ARCHIVE_EXPIRATION_DAYS > 0 && env2.ARCHIVE_TRANSITION_DAYS > 0 && env2.ARCHIVE_EXPIRATION_DAYS <= env2.ARCHIVE_TRANSITION_DAYS) {
    problems.push({
      variable: 'ARCHIVE_EXPIRATION_DAYS',
      message: `must exceed ARCHIVE_TRANSITION_DAYS (${env2.ARCHIVE_TRANSITION_DAYS}), or objects expire before they move (0 = never expire)`,
    });
  }
  if (env2.MAX_EVENT_BYTES > env2.MAX_BATCH_BYTES) {
    problems.push({ variable: 'MAX_EVENT_BYTES', message: `must not exceed MAX_BATCH_BYTES (${env2.MAX_BATCH_BYTES})` });
  }
  if (env2.HTTP_HEADERS_TIMEOUT_MS > env2.HTTP_REQUEST_TIMEOUT_MS) {
    problems.push({ variable: 'HTTP_HEADERS_TIMEOUT_MS', message: `must not exceed HTTP_REQUEST_TIMEOUT_MS (${env2.HTTP_REQUEST_TIMEOUT_MS})` });
  }
  if (listsShareAKey({ write: env2.WRITE_KEYS, read: env2.READ_KEYS })) {
    problems.push({ variable: 'READ_KEYS', message: 'a key must not be in both WRITE_KEYS and READ_KEYS: write keys end up in web pages' });
  }
  problems.push(...retryProblems(env2));
  problems.push(...kafkaSecurityProblems(env2));
  const temporal = resolveTemporalSettings(env2, env);
  problems.push(...temporal.problems);
  if (problems.length > 0) throw new ConfigError(problems.map((problem) => redactSecrets(problem, present)));
  return shape(env2, temporal.settings);
}

/**
 * Whatever a message says, a secret's value (or any one of its comma-separated parts) never
 * appears in it: a safety net for messages written later that quote a value.
 */
function redactSecrets(problem: { variable: string; message: string }, present: Record<string, string>): { variable: string; message: string } {
  let message = problem.message;
  for (const [name, value] of Object.entries(present)) {
    if (!isSecretVariable(name)) continue;
    const parts = [value, ...value.split(',')].map((part) => part.trim()).filter((part) => part.length >= 4);
    for (const part of parts.sort((a, b) => b.length - a.length)) message = message.split(part).join('[redacted]');
  }
  return { variable: problem.variable, message };
}

/**
 * A retry policy Temporal cannot run (initial interval above the maximum) would fail every
 * event's step; a budget shorter than one attempt or than the first backoff would cut attempts
 * or never retry. Both are refused at startup instead.
 */
function retryProblems(env: ParsedEnv): { variable: string; message: string }[] {
  const problems: { variable: string; message: string }[] = [];
  for (const step of RETRY_STEPS) {
    const initial = env[`${step}_RETRY_INITIAL_INTERVAL_MS`];
    const maximum = env[`${step}_RETRY_MAX_INTERVAL_MS`];
    const budget = env[`${step}_RETRY_MAX_ELAPSED_MS`];
    if (initial > maximum) {
      problems.push({ variable: `${step}_RETRY_INITIAL_INTERVAL_MS`, message: `must not exceed ${step}_RETRY_MAX_INTERVAL_MS (${maximum}), got ${initial}` });
    }
    if (env.ACTIVITY_TIMEOUT_MS > budget) {
      problems.push({
        variable: `${step}_RETRY_MAX_ELAPSED_MS`,
        message: `must be at least ACTIVITY_TIMEOUT_MS (${env.ACTIVITY_TIMEOUT_MS}) so one attempt fits, got ${budget}`,
      });
    } else if (initial >= budget) {
      problems.push({
        variable: `${step}_RETRY_MAX_ELAPSED_MS`,
        message: `must exceed ${step}_RETRY_INITIAL_INTERVAL_MS (${initial}) or nothing is ever retried, got ${budget}`,
      });
    }
  }
  return problems;
}

/** What a process prints when its configuration is invalid (then exits 78, EX_CONFIG). */
export function configErrorText(err: ConfigError): string {
  return `${err.message}\nSee env.example for every variable and its default.\n`;
}

/** For the CLI, which reads configuration only once its arguments asked for work; processes use runMain. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(configErrorText(err));
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
}
