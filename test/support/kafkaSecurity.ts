/**
 * The local broker's secured listeners (infra/kafka/server.properties, made by infra/stack.sh):
 * the platform's KAFKA_* variables for each, as a deployment would set them for MSK.
 */
import { join } from 'node:path';
import { stackLayout } from './stack';

const tlsDir = stackLayout().kafkaTlsDir;

/** SASL/SCRAM-SHA-512 over TLS on 9096 (MSK's SCRAM port). */
export const SASL_SSL_ENV = {
  KAFKA_BOOTSTRAP_SERVERS: 'localhost:9096',
  KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
  KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
  KAFKA_SASL_USERNAME: 'event-platform',
  KAFKA_SASL_PASSWORD: 'event-platform-local-secret',
  KAFKA_SSL_CA_PATH: join(tlsDir, 'ca.pem'),
} as const;

/** TLS with a client certificate on 9094 (MSK's TLS port). */
export const MTLS_ENV = {
  KAFKA_BOOTSTRAP_SERVERS: 'localhost:9094',
  KAFKA_SECURITY_PROTOCOL: 'SSL',
  KAFKA_SSL_CA_PATH: join(tlsDir, 'ca.pem'),
  KAFKA_SSL_CERT_PATH: join(tlsDir, 'client.pem'),
  KAFKA_SSL_KEY_PATH: join(tlsDir, 'client.key'),
} as const;
