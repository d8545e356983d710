/**
 * How the Kafka client authenticates and encrypts: the Java client's security.protocol and
 * sasl.mechanism values, so settings copied from a Kafka, MSK or Confluent guide mean the same.
 *
 * Amazon MSK's IAM authentication needs a signing library kafkajs does not include; on MSK use
 * SASL/SCRAM (SCRAM-SHA-512, secrets in AWS Secrets Manager) or mutual TLS instead.
 */
import { readFileSync } from 'node:fs';
import type { KafkaConfig, SASLOptions } from 'kafkajs';

export const SECURITY_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
export const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export type SecurityProtocol = (typeof SECURITY_PROTOCOLS)[number];
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

/** The validated KAFKA_* security variables (config.ts checks each one's format). */
export interface KafkaSecurityEnv {
  KAFKA_SECURITY_PROTOCOL: SecurityProtocol;
  KAFKA_SASL_MECHANISM?: SaslMechanism;
  KAFKA_SASL_USERNAME?: string;
  KAFKA_SASL_PASSWORD?: string;
  KAFKA_SSL_CA_PATH?: string;
  KAFKA_SSL_CERT_PATH?: string;
  KAFKA_SSL_KEY_PATH?: string;
  KAFKA_SSL_KEY_PASSWORD?: string;
}

export interface KafkaSecurity {
  protocol: SecurityProtocol;
  /** TLS to the brokers. Files unset: the system's CAs, no client certificate. */
  ssl?: { caPath?: string; certPath?: string; keyPath?: string; keyPassword?: string };
  sasl?: { mechanism: SaslMechanism; username: string; password: string };
}

interface Problem {
  variable: string;
  message: string;
}

const SSL_VARIABLES = ['KAFKA_SSL_CA_PATH', 'KAFKA_SSL_CERT_PATH', 'KAFKA_SSL_KEY_PATH', 'KAFKA_SSL_KEY_PASSWORD'] as const;
const SASL_VARIABLES = ['KAFKA_SASL_MECHANISM', 'KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'] as const;

/**
 * Settings that the protocol would ignore are refused: a certificate or password set for a
 * PLAINTEXT connection means the operator expects a protection that is not there.
 */
export function kafkaSecurityProblems(env: KafkaSecurityEnv): Problem[] {
  const protocol = env.KAFKA_SECURITY_PROTOCOL;
  const usesSsl = protocol === 'SSL' || protocol === 'SASL_SSL';
  const usesSasl = protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL';
  const problems: Problem[] = [];
  const unused = (variable: string, instead: string) =>
    problems.push({ variable, message: `is set, but KAFKA_SECURITY_PROTOCOL=${protocol} does not use it (${instead})` });
  if (!usesSsl) for (const v of SSL_VARIABLES) if (env[v] !== undefined) unused(v, 'TLS needs SSL or SASL_SSL');
  if (!usesSasl) for (const v of SASL_VARIABLES) if (env[v] !== undefined) unused(v, 'SASL needs SASL_PLAINTEXT or SASL_SSL');
  if (usesSasl) {
    for (const v of SASL_VARIABLES) {
      if (env[v] === undefined) problems.push({ variable: v, message: `required with KAFKA_SECURITY_PROTOCOL=${protocol}` });
    }
  }
  if (usesSsl) {
    if (env.KAFKA_SSL_CERT_PATH !== undefined && env.KAFKA_SSL_KEY_PATH === undefined) {
      problems.push({ variable: 'KAFKA_SSL_KEY_PATH', message: 'required with KAFKA_SSL_CERT_PATH: mutual TLS needs the client certificate and its key' });
    }
    if (env.KAFKA_SSL_KEY_PATH !== undefined && env.KAFKA_SSL_CERT_PATH === undefined) {
      problems.push({ variable: 'KAFKA_SSL_CERT_PATH', message: 'required with KAFKA_SSL_KEY_PATH: mutual TLS needs the client certificate and its key' });
    }
    if (env.KAFKA_SSL_KEY_PASSWORD !== undefined && env.KAFKA_SSL_KEY_PATH === undefined) {
      problems.push({ variable: 'KAFKA_SSL_KEY_PASSWORD', message: 'is set, but KAFKA_SSL_KEY_PATH is not' });
    }
  }
  return problems;
}

/** Call after kafkaSecurityProblems found nothing. */
export function kafkaSecurity(env: KafkaSecurityEnv): KafkaSecurity {
  const protocol = env.KAFKA_SECURITY_PROTOCOL;
  const security: KafkaSecurity = { protocol };
  if (protocol === 'SSL' || protocol === 'SASL_SSL') {
    security.ssl = definedOnly({
      caPath: env.KAFKA_SSL_CA_PATH,
      certPath: env.KAFKA_SSL_CERT_PATH,
      keyPath: env.KAFKA_SSL_KEY_PATH,
      keyPassword: env.KAFKA_SSL_KEY_PASSWORD,
    });
  }
  if ((protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL') && env.KAFKA_SASL_MECHANISM && env.KAFKA_SASL_USERNAME && env.KAFKA_SASL_PASSWORD) {
    security.sasl = { mechanism: env.KAFKA_SASL_MECHANISM, username: env.KAFKA_SASL_USERNAME, password: env.KAFKA_SASL_PASSWORD };
  }
  return security;
}

/** The kafkajs `ssl` and `sasl` options; certificate files are read here, once, at startup. */
export function kafkajsSecurityOptions(security: KafkaSecurity): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const options: Pick<KafkaConfig, 'ssl' | 'sasl'> = {};
  if (security.ssl) {
    const { caPath, certPath, keyPath, keyPassword } = security.ssl;
    const tls = definedOnly({
      ca: caPath === undefined ? undefined : [readFileSync(caPath, 'utf8')],
      cert: certPath === undefined ? undefined : readFileSync(certPath, 'utf8'),
      key: keyPath === undefined ? undefined : readFileSync(keyPath, 'utf8'),
      passphrase: keyPassword,
    });
    // `true`: TLS with the system's CAs (MSK, Confluent Cloud).
    options.ssl = Object.keys(tls).length === 0 ? true : tls;
  }
  if (security.sasl) {
    const { username, password } = security.sasl;
    const mechanisms: Record<SaslMechanism, SASLOptions> = {
      PLAIN: { mechanism: 'plain', username, password },
      'SCRAM-SHA-256': { mechanism: 'scram-sha-256', username, password },
      'SCRAM-SHA-512': { mechanism: 'scram-sha-512', username, password },
    };
    options.sasl = mechanisms[security.sasl.mechanism];
  }
  return options;
}

function definedOnly<T extends Record<string, unknown>>(record: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}
