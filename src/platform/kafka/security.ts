/**
 * How the Kafka client authenticates and encrypts: the Java client's security.protocol and
 * sasl.mechanism values, so settings copied from a Kafka, MSK or Confluent guide mean the same.
 *
 * Amazon MSK's IAM authentication is `SASL_SSL` with `AWS_MSK_IAM`: kafkajs speaks OAUTHBEARER,
 * and AWS's own signer (aws-msk-iam-sasl-signer-js) turns the AWS default credential chain (role,
 * IRSA, profile, environment) into the short-lived token MSK expects. No user name or password.
 */
import { readFileSync } from 'node:fs';
import { generateAuthToken } from 'aws-msk-iam-sasl-signer-js';
import type { KafkaConfig, OauthbearerProviderResponse, SASLOptions } from 'kafkajs';

export const SECURITY_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
export const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'AWS_MSK_IAM'] as const;
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
  /** The region MSK IAM tokens are signed for (the AWS settings' region). */
  AWS_REGION?: string;
}

export interface KafkaSecurity {
  protocol: SecurityProtocol;
  /** TLS to the brokers. Files unset: the system's CAs, no client certificate. */
  ssl?: { caPath?: string; certPath?: string; keyPath?: string; keyPassword?: string };
  sasl?: { mechanism: Exclude<SaslMechanism, 'AWS_MSK_IAM'>; username: string; password: string } | { mechanism: 'AWS_MSK_IAM'; region: string };
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
  if (usesSasl && env.KAFKA_SASL_MECHANISM === 'AWS_MSK_IAM') {
    if (protocol !== 'SASL_SSL')
      problems.push({
        variable: 'KAFKA_SECURITY_PROTOCOL',
        message: 'must be SASL_SSL with KAFKA_SASL_MECHANISM=AWS_MSK_IAM (MSK takes IAM on its TLS port, 9098)',
      });
    for (const v of ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'] as const) {
      if (env[v] !== undefined)
        problems.push({ variable: v, message: 'is set, but AWS_MSK_IAM signs with the AWS default credential chain and uses no user name or password' });
    }
  } else if (usesSasl) {
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
  const mechanism = protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL' ? env.KAFKA_SASL_MECHANISM : undefined;
  if (mechanism === 'AWS_MSK_IAM') {
    security.sasl = { mechanism, region: env.AWS_REGION ?? 'us-east-1' };
  } else if (mechanism && env.KAFKA_SASL_USERNAME && env.KAFKA_SASL_PASSWORD) {
    security.sasl = { mechanism, username: env.KAFKA_SASL_USERNAME, password: env.KAFKA_SASL_PASSWORD };
  }
  return security;
}

/** Signs an MSK IAM token; replaceable in tests. */
export type MskTokenSigner = (options: { region: string }) => Promise<{ token: string }>;

/**
 * The kafkajs `ssl` and `sasl` options; certificate files are read here, once, at startup. An MSK
 * IAM token is signed on every (re)authentication, so it never outlives its 15 minutes.
 */
export function kafkajsSecurityOptions(security: KafkaSecurity, signMskToken: MskTokenSigner = generateAuthToken): Pick<KafkaConfig, 'ssl' | 'sasl'> {
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
  if (security.sasl?.mechanism === 'AWS_MSK_IAM') {
    const { region } = security.sasl;
    options.sasl = {
      mechanism: 'oauthbearer',
      oauthBearerProvider: async (): Promise<OauthbearerProviderResponse> => ({ value: (await signMskToken({ region })).token }),
    };
  } else if (security.sasl) {
    const { username, password } = security.sasl;
    const mechanisms: Record<Exclude<SaslMechanism, 'AWS_MSK_IAM'>, SASLOptions> = {
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
