/** Creating a DynamoDB table and turning on its TTL, for the hot table and the counts table alike. */
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  ResourceNotFoundException,
  UpdateTimeToLiveCommand,
  type CreateTableCommandInput,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import type { Config } from '../platform/config';
import { retryUntilReady, type ProvisionOptions } from '../platform/provisioning';
import { TTL_ATTRIBUTE } from './hot/layout';

export async function ensureTable(client: DynamoDBClient, definition: CreateTableCommandInput, cfg: Config, opts: ProvisionOptions): Promise<string> {
  const name = definition.TableName!;
  const deadlineMs = opts.deadlineMs ?? 90_000;
  const describe = () => client.send(new DescribeTableCommand({ TableName: name }));
  const found = await retryUntilReady('DynamoDB', deadlineMs, async () => {
    try {
      return await describe();
    } catch (err) {
      if (err instanceof ResourceNotFoundException) return undefined;
      throw err;
    }
  });
  if (found) {
    const indexes = found.Table?.GlobalSecondaryIndexes?.map((i) => i.IndexName).join(', ');
    return `table ${name} exists (${found.Table?.TableStatus}${indexes ? `, indexes: ${indexes}` : ''})${await tableTtl(client, name, cfg, opts)}`;
  }
  if (opts.checkOnly) return `table ${name} missing`;
  await client.send(new CreateTableCommand(definition));
  await retryUntilReady(`table ${name}`, deadlineMs, async () => {
    const t = await describe();
    if (t.Table?.TableStatus !== 'ACTIVE') throw new Error(`status ${t.Table?.TableStatus}`);
  });
  return `created table ${name}${await tableTtl(client, name, cfg, opts)}`;
}

/** With HOT_RETENTION_DAYS set, TTL on TTL_ATTRIBUTE (once); a server without TTL is said so. */
async function tableTtl(client: DynamoDBClient, table: string, cfg: Config, opts: ProvisionOptions): Promise<string> {
  if (cfg.retention.hotDays === 0) return '';
  try {
    const ttl = (await client.send(new DescribeTimeToLiveCommand({ TableName: table }))).TimeToLiveDescription;
    if (ttl?.AttributeName === TTL_ATTRIBUTE && (ttl.TimeToLiveStatus === 'ENABLED' || ttl.TimeToLiveStatus === 'ENABLING')) return `; TTL on ${TTL_ATTRIBUTE}`;
    if (opts.checkOnly) return `; TTL off (HOT_RETENTION_DAYS=${cfg.retention.hotDays} wants it on ${TTL_ATTRIBUTE})`;
    await client.send(new UpdateTimeToLiveCommand({ TableName: table, TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true } }));
    return `; TTL turned on for ${TTL_ATTRIBUTE}`;
  } catch (err) {
    if (/UnknownOperation|UnknownError|NotImplemented/.test((err as Error).name)) {
      return "; this server has no TTL: the workers' sweep deletes expired items (HOT_SWEEP_INTERVAL_MS)";
    }
    throw err;
  }
}

/** Deletes a table; one that is not there is left so. */
export async function removeTable(client: Pick<DynamoDBClient, 'send'>, table: string): Promise<void> {
  await client.send(new DeleteTableCommand({ TableName: table })).catch((err: unknown) => {
    if (!(err instanceof ResourceNotFoundException)) throw err;
  });
}
