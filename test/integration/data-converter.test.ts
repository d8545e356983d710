/**
 * Payload numbers through Temporal: the bridge's start (the SDK's JSON.stringify keeps raw
 * numbers), the workflow input and the activity arguments (the worker's exact payload converter)
 * reach DynamoDB and S3 with every digit the client sent. Real dev server, fake AWS clients.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createStartProcessEvent } from '../../src/bridge/startProcessEvent';
import type { Config } from '../../src/platform/config';
import type { JsonObject } from '../../src/events/event';
import { parseExact } from '../../src/events/exactJson';
import { exactDataConverter } from '../../src/platform/temporal/dataConverter';
import type { ProcessEventResult } from '../../workflows/contract';
import { makeEnvelope } from '../support/events';
import { createLocalTemporal } from '../support/temporal';
import { fakeActivityDeps, withProcessEventWorker } from '../support/workflowWorker';
import { HANG_TIMEOUT_MS } from '../support/timeouts';

const retries: Config['retries'] = {
  hot: { maximumAttempts: 0, initialIntervalMs: 10, maximumIntervalMs: 50, maxElapsedMs: 3_000 },
  cold: { maximumAttempts: 0, initialIntervalMs: 10, maximumIntervalMs: 50, maxElapsedMs: 3_000 },
  activityTimeoutMs: 1_000,
  fastPathTimeoutMs: 500,
};

const PAYLOAD_TEXT =
  '{"order_id":12345678901234567890,"min":-9223372036854775808,"p":0.1000000000000000055511151231257827,"e":1E+5,"l":[1.0,9007199254740993],"plain":0.5}';

describe('payload numbers through the processEvent workflow', { timeout: HANG_TIMEOUT_MS }, () => {
  let env: TestWorkflowEnvironment;
  const puts = new Map<string, PutItemCommand['input']>();
  const objects = new Map<string, string>();

  before(async () => {
    env = await createLocalTemporal();
  });

  after(async () => {
    await env?.teardown();
  });

  const deps = fakeActivityDeps({
    dynamo: async (command) => {
      if (command instanceof PutItemCommand) puts.set(command.input.Item!.event_id!.S!, command.input);
      return {};
    },
    s3: async (command) => {
      objects.set(command.input.Key!, command.input.Body as string);
      return {};
    },
  });

  /** Runs one event on a worker with the given data converter; what DynamoDB and S3 were sent. */
  async function run(dataConverter: typeof exactDataConverter | undefined) {
    const event = makeEnvelope({ payload: parseExact(PAYLOAD_TEXT) as JsonObject });
    const result = await withProcessEventWorker(env, deps, dataConverter ? { dataConverter } : {}, async (taskQueue) => {
      await createStartProcessEvent(env.client, { address: '', namespace: 'default', taskQueue }, retries)(event);
      return (await env.client.workflow.getHandle(event.event_id).result()) as ProcessEventResult;
    });
    assert.equal(result.cold, 'archived');
    const archived = [...objects.entries()].find(([key]) => key.endsWith(`${event.event_id}.json`))?.[1] ?? '';
    return { put: puts.get(event.event_id), archived };
  }

  it('the worker with the exact data converter stores and archives every digit', async () => {
    const { put, archived } = await run(exactDataConverter);
    assert.ok(archived.endsWith(`"payload":${PAYLOAD_TEXT}}`), archived);
    assert.deepEqual(put?.Item?.payload, {
      M: {
        order_id: { N: '12345678901234567890' },
        min: { N: '-9223372036854775808' },
        p: { N: '0.1000000000000000055511151231257827' },
        e: { N: '1E+5' },
        l: { L: [{ N: '1.0' }, { N: '9007199254740993' }] },
        plain: { N: '0.5' },
      },
    });
  });

  it('without it (the SDK default converter) the same run loses the digits: what the converter is for', async () => {
    const { archived } = await run(undefined);
    assert.ok(archived.includes('"order_id":12345678901234567000'), archived);
  });
});
