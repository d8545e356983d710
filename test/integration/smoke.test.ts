/**
 * Each server of the local stack is real and reachable through the clients the platform uses,
 * and holds what the stack provisioned. Writes go to unique keys or temporary resources and are
 * removed afterwards.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { DeleteItemCommand, DescribeTableCommand, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { Worker } from '@temporalio/worker';
import { createDynamoClient, createS3Client } from '../../src/platform/aws';
import { INDEX, toItem } from '../../src/store/hot/layout';
import { loadConfig } from '../../src/platform/config';
import { createKafka } from '../../src/platform/kafka/client';
import { createTemporalClient } from '../../src/platform/temporal/connection';
import { makeEnvelope } from '../support/events';
import { temporalCliPath } from '../support/paths';
import { quietLogger } from '../support/platform';
import { waitFor, waitUntil } from '../support/wait';
import { HANG_TIMEOUT_MS } from '../support/timeouts';

const config = loadConfig({ ...process.env, ENVIRONMENT: 'development' });

describe('local stack smoke', { timeout: HANG_TIMEOUT_MS }, () => {
  const dynamo = createDynamoClient(config.aws);
  const s3 = createS3Client(config.aws);
  after(() => {
    dynamo.destroy();
    s3.destroy();
  });

  it('Kafka: the stack created events.raw (4 partitions) and events.dlq; a record produced is consumed', async () => {
    const kafka = createKafka(config.kafka, quietLogger, '-smoke');
    const admin = kafka.admin();
    await admin.connect();
    const topic = `smoke-${randomUUID()}`;
    const groupId = `smoke-${randomUUID()}`;
    try {
      const meta = await admin.fetchTopicMetadata({ topics: ['events.raw', 'events.dlq'] });
      assert.equal(meta.topics.find((t) => t.name === 'events.raw')?.partitions.length, 4);
      assert.ok(meta.topics.find((t) => t.name === 'events.dlq'));

      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
      const producer = kafka.producer();
      await producer.connect();
      const value = `hello ${randomUUID()}`;
      await producer.send({ topic, acks: -1, messages: [{ key: 'k', value }] });
      await producer.disconnect();

      const consumer = kafka.consumer({ groupId });
      const received: string[] = [];
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void received.push(message.value!.toString()) });
      await waitFor('the record to be consumed', () => received.includes(value));
      await consumer.disconnect();
    } finally {
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.deleteGroups([groupId]).catch(() => undefined);
      await admin.disconnect();
    }
  });

  it('Temporal: a workflow started on the dev server shows up in `temporal workflow list`', async () => {
    const client = await createTemporalClient(config.temporal);
    const taskQueue = `smoke-${randomUUID()}`;
    const workflowId = `smoke-${randomUUID()}`;
    const worker = await Worker.create({ taskQueue, workflowsPath: require.resolve('../support/smokeWorkflow') });
    try {
      const result = await worker.runUntil(client.workflow.execute('echo', { taskQueue, workflowId, args: ['ping'] }));
      assert.equal(result, 'ping');
      // Visibility lists a run some time after it completed.
      const listed = await waitUntil(
        'the CLI to list the completed run',
        async () => {
          const { stdout } = await promisify(execFile)(temporalCliPath(), [
            'workflow',
            'list',
            '--address',
            config.temporal.address,
            '--query',
            `WorkflowId = '${workflowId}'`,
            '-o',
            'json',
          ]);
          return JSON.parse(stdout) as { execution: { workflowId: string }; status: string }[];
        },
        (runs) => runs.some((r) => r.status === 'WORKFLOW_EXECUTION_STATUS_COMPLETED'),
      );
      assert.equal(listed.length, 1);
      assert.equal(listed[0]!.execution.workflowId, workflowId);
      assert.equal(listed[0]!.status, 'WORKFLOW_EXECUTION_STATUS_COMPLETED');
    } finally {
      await client.workflowService.deleteWorkflowExecution({ namespace: config.temporal.namespace, workflowExecution: { workflowId } }).catch(() => undefined);
      await client.connection.close();
    }
  });

  it('DynamoDB: the table has its three indexes; PutItem then Query on the by_user index', async () => {
    const table = await dynamo.send(new DescribeTableCommand({ TableName: config.aws.table }));
    assert.deepEqual(table.Table?.GlobalSecondaryIndexes?.map((i) => i.IndexName).sort(), [INDEX.byTime, INDEX.byType, INDEX.byUser]);
    const event = makeEnvelope({ user_id: `smoke-${randomUUID()}` });
    await dynamo.send(new PutItemCommand({ TableName: config.aws.table, Item: marshall(toItem(event, config.latestIndexShards)) }));
    try {
      const out = await dynamo.send(
        new QueryCommand({
          TableName: config.aws.table,
          IndexName: INDEX.byUser,
          KeyConditionExpression: 'user_id = :u',
          ExpressionAttributeValues: { ':u': { S: event.user_id } },
        }),
      );
      assert.equal(out.Items?.length, 1);
      assert.deepEqual(unmarshall(out.Items![0]!).payload, event.payload);
    } finally {
      await dynamo.send(new DeleteItemCommand({ TableName: config.aws.table, Key: { event_id: { S: event.event_id } } }));
    }
  });

  it('S3: PutObject then GetObject in the bucket, with the SDK v3 checksums', async () => {
    const key = `smoke/${randomUUID()}.json`;
    const body = JSON.stringify({ hello: 'world', at: new Date().toISOString() });
    await s3.send(new PutObjectCommand({ Bucket: config.aws.bucket, Key: key, Body: body, ContentType: 'application/json' }));
    try {
      const got = await s3.send(new GetObjectCommand({ Bucket: config.aws.bucket, Key: key }));
      assert.equal(await got.Body!.transformToString(), body);
      assert.equal(got.ContentType, 'application/json');
    } finally {
      await s3.send(new DeleteObjectCommand({ Bucket: config.aws.bucket, Key: key }));
    }
  });
});
