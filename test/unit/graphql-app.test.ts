/**
 * The GraphQL API with a fake EventReader: the seed's queries, limit and cursor checks, the
 * depth cap, GraphiQL and health. Requests go through Fastify's inject (no socket).
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { getIntrospectionQuery } from 'graphql';
import { pino } from 'pino';
import { marshallItem } from '../../src/store/hot/itemCodec';
import { toItem } from '../../src/store/hot/layout';
import { loadConfig } from '../../src/platform/config';
import { buildGraphqlApp } from '../../src/graphql/app';
import { makeEnvelope } from '../support/events';
import { graphqlApp, READ_KEY } from '../support/httpFixtures';
import { createEventReader, CursorError, decodeCursor, encodeCursor, type EventReader, type EventRecord } from '../../src/store/hot/reader';

const EVENTS: EventRecord[] = [
  {
    eventId: '0192f1c4-8d1e-7c3a-9b2f-5a6d7e8f9a0b',
    eventType: 'page_view',
    userId: '123',
    timestamp: '2026-11-25T10:00:00.000Z',
    receivedAt: '2026-11-25T10:00:00.120Z',
    payload: { page: '/home', referrer: 'google.com' },
    cursor: encodeCursor('2026-11-25T10:00:00.000Z#0192f1c4-8d1e-7c3a-9b2f-5a6d7e8f9a0b'),
  },
  {
    eventId: '0192f1c3-0000-7000-8000-000000000001',
    eventType: 'page_view',
    userId: '123',
    timestamp: '2026-11-25T09:59:00.000Z',
    receivedAt: '2026-11-25T09:59:00.050Z',
    payload: { page: '/pricing', tags: ['a', 'b'], depth: { n: 1 } },
    cursor: encodeCursor('2026-11-25T09:59:00.000Z#0192f1c3-0000-7000-8000-000000000001'),
  },
];

type Call = { method: 'latest' | 'byType' | 'byUser' | 'byId'; args: unknown[] };
const calls: Call[] = [];

/** Behaves like the real reader where it matters here: `after` goes through decodeCursor. */
const reader: EventReader = {
  async latest(limit, after) {
    calls.push({ method: 'latest', args: [limit, after] });
    if (after) decodeCursor(after);
    return EVENTS.slice(0, limit);
  },
  async byType(eventType, limit, after) {
    calls.push({ method: 'byType', args: [eventType, limit, after] });
    if (after) decodeCursor(after);
    return EVENTS.filter((e) => e.eventType === eventType).slice(0, limit);
  },
  async byUser(userId, limit, after) {
    calls.push({ method: 'byUser', args: [userId, limit, after] });
    if (after) decodeCursor(after);
    return EVENTS.filter((e) => e.userId === userId).slice(0, limit);
  },
  async byId(eventId) {
    calls.push({ method: 'byId', args: [eventId] });
    return EVENTS.find((e) => e.eventId === eventId) ?? null;
  },
};

let app: FastifyInstance;

