/**
 * The producer, the bridge and its dead-letter producer over the local broker's secured
 * listeners, configured only by KAFKA_* variables: SASL/SCRAM-SHA-512 over TLS, and TLS with a
 * client certificate. Wrong credentials are refused by the broker.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/platform/config';
import { createKafka } from '../../src/platform/kafka/client';
import { getItem, postJson, watchDlq } from '../support/clients';
import { MTLS_ENV, SASL_SSL_ENV } from '../support/kafkaSecurity';
import { quietLogger, startPlatform } from '../support/platform';
import { waitFor } from '../support/wait';
import { HANG_TIMEOUT_MS } from '../support/timeouts';

for (const [name, env] of [
  ['SASL_SSL with SCRAM-SHA-512 (port 9096)', SASL_SSL_ENV],
  ['SSL with a client certificate (port 9094)', MTLS_ENV],
] as const) {
  describe(`Kafka over ${name}`, { timeout: HANG_TIMEOUT_MS }, () => {
    it('an event goes producer -> Kafka -> bridge -> workflow -> DynamoDB; a poison record is dead-lettered', async () => {
      const p = await startPlatform({ bridges: 1, workers: 1, env: { ...env } });
      const dlq = await watchDlq(p);
      try {
        assert.equal(p.config.kafka.security.protocol, env.KAFKA_SECURITY_PROTOCOL);
        const res = await postJson(`${p.producerUrl}/events`, { event_type: 'page_view', user_id: `user-${randomUUID()}` });
        assert.equal(res.status, 202, JSON.stringify(res.body));
        const id = res.body.event_id as string;
        await waitFor('the event stored', () => getItem(p, id), { timeoutMs: 60_000 });
        await waitFor(`workflow ${id} to complete`, async () => (await p.temporal.workflow.getHandle(id).describe()).status.name === 'COMPLETED');

        const producer = p.kafka.producer();
        await producer.connect();
        const poison = `not json ${randomUUID()}`;
        await producer.send({ topic: p.config.kafka.topic, messages: [{ key: 'poison', value: poison }] });
        await producer.disconnect();
        await waitFor('the poison record on the DLQ', () => dlq.records.some((r) => JSON.stringify(r).includes(poison)), { timeoutMs: 60_000 });
      } finally {
        await dlq.stop();
        await p.stop();
      }
    });
  });
}

describe('Kafka secured listeners refuse wrong credentials', { timeout: HANG_TIMEOUT_MS }, () => {
  const refused = async (env: Record<string, string>) => {
    const kafka = createKafka(loadConfig(env).kafka, quietLogger);
    const admin = kafka.admin({ retry: { retries: 0 } });
    await assert.rejects(admin.connect().then(() => admin.listTopics()));
    await admin.disconnect();
  };
  it('a wrong SCRAM password', () => refused({ ...SASL_SSL_ENV, KAFKA_SASL_PASSWORD: 'wrong-password' }));
  it('no client certificate on the mutual TLS listener', () =>
    refused({ KAFKA_BOOTSTRAP_SERVERS: MTLS_ENV.KAFKA_BOOTSTRAP_SERVERS, KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_CA_PATH: MTLS_ENV.KAFKA_SSL_CA_PATH }));
});
