/** The bridges of a test platform, seen as an operator would: their /ready and /metrics. */
import type { Platform } from './platform';
import { waitUntil } from './wait';

/** The bridge's HTTP address, from the port it logged when it started (BRIDGE_HTTP_PORT=0). */
export function bridgeUrl(p: Platform, name: string): string {
  for (const line of p.output(name)) {
    if (!line.includes('bridge running')) continue;
    const port = (JSON.parse(line) as { httpPort?: number }).httpPort;
    if (port) return `http://127.0.0.1:${port}`;
  }
  throw new Error(`${name} has not logged its HTTP port yet`);
}

export async function bridgeReady(p: Platform, name: string): Promise<{ status: number; body: { ready: boolean; consumer: string; problems: string[] } }> {
  const res = await fetch(`${bridgeUrl(p, name)}/ready`);
  return { status: res.status, body: (await res.json()) as { ready: boolean; consumer: string; problems: string[] } };
}

/** One sample of the bridge's /metrics, e.g. metric(p, 'bridge-1', 'bridge_consumer_crashes_total'). */
export async function bridgeMetric(p: Platform, name: string, metric: string): Promise<number> {
  const text = await (await fetch(`${bridgeUrl(p, name)}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${metric} `));
  if (!line) throw new Error(`${name} /metrics has no ${metric}`);
  return Number(line.slice(metric.length + 1));
}

/** Per partition of the raw topic: the group's committed offset (-1: none) and the topic's end. */
export async function rawTopicOffsets(p: Platform): Promise<{ partition: number; committed: number; end: number }[]> {
  const admin = p.kafka.admin();
  await admin.connect();
  try {
    const [committed, ends] = [
      await admin.fetchOffsets({ groupId: p.config.kafka.consumerGroup, topics: [p.config.kafka.topic] }),
      await admin.fetchTopicOffsets(p.config.kafka.topic),
    ];
    return ends
      .map((e) => ({
        partition: e.partition,
        committed: Number(committed[0]?.partitions.find((c) => c.partition === e.partition)?.offset ?? -1),
        end: Number(e.offset),
      }))
      .sort((a, b) => a.partition - b.partition);
  } finally {
    await admin.disconnect();
  }
}

/** The group as the broker sees it: its state and its members' ids. */
export async function describeGroup(p: Platform): Promise<{ state: string; members: string[] }> {
  const admin = p.kafka.admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([p.config.kafka.consumerGroup]);
    const g = groups[0]!;
    return { state: g.state, members: g.members.map((m) => m.memberId).sort() };
  } finally {
    await admin.disconnect();
  }
}

/** The group once the broker reports it Stable: during a rebalance it shows fewer members, or none. */
export function stableGroup(p: Platform): Promise<{ state: string; members: string[] }> {
  return waitUntil(
    'the group to be Stable',
    () => describeGroup(p),
    (g) => g.state === 'Stable',
  );
}
