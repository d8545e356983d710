/**
 * The one way the platform connects to Temporal: the bridge, the workers, provisioning, the
 * tests and the bench all build their connection from `config.temporal` through here, so an API
 * key, TLS or mTLS setting reaches every one of them. The worker's NativeConnection uses the same
 * options (src/platform/temporal/nativeConnection.ts).
 */
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import { toClientOptions } from '@temporalio/envconfig';
import { exactDataConverter } from './dataConverter';
import type { TemporalConnectionSettings } from './profile';

const CONNECT_TIMEOUT_MS = 5_000;

/** What both Connection and NativeConnection take. */
export type TemporalConnectionOptions = Required<Pick<ConnectionOptions, 'address'>> & Pick<ConnectionOptions, 'tls' | 'metadata'> & { apiKey?: string };

/**
 * The SDK's own mapping (envconfig's toClientOptions): an API key turns TLS on unless TEMPORAL_TLS
 * is false; certificate files are read now. Unset options are left out, not passed as undefined.
 */
export function temporalConnectionOptions(settings: TemporalConnectionSettings): TemporalConnectionOptions {
  const { connectionOptions } = toClientOptions({
    address: settings.address,
    namespace: settings.namespace,
    ...(settings.apiKey !== undefined && { apiKey: settings.apiKey }),
    ...(settings.tls !== undefined && { tls: settings.tls }),
    ...(settings.grpcMeta !== undefined && { grpcMeta: settings.grpcMeta }),
  });
  const { tls, apiKey, metadata } = connectionOptions;
  return {
    address: settings.address,
    ...(tls !== undefined && tls !== null && { tls }),
    ...(typeof apiKey === 'string' && { apiKey }),
    ...(metadata !== undefined && { metadata }),
  };
}

export async function createTemporalClient(temporal: TemporalConnectionSettings): Promise<Client> {
  const connection = await Connection.connect({ ...temporalConnectionOptions(temporal), connectTimeout: CONNECT_TIMEOUT_MS });
  // Payloads read back (redrive reads each run's input from its history) keep every digit.
  return new Client({ connection, namespace: temporal.namespace, dataConverter: exactDataConverter });
}

/**
 * A client whose connection is made on first use: a process can start (and the bridge keep its
 * partitions) while Temporal is still coming up; calls fail and are retried until it answers.
 */
export function createLazyTemporalClient(temporal: TemporalConnectionSettings): { client: Client; connection: Connection } {
  const connection = Connection.lazy({ ...temporalConnectionOptions(temporal), connectTimeout: CONNECT_TIMEOUT_MS });
  return { client: new Client({ connection, namespace: temporal.namespace, dataConverter: exactDataConverter }), connection };
}
