import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Producer } from 'kafkajs';
import { lazilyConnected } from '../../src/platform/kafka/client';

it('connects on first send, and again after a failed connect (Kafka down at startup, up later)', async () => {
  let kafkaUp = false;
  const calls = { connect: 0, send: 0 };
  const fake = {
    connect: async () => {
      calls.connect++;
      if (!kafkaUp) throw new Error('Connection error: connect ECONNREFUSED 127.0.0.1:9092');
    },
    send: async () => {
      calls.send++;
      return [];
    },
    disconnect: async () => undefined,
  } as unknown as Producer;
  const producer = lazilyConnected(fake);
  const record = { topic: 't', messages: [{ value: 'v' }] };

  await assert.rejects(producer.send(record), /ECONNREFUSED/);
  assert.equal(calls.send, 0, 'nothing is sent while disconnected');
  kafkaUp = true;
  await producer.send(record);
  await producer.send(record);
  assert.deepEqual(calls, { connect: 2, send: 2 }, 'one more connect after Kafka came back, then none');
});
