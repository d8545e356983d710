/**
 * The GraphQL API with a fake EventReader: the seed's queries, limit and cursor checks, the
 * depth cap, GraphiQL and health. Requests go through Fastify's inject (no socket).
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { buildGraphqlApp } from '../../src/graphql/app';
import { createEventReader, CursorError, decodeCursor, encodeCursor, type EventReader, type EventRecord } from '../../src/graphql/eventReader';

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
  app = buildGraphqlApp({ reader, limits: { defaultLimit: 10, maxLimit: 100, maxDepth: 6 } });
  await app.ready();
});

after(async () => {
  await app.close();
});

beforeEach(() => {
  calls.length = 0;
});

void describe("the seed's queries", () => {
  void it('{ latestEvents(limit: 5) { eventId eventType userId timestamp payload } }', async () => {
    const res = await query('{ latestEvents(limit: 5) { eventId eventType userId timestamp payload } }');
    assert.equal(res.status, 200);
    assert.equal(res.errors, undefined);
    assert.deepEqual(res.data, {
      latestEvents: EVENTS.map((e) => ({ eventId: e.eventId, eventType: e.eventType, userId: e.userId, timestamp: e.timestamp, payload: e.payload })),
    });
    assert.deepEqual(calls, [{ method: 'latest', args: [5, undefined] }]);
  });

  void it('{ eventsByType(eventType: "page_view") { eventId userId timestamp payload } }', async () => {
    const res = await query('{ eventsByType(eventType: "page_view") { eventId userId timestamp payload } }');
    assert.equal(res.errors, undefined);
    const list = res.data?.eventsByType as { payload: unknown }[];
    assert.deepEqual(list, EVENTS.map((e) => ({ eventId: e.eventId, userId: e.userId, timestamp: e.timestamp, payload: e.payload })));
    assert.equal(typeof list[0]?.payload, 'object', 'payload is a JSON object, not a string');
    assert.deepEqual(calls, [{ method: 'byType', args: ['page_view', 10, undefined] }]);
  });

  void it('{ eventsByUser(userId: "123") { eventId eventType timestamp payload } }', async () => {
    const res = await query('{ eventsByUser(userId: "123") { eventId eventType timestamp payload } }');
    assert.equal(res.errors, undefined);
    const list = res.data?.eventsByUser as { payload: unknown }[];
    assert.deepEqual(list, EVENTS.map((e) => ({ eventId: e.eventId, eventType: e.eventType, timestamp: e.timestamp, payload: e.payload })));
    assert.deepEqual(list[1]?.payload, { page: '/pricing', tags: ['a', 'b'], depth: { n: 1 } });
    assert.deepEqual(calls, [{ method: 'byUser', args: ['123', 10, undefined] }]);
  });
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
      event: { eventId: first.eventId, eventType: first.eventType, userId: first.userId, receivedAt: first.receivedAt, payload: first.payload, cursor: first.cursor },
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

void describe('query depth', () => {
  void it('accepts a query exactly at the depth limit (6)', async () => {
    const res = await query('{ __schema { types { fields { type { ofType { name } } } } } }');
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    assert.ok(res.data?.__schema);
  });

  void it('rejects a query nested deeper than maxDepth with an error about depth', async () => {
    const res = await query('{ __schema { types { fields { type { ofType { ofType { name } } } } } } }');
    assert.match(errorMessages(res), /depth/i);
    assert.equal(res.status, 400);
    assert.equal(res.data ?? null, null);
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
    const refs = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
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
      limits: { defaultLimit: 10, maxLimit: 100, maxDepth: 6 },
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
      reader: createEventReader({ dynamo, table: 't', shards: 4, lookbackDays: 3, horizon: () => new Date('2026-11-25T12:00:00.000Z') }),
      limits: { defaultLimit: 10, maxLimit: 100, maxDepth: 6 },
      logger,
    });
    return { graphql, storageCalls, logs };
  }

  const uuid = '0192f1c4-8d1e-7c3a-9b2f-5a6d7e8f9a0b';
  const cursorOf = (time: string) => encodeCursor(`${time}#${uuid}`);
  const long = 'k'.repeat(3_000);
  const cases: { argument: string; query: string }[] = [];
  for (const [field, key] of [['latestEvents', ''], ['eventsByType', 'eventType: "page_view", '], ['eventsByUser', 'userId: "123", ']] as const) {
    for (const time of ['2026-13-45T10:00:00.000Z', '2026-02-30T10:00:00.000Z', '2026-11-25T25:61:00.000Z']) {
      cases.push({ argument: 'after', query: `{ ${field}(${key}after: "${cursorOf(time)}") { eventId } }` });
    }
    cases.push({ argument: 'after', query: `{ ${field}(${key}after: "") { eventId } }` });
    cases.push({ argument: 'after', query: `{ ${field}(${key}after: "${encodeCursor(`2026-11-25T10:00:00.000Z#${long}`)}") { eventId } }` });
    for (const limit of [0, -1, 101, 2_000_000_000]) cases.push({ argument: 'limit', query: `{ ${field}(${key}limit: ${limit}) { eventId } }` });
  }
  for (const value of ['', long, 'has space', 'é', 'x'.repeat(129)]) cases.push({ argument: 'eventType', query: `{ eventsByType(eventType: ${JSON.stringify(value)}) { eventId } }` });
  for (const value of ['', long, 'é'.repeat(257)]) cases.push({ argument: 'userId', query: `{ eventsByUser(userId: ${JSON.stringify(value)}) { eventId } }` });
  for (const value of ['', long, 'not-a-uuid', `${uuid}x`, ' ']) cases.push({ argument: 'eventId', query: `{ event(eventId: ${JSON.stringify(value)}) { eventId } }` });

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
        assert.deepEqual(logs.filter((l) => l.level >= 50), [], 'no error logged');
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