interface GraphqlResponse {
  status: number;
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

async function query(text: string): Promise<GraphqlResponse> {
  const res = await app.inject({ method: 'POST', url: '/graphql', payload: { query: text } });
  const body = res.json<Omit<GraphqlResponse, 'status'>>();
  return { status: res.statusCode, ...body };
}

function errorMessages(res: GraphqlResponse): string {
  assert.ok(res.errors && res.errors.length > 0, `expected GraphQL errors, got ${JSON.stringify(res)}`);
  return res.errors.map((e) => e.message).join(' | ');
}

before(async () => {
  app = buildGraphqlApp({ reader, limits: { defaultLimit: 10, maxLimit: 100 } });
  await app.ready();
});

after(async () => {
  await app.close();
});

beforeEach(() => {
  calls.length = 0;
});

void describe("the seed's queries", () => {
  const seed: { field: string; args: string; selection: (keyof EventRecord)[]; call: Call }[] = [
    {
      field: 'latestEvents',
      args: 'limit: 5',
      selection: ['eventId', 'eventType', 'userId', 'timestamp', 'payload'],
      call: { method: 'latest', args: [5, undefined] },
    },
    {
      field: 'eventsByType',
      args: 'eventType: "page_view"',
      selection: ['eventId', 'userId', 'timestamp', 'payload'],
      call: { method: 'byType', args: ['page_view', 10, undefined] },
    },
    {
      field: 'eventsByUser',
      args: 'userId: "123"',
      selection: ['eventId', 'eventType', 'timestamp', 'payload'],
      call: { method: 'byUser', args: ['123', 10, undefined] },
    },
  ];
  for (const { field, args, selection, call } of seed) {
    const text = `{ ${field}(${args}) { ${selection.join(' ')} } }`;
    void it(text, async () => {
      const res = await query(text);
      assert.equal(res.status, 200);
      assert.equal(res.errors, undefined);
      // Exactly the fields selected, of every event the reader returned.
      assert.deepEqual(res.data, { [field]: EVENTS.map((e) => Object.fromEntries(selection.map((name) => [name, e[name]]))) });
      const list = res.data[field] as { payload: unknown }[];
      assert.equal(typeof list[0]?.payload, 'object', 'payload is a JSON object, not a string');
      assert.deepEqual(list[1]?.payload, { page: '/pricing', tags: ['a', 'b'], depth: { n: 1 } });
      assert.deepEqual(calls, [call]);
    });
  }
});

void describe('limits and cursors', () => {
  void it('passes the default limit 10 when none is given', async () => {
    const res = await query('{ latestEvents { eventId } }');
    assert.equal(res.errors, undefined);
    assert.deepEqual(calls, [{ method: 'latest', args: [10, undefined] }]);
  });

  void it('passes limit 100 (the maximum) and a valid cursor through', async () => {
    const after = EVENTS[0]?.cursor ?? '';
    const res = await query(`{ eventsByUser(userId: "123", limit: 100, after: "${after}") { eventId cursor } }`);
    assert.equal(res.errors, undefined);
    assert.deepEqual(calls, [{ method: 'byUser', args: ['123', 100, after] }]);
  });

  for (const limit of [0, 10000, -1]) {
    void it(`limit: ${limit} is an error naming limit and the maximum 100; the reader is not called`, async () => {
      const res = await query(`{ latestEvents(limit: ${limit}) { eventId } }`);
      const message = errorMessages(res);
      assert.match(message, /limit/);
      assert.match(message, /100/);
      assert.equal(res.errors?.[0]?.extensions?.argument, 'limit');
      assert.equal(res.data, null);
      assert.deepEqual(calls, []);
    });
  }

  void it('limit above the maximum is rejected on the filtered lists too', async () => {
    const byType = await query('{ eventsByType(eventType: "page_view", limit: 101) { eventId } }');
    assert.match(errorMessages(byType), /limit.*100/);
    const byUser = await query('{ eventsByUser(userId: "123", limit: 0) { eventId } }');
    assert.match(errorMessages(byUser), /limit.*100/);
    assert.deepEqual(calls, []);
  });

  for (const field of ['latestEvents', 'eventsByType(eventType: "page_view"', 'eventsByUser(userId: "123"']) {
    const open = field.includes('(') ? `${field}, after: "garbage")` : `${field}(after: "garbage")`;
    void it(`after: "garbage" on ${field.split('(')[0]} is an error naming after`, async () => {
      const res = await query(`{ ${open} { eventId } }`);
      assert.match(errorMessages(res), /^after: /);
      assert.deepEqual(res.errors?.[0]?.extensions, { code: 'BAD_USER_INPUT', argument: 'after' });
      assert.equal(res.data, null);
      assert.deepEqual(calls, [], 'the cursor is checked before the reader is asked');
    });
  }

  void it('a cursor round-trips through encodeCursor and decodeCursor; garbage throws CursorError', () => {
    const timeId = '2026-11-25T10:00:00.000Z#0192f1c4-8d1e-7c3a-9b2f-5a6d7e8f9a0b';
    const cursor = encodeCursor(timeId);
    assert.notEqual(cursor, timeId);
    assert.equal(decodeCursor(cursor), timeId);
    assert.throws(() => decodeCursor('garbage'), CursorError);
    assert.throws(() => decodeCursor(encodeCursor('2026-11-25T10:00:00Z#not-a-uuid')), CursorError);
  });
});

void describe('single event and argument checks', () => {
  void it('event(eventId) returns the event', async () => {
    const res = await query('{ event(eventId: "0192f1c4-8d1e-7c3a-9b2f-5a6d7e8f9a0b") { eventId eventType userId receivedAt payload cursor } }');
    assert.equal(res.errors, undefined);
    const first = EVENTS[0];
    assert.ok(first);
    assert.deepEqual(res.data, {
      event: {
        eventId: first.eventId,
        eventType: first.eventType,
        userId: first.userId,
        receivedAt: first.receivedAt,
        payload: first.payload,
        cursor: first.cursor,
      },
    });
    assert.deepEqual(calls, [{ method: 'byId', args: ['0192f1c4-8d1e-7c3a-9b2f-5a6d7e8f9a0b'] }]);
  });

  void it('event(eventId) returns null for an unknown id', async () => {
    const res = await query('{ event(eventId: "00000000-0000-7000-8000-000000000000") { eventId } }');
    assert.equal(res.errors, undefined);
    assert.deepEqual(res.data, { event: null });
  });

  void it('eventsByType(eventType: "") is an error naming eventType; the reader is not called', async () => {
    const res = await query('{ eventsByType(eventType: "") { eventId } }');
    assert.match(errorMessages(res), /eventType/);
    assert.deepEqual(calls, []);
  });

  void it('eventsByUser(userId: "") is an error naming userId; a blank id the producer accepts is looked up', async () => {
    const res = await query('{ eventsByUser(userId: "") { eventId } }');
    assert.match(errorMessages(res), /userId/);
    assert.deepEqual(calls, []);
    assert.equal((await query('{ eventsByUser(userId: "  ") { eventId } }')).errors, undefined);
    assert.deepEqual(calls, [{ method: 'byUser', args: ['  ', 10, undefined] }]);
  });
});

void describe('cost limits: GraphiQL works, expensive queries are refused before any storage call', () => {
  // The query GraphiQL sends when it opens (graphiql 3 asks for input value deprecation too).
  const GRAPHIQL_INTROSPECTION = getIntrospectionQuery({ inputValueDeprecation: true, descriptions: true });
  const aliased = (count: number, field: string) =>
    `{ ${Array.from({ length: count }, (_, i) => `a${i}: ${field} { eventId eventType userId timestamp receivedAt payload cursor }`).join(' ')} }`;
  const refused = (res: GraphqlResponse, what: RegExp) => {
    assert.match(errorMessages(res), what);
    assert.equal(res.errors?.[0]?.extensions?.code, 'QUERY_TOO_EXPENSIVE', JSON.stringify(res.errors));
    assert.equal(res.status, 400);
    assert.equal(res.data ?? null, null);
    assert.deepEqual(calls, [], 'no storage read');
  };

  void it("answers GraphiQL's introspection query (depth 15) with the whole schema, under the default config", async () => {
    const config = loadConfig({});
    const configured = buildGraphqlApp({ reader, limits: config.graphql, shards: config.latestIndexShards });
    try {
      const res = await configured.inject({ method: 'POST', url: '/graphql', payload: { query: GRAPHIQL_INTROSPECTION } });
      const body = res.json<{ data?: { __schema: { types: { name: string; fields?: { name: string }[] }[] } }; errors?: unknown }>();
      assert.equal(body.errors, undefined, JSON.stringify(body.errors));
      const queryType = body.data?.__schema.types.find((t) => t.name === 'Query');
      assert.deepEqual(
        queryType?.fields?.map((f) => f.name),
        ['latestEvents', 'eventsByType', 'eventsByUser', 'event', 'eventCounts'],
      );
    } finally {
      await configured.close();
    }
  });

  void it('config: limits validated and named; GraphiQL and introspection on by default, off in production, GraphiQL needs introspection', () => {
    const graphql = loadConfig({}).graphql;
    assert.deepEqual(
      {
        maxCost: graphql.maxCost,
        maxAliases: graphql.maxAliases,
        maxFields: graphql.maxFields,
        maxDepth: graphql.maxDepth,
        maxStorageCalls: graphql.maxStorageCalls,
      },
      { maxCost: 100_000, maxAliases: 30, maxFields: 500, maxDepth: 20, maxStorageCalls: 200 },
    );
    assert.deepEqual([graphql.graphiql, graphql.introspection], [true, true]);
    const production = loadConfig({ ENVIRONMENT: 'production', DYNAMODB_ENDPOINT: 'http://x:1', S3_ENDPOINT: 'http://x:2' }).graphql;
    assert.deepEqual([production.graphiql, production.introspection], [false, false]);
    assert.throws(() => loadConfig({ GRAPHQL_GRAPHIQL: 'true', GRAPHQL_INTROSPECTION: 'false' }), /GRAPHQL_GRAPHIQL: GraphiQL needs introspection/);
    assert.throws(() => loadConfig({ GRAPHQL_MAX_COST: '5' }), /GRAPHQL_MAX_COST/);
    assert.throws(() => loadConfig({ GRAPHQL_MAX_STORAGE_CALLS: 'many' }), /GRAPHQL_MAX_STORAGE_CALLS/);
    assert.throws(() => loadConfig({ GRAPHQL_INTROSPECTION: 'maybe' }), /GRAPHQL_INTROSPECTION/);
  });

  void it('refuses 200 aliased latestEvents(limit: 100) (the fan-out attack) on the alias cap', async () => {
    refused(await query(aliased(200, 'latestEvents(limit: 100)')), /number of aliases reaches 31, over the limit of 30/);
  });

  void it('refuses 22 aliased latestEvents(limit: 100) on cost, accepts 21, and counts the limit given as a variable', async () => {
    refused(await query(aliased(22, 'latestEvents(limit: 100)')), /estimated cost reaches \d+, over the limit of 100000/);
    const ok = await query(aliased(21, 'latestEvents(limit: 100)'));
    assert.equal(ok.errors, undefined, JSON.stringify(ok.errors));
    calls.length = 0;
    const withVariable = (n: number) =>
      app.inject({
        method: 'POST',
        url: '/graphql',
        payload: { query: `query Q($n: Int) ${aliased(22, 'latestEvents(limit: $n)')}`, variables: { n }, operationName: 'Q' },
      });
    const big = await withVariable(100);
    assert.equal(big.statusCode, 400);
    assert.match(big.body, /QUERY_TOO_EXPENSIVE/);
    assert.deepEqual(calls, []);
    const small = await withVariable(1);
    assert.equal(small.statusCode, 200, small.body);
    assert.equal(calls.length, 22);
  });

  void it('refuses too many fields, too deep a query and a fragment that expands exponentially, before validation', async () => {
    refused(await query(`{ ${'__typename '.repeat(501)} }`), /number of fields reaches 501, over the limit of 500/);
    const nested = (depth: number) => `{ __schema { types { fields { type ${'{ ofType '.repeat(depth - 5)}{ name }${' }'.repeat(depth - 5)} } } } }`;
    assert.equal((await query(nested(20))).errors, undefined, 'depth 20 is allowed');
    refused(await query(nested(21)), /nesting depth reaches 21, over the limit of 20/);
    const bomb = [
      'query { ...F0 }',
      ...Array.from({ length: 30 }, (_, i) => `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`),
      'fragment F30 on Query { __typename }',
    ].join('\n');
    refused(await query(bomb), /number of fields/);
  });

  void it('refuses a batch (a JSON array of queries) without reading anything', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/graphql',
      payload: [{ query: '{ latestEvents { eventId } }' }, { query: '{ latestEvents { eventId } }' }],
    });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(calls, []);
  });

  void it('stops a request at its DynamoDB call budget with a clear error and no error log', async () => {
    const logs: { level: number }[] = [];
    const dynamo = {
      calls: 0,
      async send(): Promise<unknown> {
        this.calls++;
        // One item per page, always more: as a partition of 400 KB events would answer.
        const item = toItem(makeEnvelope(), 4);
        return { Items: [marshallItem(item)], LastEvaluatedKey: { event_id: { S: item.event_id } } };
      },
    };
    const limited = buildGraphqlApp({
      reader: createEventReader({ dynamo, table: 't', shards: 4 }),
      limits: { defaultLimit: 10, maxLimit: 100, maxStorageCalls: 25 },
      logger: pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as { level: number }) }),
    });
    try {
      const res = await limited.inject({ method: 'POST', url: '/graphql', payload: { query: '{ latestEvents(limit: 50) { eventId } }' } });
      const body = res.json<{ errors?: { message: string; extensions?: Record<string, unknown> }[] }>();
      assert.match(body.errors?.[0]?.message ?? '', /needs more than 25 storage reads/);
      assert.equal(body.errors?.[0]?.extensions?.code, 'QUERY_TOO_EXPENSIVE');
      assert.equal(dynamo.calls, 25, 'no call beyond the budget');
      assert.deepEqual(
        logs.filter((l) => l.level >= 50),
        [],
      );
    } finally {
      await limited.close();
    }
  });

  void it('GRAPHQL_INTROSPECTION=false refuses introspection; GRAPHQL_GRAPHIQL=false removes the page; queries still run', async () => {
    const closed = buildGraphqlApp({ reader, limits: { defaultLimit: 10, maxLimit: 100 }, introspection: false, graphiql: false });
    try {
      const intro = await closed.inject({ method: 'POST', url: '/graphql', payload: { query: GRAPHIQL_INTROSPECTION } });
      assert.match(intro.body, /introspection has been disabled/);
      assert.equal(intro.json<{ data: unknown }>().data, null);
      assert.equal((await closed.inject({ method: 'GET', url: '/graphiql' })).statusCode, 404);
      const res = await closed.inject({ method: 'POST', url: '/graphql', payload: { query: '{ latestEvents { eventId } }' } });
      assert.equal(res.statusCode, 200, res.body);
    } finally {
      await closed.close();
    }
  });
});

