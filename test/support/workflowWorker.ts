/**
 * The processEvent workflow and the real activities on a private Temporal dev server, over fake
 * AWS and Kafka clients: a typed builder of the activities' dependencies, and a worker runner.
 */
import { randomUUID } from 'node:crypto';
import { PutItemCommand, type GetItemCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { DataConverter } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { ProducerRecord, RecordMetadata } from 'kafkajs';
import { createActivities, type ActivityDeps } from '../../activities';
import { createLocalTemporal } from './temporal';

/** The commands the activities send to DynamoDB (storeHot's put, the stored item it announces). */
export type HotCommand = PutItemCommand | GetItemCommand;
/** The command archiveCold sends to S3. */
export type ColdCommand = PutObjectCommand;

/** What each fake client does with what it is sent: return the SDK's answer or throw its error. */
export interface FakeActivityClients {
  dynamo?: (command: HotCommand) => Promise<object>;
  s3?: (command: ColdCommand) => Promise<object>;
  producer?: (record: ProducerRecord) => Promise<RecordMetadata[]>;
}

/**
 * ActivityDeps over the given fakes (a missing one answers every call with success), naming the
 * platform's default table, bucket and DLQ topic; `more` sets any other field.
 */
export function fakeActivityDeps(fakes: FakeActivityClients = {}, more: Partial<Omit<ActivityDeps, 'dynamo' | 's3' | 'producer'>> = {}): ActivityDeps {
  const { dynamo = async () => ({}), s3 = async () => ({}), producer = async () => [] } = fakes;
  return {
    dynamo: { send: dynamo },
    s3: { send: s3 },
    producer: { send: producer },
    table: 'EventsHot',
    bucket: 'bucket',
    dlqTopic: 'events.dlq',
    latestIndexShards: 4,
    ...more,
  };
}

/** The event_id a fake DynamoDB or S3 command is about (the item's key, or the object's name). */
export function eventIdOfCommand(command: HotCommand | ColdCommand): string {
  if (command instanceof PutObjectCommand) return command.input.Key?.split('/').pop()?.replace('.json', '') ?? '';
  if (command instanceof PutItemCommand) return command.input.Item?.event_id?.S ?? '';
  return command.input.Key?.event_id?.S ?? '';
}

export interface WorkerOptions {
  /** Default: a fresh `test-<uuid>` queue. */
  taskQueue?: string;
  /** Default: the SDK's. */
  dataConverter?: DataConverter;
}

/** A worker of the real workflow bundle and activities over `deps`, on `env`'s server. */
export async function createProcessEventWorker(
  env: TestWorkflowEnvironment,
  deps: ActivityDeps,
  opts: WorkerOptions = {},
): Promise<{ worker: Worker; taskQueue: string }> {
  const taskQueue = opts.taskQueue ?? `test-${randomUUID()}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowsPath: require.resolve('../../workflows'),
    activities: createActivities(deps),
    ...(opts.dataConverter && { dataConverter: opts.dataConverter }),
  });
  return { worker, taskQueue };
}

/** Runs `fn` while a fresh worker polls its queue, then shuts the worker down. */
export async function withProcessEventWorker<T>(
  env: TestWorkflowEnvironment,
  deps: ActivityDeps,
  opts: WorkerOptions,
  fn: (taskQueue: string) => Promise<T>,
): Promise<T> {
  const { worker, taskQueue } = await createProcessEventWorker(env, deps, opts);
  return worker.runUntil(() => fn(taskQueue));
}

/** A private dev server with one worker running for a whole suite; `teardown` stops both. */
export interface WorkflowTestEnv {
  env: TestWorkflowEnvironment;
  taskQueue: string;
  teardown(): Promise<void>;
}

export async function startWorkflowTestEnv(deps: ActivityDeps, opts: WorkerOptions = {}): Promise<WorkflowTestEnv> {
  const env = await createLocalTemporal();
  try {
    const { worker, taskQueue } = await createProcessEventWorker(env, deps, opts);
    const running = worker.run();
    return {
      env,
      taskQueue,
      async teardown() {
        worker.shutdown();
        await running;
        await env.teardown();
      },
    };
  } catch (err) {
    await env.teardown();
    throw err;
  }
}
