import { Client, Connection } from '@temporalio/client';
import type { Config } from '../config';

export async function createTemporalClient(temporal: Config['temporal']): Promise<Client> {
  const connection = await Connection.connect({ address: temporal.address, connectTimeout: 5_000 });
  return new Client({ connection, namespace: temporal.namespace });
}