void describe('HTTP routes', () => {
  void it('GET /graphiql returns 200 HTML', async () => {
    const res = await app.inject({ method: 'GET', url: '/graphiql' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /text\/html/);
    assert.match(res.body, /<html/i);
  });

  void it('GraphiQL needs nothing but this server: every script and style it references is served here', async () => {
    const page = await app.inject({ method: 'GET', url: '/graphiql' });
    // data: URLs (the empty favicon) are inline, not fetched.
    const refs = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!).filter((ref) => !ref.startsWith('data:'));
    assert.ok(refs.length >= 4, `references: ${refs.join(', ')}`);
    for (const ref of refs) {
      assert.ok(ref.startsWith('/graphiql/assets/'), `${ref} is served locally, not from a CDN`);
      const asset = await app.inject({ method: 'GET', url: ref });
      assert.equal(asset.statusCode, 200, ref);
      assert.ok(asset.body.length > 1_000, `${ref} has content`);
    }
    assert.equal((await app.inject({ method: 'GET', url: '/graphiql/assets/..%2Fpackage.json' })).statusCode, 404);
  });

  void it('GET /health is 200', async () => {
    const res = await app.inject({ method: 'GET', url: '/health' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { status: 'ok' });
  });
});

void describe('storage failures', () => {
  void it('answer with a retry-later error that leaks no internals', async () => {
    const failing = buildGraphqlApp({
      reader: { ...reader, latest: async () => Promise.reject(new Error('connect ECONNREFUSED 10.1.2.3:4567 secret-table')) },
      limits: { defaultLimit: 10, maxLimit: 100 },
    });
    try {
      const res = await failing.inject({ method: 'POST', url: '/graphql', payload: { query: '{ latestEvents { eventId } }' } });
      const body = res.json<{ errors?: { message: string }[] }>();
      assert.match(body.errors?.[0]?.message ?? '', /could not read events right now; retry later/);
      assert.doesNotMatch(JSON.stringify(body), /ECONNREFUSED|secret-table/);
    } finally {
      await failing.close();
    }
  });
});

void describe('client errors are never outages: every argument of every query', () => {
  /** The real reader over a DynamoDB that refuses keys over 2048 bytes, as DynamoDB does. */
  function appWithRealReader() {
    const storageCalls: unknown[] = [];
    const logs: { level: number; msg: string }[] = [];
    const dynamo = {
      async send(command: { input: Record<string, unknown> }): Promise<unknown> {
        storageCalls.push(command.input);
        const tooLong = JSON.stringify(command.input).length > 2048;
        if (tooLong) throw Object.assign(new Error('Size of hashkey has exceeded the maximum size limit of2048 bytes'), { name: 'ValidationException' });
        return { Items: [] };
      },
    };
    const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as { level: number; msg: string }) });
    const graphql = buildGraphqlApp({
      reader: createEventReader({ dynamo, table: 't', shards: 4 }),
      limits: { defaultLimit: 10, maxLimit: 100 },
      logger,
    });
    return { graphql, storageCalls, logs };
  }

  const uuid = '0192f1c4-8d1e-7c3a-9b2f-5a6d7e8f9a0b';
  const cursorOf = (time: string) => encodeCursor(`${time}#${uuid}`);
  const long = 'k'.repeat(3_000);
  const cases: { argument: string; query: string }[] = [];
  for (const [field, key] of [
    ['latestEvents', ''],
    ['eventsByType', 'eventType: "page_view", '],
    ['eventsByUser', 'userId: "123", '],
  ] as const) {
    for (const time of ['2026-13-45T10:00:00.000Z', '2026-02-30T10:00:00.000Z', '2026-11-25T25:61:00.000Z']) {
      cases.push({ argument: 'after', query: `{ ${field}(${key}after: "${cursorOf(time)}") { eventId } }` });
    }
    cases.push({ argument: 'after', query: `{ ${field}(${key}after: "") { eventId } }` });
    cases.push({ argument: 'after', query: `{ ${field}(${key}after: "${encodeCursor(`2026-11-25T10:00:00.000Z#${long}`)}") { eventId } }` });
    for (const limit of [0, -1, 101, 2_000_000_000]) cases.push({ argument: 'limit', query: `{ ${field}(${key}limit: ${limit}) { eventId } }` });
  }
  for (const value of ['', long, 'has space', 'é', 'x'.repeat(129)])
    cases.push({ argument: 'eventType', query: `{ eventsByType(eventType: ${JSON.stringify(value)}) { eventId } }` });
  for (const value of ['', long, 'é'.repeat(257)]) cases.push({ argument: 'userId', query: `{ eventsByUser(userId: ${JSON.stringify(value)}) { eventId } }` });
  for (const value of ['', long, 'not-a-uuid', `${uuid}x`, ' '])
    cases.push({ argument: 'eventId', query: `{ event(eventId: ${JSON.stringify(value)}) { eventId } }` });

  for (const c of cases) {
    void it(`${c.argument}: ${c.query.length > 110 ? `${c.query.slice(0, 110)}…` : c.query}`, async () => {
      const { graphql, storageCalls, logs } = appWithRealReader();
      try {
        const res = await graphql.inject({ method: 'POST', url: '/graphql', payload: { query: c.query } });
        const body = res.json<{ data: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] }>();
        assert.equal(body.errors?.length, 1, JSON.stringify(body));
        assert.deepEqual(body.errors[0]!.extensions, { code: 'BAD_USER_INPUT', argument: c.argument }, body.errors[0]!.message);
        assert.match(body.errors[0]!.message, new RegExp(`^${c.argument}: `));
        assert.ok(body.errors[0]!.message.length < 300, 'the error does not echo a long value back');
        assert.deepEqual(storageCalls, [], 'nothing reached storage');
        assert.deepEqual(
          logs.filter((l) => l.level >= 50),
          [],
          'no error logged',
        );
      } finally {
        await graphql.close();
      }
    });
  }

  void it('accepts every value the producer accepts: a 128-character type, a 256-character or blank user id, an upper-case UUID', async () => {
    const { graphql, storageCalls } = appWithRealReader();
    try {
      for (const q of [
        `{ eventsByType(eventType: "${'t'.repeat(128)}") { eventId } }`,
        `{ eventsByUser(userId: "${'é'.repeat(256)}") { eventId } }`,
        '{ eventsByUser(userId: "  ") { eventId } }',
        `{ event(eventId: "${uuid.toUpperCase()}") { eventId } }`,
        `{ latestEvents(after: "${cursorOf('2024-02-29T23:59:59.999Z')}") { eventId } }`,
      ]) {
        const res = await graphql.inject({ method: 'POST', url: '/graphql', payload: { query: q } });
        assert.equal(res.json<{ errors?: unknown }>().errors, undefined, `${q}: ${res.body}`);
      }
      assert.ok(storageCalls.length >= 5);
    } finally {
      await graphql.close();
    }
  });
});

