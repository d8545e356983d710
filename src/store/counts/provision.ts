/** The counts table's provisioning: its key (./buckets.ts) and, with retention, its TTL. */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Config } from '../../platform/config';
import type { ProvisionOptions } from '../../platform/provisioning';
import { ensureTable } from '../dynamoTable';
import { countsTableDefinition } from './buckets';

/** Created even with EVENT_COUNTS=false, so turning counting on later needs no step. */
export function provisionCountsTable(client: DynamoDBClient, cfg: Config, opts: ProvisionOptions): Promise<string> {
  return ensureTable(client, countsTableDefinition(cfg.aws.countsTable), cfg, opts);
}
