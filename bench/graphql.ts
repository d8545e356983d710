/**
 * GraphQL read latency at 10k and at 100k items, for each query, through the real server
 * (src/graphql/server.ts) on the real DynamoDB-API server, driven by autocannon from its own
 * process. Baseline: `{ __typename }` on the same server in the same run (HTTP, parsing,
 * validation and the cost check, no storage call), so each query's figure says what reading the
 * table adds. Items are written straight to a private table (deleted afterwards): 8 event types,
 * 1 000 users, timestamps over the last 10 days. The per-client read rate limit is off here.
 */
import { BatchWriteItemCommand } from '@aws-sdk/client-dynamodb';
import { v7 as uuidv7 } from 'uuid';
import { createDynamoClient } from '../src/platform/aws';
import { marshallItem } from '../src/store/hot/itemCodec';
import { toItem } from '../src/store/hot/layout';
import { SCHEMA_VERSION, type EventEnvelope } from '../src/events/event';
import { createLogger } from '../src/platform/logger';
import { deprovision, provisionTable } from '../src/ops/provisioning';
import { configFor, isolatedEnv } from '../test/support/platform';
import { autocannon, startServer, type LoadResult } from './load';

const CONNECTIONS = 8;
const WRITERS = 8;

export interface GraphqlFigures {
  items: number;
  rows: { name: string; result: LoadResult }[];
}

export async function benchGraphql({ quick }: { quick: boolean }): Promise<GraphqlFigures[]> {
  const sizes = quick ? [10_000] : [10_000, 100_000];
  const seconds = Number(process.env.BENCH_HTTP_SECONDS ?? (quick ? 2 : 6));
  // autocannon keeps its connections open past HTTP_MAX_REQUESTS_PER_SOCKET (Node then answers 503).
  const env = await isolatedEnv({ LOG_LEVEL: 'error', RATE_LIMIT_READ_PER_SECOND: '0', HTTP_MAX_REQUESTS_PER_SOCKET: '0' });
  const config = configFor(env);
  const logger = createLogger(config, 'bench');
  await provisionTable(config, { logger, deadlineMs: 60_000 });
  const dynamo = createDynamoClient(config.aws);
  const url = `http://127.0.0.1:${config.http.graphqlPort}/graphql`;
  const server = await startServer('src/graphql/server.ts', env, async () => (await fetch(url.replace('/graphql', '/health'))).ok);
  const results: GraphqlFigures[] = [];
  let written = 0;
  let someId = '';
  try {
    for (const size of sizes) {
      const started = performance.now();
      const added = size - written;
      someId = await writeItems(dynamo, config.aws.table, config.latestIndexShards, written, added);
      const writeRate = added / ((performance.now() - started) / 1000);
      written = size;
      const queries: [string, string][] = [
        ['{ __typename } (baseline)', '{ __typename }'],
        ['latestEvents(limit: 10)', '{ latestEvents(limit: 10) { eventId eventType userId timestamp payload cursor } }'],
        ['eventsByType(limit: 10)', '{ eventsByType(eventType: "type3", limit: 10) { eventId userId timestamp payload cursor } }'],
        ['eventsByUser(limit: 10)', '{ eventsByUser(userId: "user42", limit: 10) { eventId eventType timestamp payload cursor } }'],
        ['event(eventId)', `{ event(eventId: "${someId}") { eventId eventType userId timestamp payload } }`],
        ['latestEvents(limit: 100)', '{ latestEvents(limit: 100) { eventId eventType userId timestamp payload cursor } }'],
      ];
      console.log(
        `\ngraphql: ${size} items (${writeRate.toFixed(0)} items/s written with BatchWriteItem), autocannon ${CONNECTIONS} connections, ${seconds} s per query\n`,
      );
      const rows: GraphqlFigures['rows'] = [];
      for (const [name, query] of queries) {
        const body = JSON.stringify({ query });
        await autocannon({ url, connections: CONNECTIONS, seconds: 1, method: 'POST', body, headers: { 'content-type': 'application/json' } }); // warm-up
        const result = await autocannon({ url, connections: CONNECTIONS, seconds, method: 'POST', body, headers: { 'content-type': 'application/json' } });
        if (result.failures > 0) throw new Error(`${name}: ${result.failures} requests failed`);
        rows.push({ name, result });
        const base = rows[0]!.result;
        // autocannon's latencies are whole milliseconds, so the ratio is taken on requests/s.
        console.log(
          `${name.padEnd(28)} p50 ${String(result.p50).padStart(4)} ms  p99 ${String(result.p99).padStart(4)} ms  ${result.rps.toFixed(0).padStart(6)} req/s  x${(result.rps / base.rps).toFixed(3)} of baseline req/s`,
        );
      }
      results.push({ items: size, rows });
    }
  } finally {
    await server.stop();
    dynamo.destroy();
    await deprovision(config, logger);
  }
  return results;
}

/** Writes `count` items, `WRITERS` BatchWriteItem calls at a time; returns one event id. */
async function writeItems(dynamo: ReturnType<typeof createDynamoClient>, table: string, shards: number, from: number, count: number): Promise<string> {
  const now = Date.now();
  let next = 0;
  let someId = '';
  await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      while (next < count) {
        const chunk = Array.from({ length: Math.min(25, count - next) }, () => from + next++);
        let requests = chunk.map((i) => {
          const timestamp = new Date(now - ((i * 7_919) % (10 * 86_400_000))).toISOString();
          const event: EventEnvelope = {
            schema_version: SCHEMA_VERSION,
            event_id: uuidv7(),
            event_type: `type${i % 8}`,
            user_id: `user${i % 1000}`,
            timestamp,
            received_at: timestamp,
            payload: { i, page: `/p/${i % 50}`, referrer: 'google.com' },
          };
          someId = event.event_id;
          return { PutRequest: { Item: marshallItem(toItem(event, shards)) } };
        });
        while (requests.length > 0) {
          const out = await dynamo.send(new BatchWriteItemCommand({ RequestItems: { [table]: requests } }));
          requests = (out.UnprocessedItems?.[table] ?? []) as typeof requests;
        }
      }
    }),
  );
  return someId;
}
