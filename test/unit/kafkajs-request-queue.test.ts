/**
 * kafkajs's per-connection request queue, as the platform loads it (src/platform/kafka/client.ts): idle, it
 * arms no timer; requests waiting or a throttling broker still get their check, as in kafkajs.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import '../../src/platform/kafka/client';
import { RequestQueue, type RequestQueueInternals } from '../../src/platform/kafka/requestQueueFix';
import { REPO_ROOT } from '../support/paths';

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
type Queue = RequestQueueInternals & { destroy(): void };
const newQueue = () =>
  new (RequestQueue as unknown as new (options: object) => Queue)({
    maxInFlightRequests: 1,
    requestTimeout: 1_000,
    enforceRequestTimeout: false,
    clientId: 'test',
    broker: 'b:9092',
    logger: silent,
  });

test('an idle, unthrottled queue arms no timer (kafkajs re-armed a 1 ms timer forever)', async () => {
  const queue = newQueue();
  let checks = 0;
  const check = queue.checkPendingRequests.bind(queue);
  queue.checkPendingRequests = () => (checks++, check());
  try {
    queue.checkPendingRequests();
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(queue.throttleCheckTimeoutId, null);
    assert.equal(checks, 1, 'checked once, then left alone');
  } finally {
    queue.destroy();
  }
});

test('a throttled queue, or one with requests waiting, is still checked later', () => {
  const throttled = newQueue();
  const waiting = newQueue();
  try {
    throttled.throttledUntil = Date.now() + 5_000;
    throttled.scheduleCheckPendingRequests();
    assert.notEqual(throttled.throttleCheckTimeoutId, null);
    waiting.pending.push({});
    waiting.scheduleCheckPendingRequests();
    assert.notEqual(waiting.throttleCheckTimeoutId, null);
  } finally {
    throttled.destroy();
    waiting.destroy();
  }
});

test('no TimeoutNegativeWarning from kafkajs on Node 24', () => {
  const script = `
    require('./src/platform/kafka/client');
    const RequestQueue = require('kafkajs/src/network/requestQueue');
    const logger = { debug() {}, info() {}, warn() {}, error() {} };
    const queue = new RequestQueue({ maxInFlightRequests: 1, requestTimeout: 1000, enforceRequestTimeout: false, clientId: 't', broker: 'b', logger });
    queue.checkPendingRequests();
    setTimeout(() => queue.destroy(), 20);
  `;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: REPO_ROOT, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.doesNotMatch(run.stderr, /TimeoutNegativeWarning/);
});
