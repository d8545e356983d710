/**
 * The worker's connection (the SDK's Rust core), built from the same options as the client's
 * (src/platform/temporal/connection.ts). A separate module so that processes without a worker never load
 * the native core.
 */
import { NativeConnection } from '@temporalio/worker';
import { temporalConnectionOptions } from './connection';
import type { TemporalConnectionSettings } from './profile';

export async function connectNativeConnection(temporal: TemporalConnectionSettings): Promise<NativeConnection> {
  return NativeConnection.connect(temporalConnectionOptions(temporal));
}
