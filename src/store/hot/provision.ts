/** The hot table's provisioning: its key and indexes (./layout.ts) and, with retention, its TTL. */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Config } from '../../platform/config';
import type { ProvisionOptions } from '../../platform/provisioning';
import { ensureTable } from '../dynamoTable';
import { tableDefinition } from './layout';

export function provisionHotTable(client: DynamoDBClient, cfg: Config, opts: ProvisionOptions): Promise<string> {
  return ensureTable(client, tableDefinition(cfg.aws.table), cfg, opts);
}