void describe('entrance pages', () => {
  const BROWSER = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

  void it('GET / and a browser opening /graphql lead to GraphiQL, also with read keys set (the page takes the key)', async () => {
    for (const { app } of [graphqlApp(), graphqlApp({ readKeys: [READ_KEY] })]) {
      try {
        for (const url of ['/', '/graphql']) {
          const res = await app.inject({ method: 'GET', url, headers: BROWSER });
          assert.equal(res.statusCode, 302, `${url}: ${res.body}`);
          assert.equal(res.headers.location, '/graphiql');
        }
        const page = await app.inject({ method: 'GET', url: '/graphiql', headers: BROWSER });
        assert.equal(page.statusCode, 200);
      } finally {
        await app.close();
      }
    }
  });

  void it('GET /graphql with a query, or from an API client, is still the GraphQL endpoint (and still needs its key)', async () => {
    const { app, reads } = graphqlApp({ readKeys: [READ_KEY] });
    try {
      const query = encodeURIComponent('{ latestEvents(limit: 1) { eventId } }');
      assert.equal((await app.inject({ method: 'GET', url: `/graphql?query=${query}`, headers: BROWSER })).statusCode, 401);
      assert.equal((await app.inject({ method: 'GET', url: '/graphql', headers: { accept: 'application/json' } })).statusCode, 401);
      const res = await app.inject({ method: 'GET', url: `/graphql?query=${query}`, headers: { ...BROWSER, authorization: `Bearer ${READ_KEY}` } });
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(reads, ['latest']);
    } finally {
      await app.close();
    }
  });

  void it('with GraphiQL off, GET / says where the API is, and /graphql is never redirected', async () => {
    const { app } = graphqlApp(undefined, { graphiql: false });
    try {
      const root = await app.inject({ method: 'GET', url: '/', headers: BROWSER });
      assert.equal(root.statusCode, 200);
      assert.equal((JSON.parse(root.body) as { graphql: string }).graphql, '/graphql');
      assert.notEqual((await app.inject({ method: 'GET', url: '/graphql', headers: BROWSER })).statusCode, 302);
    } finally {
      await app.close();
    }
  });
});
