/**
 * Inputs nobody wrote by hand: 2 000 generated bodies (random JSON shapes, near-misses of valid
 * events, broken JSON, odd content types) never get a 5xx or a non-JSON answer, and nothing
 * invalid is ever published. Seeded, so a failure reproduces.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { parseEnvelope } from '../../src/events/validate';
import { startProducer, type ProducerUnderTest } from '../support/httpFixtures';

let seed = 20261125;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

const strings = [
  '',
  ' ',
  'page_view',
  'a'.repeat(129),
  'x'.repeat(300),
  'é😀',
  '\u0000',
  '0192f1c4-8d1e-7c3a-9b2f-5a6d7e8f9a0b',
  '2026-11-25T10:00:00Z',
  '2026-02-30T10:00:00Z',
  'null',
  '<script>',
  '__proto__',
];
function value(depth: number): unknown {
  const kind = Math.floor(rand() * (depth > 3 ? 5 : 8));
  switch (kind) {
    case 0:
      return pick(strings);
    case 1:
      return pick([0, -1, 1.5, 2 ** 53, 2 ** 60, 1e308, -0]);
    case 2:
      return pick([true, false]);
    case 3:
      return null;
    case 4:
      return pick(strings) + String(Math.floor(rand() * 1000));
    case 5:
      return Array.from({ length: Math.floor(rand() * 4) }, () => value(depth + 1));
    default:
      return Object.fromEntries(
        Array.from({ length: Math.floor(rand() * 5) }, () => [pick([...strings, 'payload', 'event_type', 'user_id']), value(depth + 1)]),
      );
  }
}
function body(): { text: string; type: string } {
  const valid = { event_type: 'page_view', user_id: '123', payload: { page: '/home' } } as Record<string, unknown>;
  const r = rand();
  if (r < 0.3) return { text: JSON.stringify(value(0)), type: 'application/json' };
  if (r < 0.6) {
    const key = pick(['event_type', 'user_id', 'payload', 'event_id', 'timestamp', 'extra', '__proto__']);
    return { text: JSON.stringify({ ...valid, [key]: value(1) }), type: 'application/json' };
  }
  if (r < 0.7) return { text: JSON.stringify(valid).slice(0, Math.floor(rand() * 40)), type: 'application/json' };
  if (r < 0.8)
    return {
      text: JSON.stringify({ events: Array.from({ length: Math.floor(rand() * 5) }, () => (rand() < 0.5 ? valid : value(1))), sent_at: value(2) }),
      type: 'application/json',
    };
  if (r < 0.9)
    return {
      text: JSON.stringify(valid),
      type: pick(['text/plain', '', 'application/json; charset=latin1', 'application/x-www-form-urlencoded', 'application/vnd.api+json']),
    };
  return { text: pick(['[]', '""', '1', 'null', '{', '{"a":}', '\ufeff{}', '{"event_type":"a","user_id":"b"}'.repeat(2)]), type: 'application/json' };
}

let producer: ProducerUnderTest;
before(async () => {
  producer = await startProducer();
});
after(() => producer.close());

it('2 000 generated requests: never a 5xx, always a JSON answer, only valid envelopes published', { timeout: 120_000 }, async () => {
  const statuses = new Map<number, number>();
  for (let i = 0; i < 2_000; i++) {
    const { text, type } = body();
    const path = rand() < 0.7 ? '/events' : '/events/batch';
    const res = await fetch(`${producer.base}${path}`, { method: 'POST', headers: type ? { 'content-type': type } : {}, body: text });
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    assert.ok(res.status < 500, `#${i} ${path} ${type} ${text.slice(0, 200)} → ${res.status}`);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/, `#${i} answered JSON`);
    await res.json();
  }
  for (const m of producer.published) assert.ok(parseEnvelope(JSON.parse(String(m.value))).ok, `published an invalid envelope: ${String(m.value)}`);
  assert.ok((statuses.get(202) ?? 0) > 0 && (statuses.get(422) ?? 0) > 0, `a mix of outcomes: ${JSON.stringify([...statuses])}`);
});
