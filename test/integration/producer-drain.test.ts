/**
 * SIGTERM while keep-alive clients have requests in flight: every request is answered, each
 * event answered 202 is on Kafka, and the producer then exits on its own. A keep-alive
 * connection that finished its request during the drain used to stay open until the server's
 * keep-alive timeout, holding `server.close()` (and the Kafka flush and the exit) that long;
 * with a long timeout a supervisor would SIGKILL the producer mid-drain.
 */
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { before, it } from 'node:test';
import { readTopicToEnd } from '../../src/platform/kafka/readToEnd';
import { platformPerSuite, startPlatform } from '../support/platform';
import { waitFor } from '../support/wait';
import { HANG_TIMEOUT_MS } from '../support/timeouts';

const KEEP_ALIVE_MS = 120_000;
const REQUESTS = 8;

// A long linger keeps the requests in the producer while it is told to stop.
const platform = platformPerSuite(() =>
  startPlatform({ bridges: 0, workers: 0, graphqls: 0, env: { PRODUCER_LINGER_MS: '1000', HTTP_KEEP_ALIVE_TIMEOUT_MS: String(KEEP_ALIVE_MS) } }),
);
const url = () => platform().producerUrl;

before(async () => {
  await waitFor('producer /ready', async () => (await fetch(`${url()}/ready`)).ok, { timeoutMs: 60_000 });
});

/** POST over a keep-alive agent (as SDKs and load balancers do); resolves with status and body. */
function post(agent: Agent, body: unknown): Promise<{ status: number; body: { event_id?: string } }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url()}/events`, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as { event_id?: string } }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

async function inflightRecords(): Promise<number> {
  const text = await (await fetch(`${url()}/metrics`)).text();
  return Number(/^producer_inflight_records (\d+)$/m.exec(text)?.[1] ?? 0);
}

it(
  'SIGTERM with keep-alive requests in flight: all answered 202, all on Kafka, and the producer exits without waiting for the keep-alive timeout',
  { timeout: HANG_TIMEOUT_MS },
  async () => {
    const p = platform();
    const agent = new Agent({ keepAlive: true, maxSockets: REQUESTS });
    try {
      const answers = Array.from({ length: REQUESTS }, (_, i) => post(agent, { event_type: 'drain', user_id: `u${i}` }));
      await waitFor(`${REQUESTS} requests waiting in the producer`, async () => (await inflightRecords()) >= REQUESTS, { intervalMs: 50 });
      const exited = p.signal('producer', 'SIGTERM');
      const results = await Promise.all(answers);
      assert.deepEqual(
        results.map((r) => r.status),
        Array<number>(REQUESTS).fill(202),
      );
      // Well before the 120 s keep-alive timeout: the drain does not wait for idle clients.
      const code = await Promise.race([exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), 30_000).unref())]);
      assert.equal(code, 0, `producer exit (${p.output('producer').slice(-3).join(' | ')})`);
      assert.ok(p.output('producer').some((l) => l.includes('producer stopped')));

      const onKafka = new Set<string>();
      await readTopicToEnd(p.kafka, p.config.kafka.topic, (m) => {
        onKafka.add((JSON.parse(String(m.value)) as { event_id: string }).event_id);
      });
      for (const r of results) assert.ok(onKafka.has(r.body.event_id!), `${r.body.event_id} answered 202 and on Kafka`);
    } finally {
      agent.destroy();
    }
  },
);
