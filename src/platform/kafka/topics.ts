/** The platform's topics, their partitions and retention, and their provisioning. */
import { ConfigResourceTypes, type Admin } from 'kafkajs';
import type { Config } from '../config';
import { retryUntilReady, type ProvisionOptions } from '../provisioning';
import { createKafka } from './client';

/** events.raw; also how many partitions a bridge works on at once unless told otherwise. */
export const RAW_TOPIC_PARTITIONS = 4;
/** events.dlq: read by the CLI only, in order. */
export const DLQ_TOPIC_PARTITIONS = 1;
/** events.stored: announcements of stored events, read by every GraphQL instance (subscriptions) and by the counter. */
export const STORED_TOPIC_PARTITIONS = 4;
/**
 * The counter (src/store/counts/) must read every announcement: a week covers any outage of the counts
 * table or the workers that an operator would let run unattended. Subscribers read only the end.
 */
export const STORED_TOPIC_RETENTION_MS = 7 * 86_400_000;

/** The topics named in `cfg.kafka`. */
export const platformTopics = (kafka: Config['kafka']) => [kafka.topic, kafka.dlqTopic, kafka.storedTopic];

export async function provisionKafka(cfg: Config, opts: ProvisionOptions): Promise<string> {
  const admin = createKafka(cfg.kafka, opts.logger, '-provision').admin();
  try {
    await retryUntilReady('Kafka', opts.deadlineMs ?? 90_000, async () => {
      await admin.connect();
      await admin.describeCluster();
    });
    const existing = new Set(await admin.listTopics());
    const wanted = [
      { topic: cfg.kafka.topic, numPartitions: RAW_TOPIC_PARTITIONS },
      { topic: cfg.kafka.dlqTopic, numPartitions: DLQ_TOPIC_PARTITIONS },
      {
        topic: cfg.kafka.storedTopic,
        numPartitions: STORED_TOPIC_PARTITIONS,
        configEntries: [{ name: 'retention.ms', value: String(STORED_TOPIC_RETENTION_MS) }],
      },
    ];
    const missing = wanted.filter((t) => !existing.has(t.topic));
    if (missing.length > 0 && opts.checkOnly) return `missing topics: ${missing.map((t) => t.topic).join(', ')}`;
    if (missing.length > 0) await admin.createTopics({ topics: missing, waitForLeaders: true });
    const raised = existing.has(cfg.kafka.storedTopic) ? await raiseStoredRetention(admin, cfg.kafka.storedTopic, opts) : '';
    const meta = await admin.fetchTopicMetadata({ topics: wanted.map((t) => t.topic) });
    // Replicas and min.insync.replicas are the brokers' defaults (default.replication.factor,
    // min.insync.replicas): 1 on the single-broker stack, 3 and 2 on the cluster profile or MSK.
    // Kafka refuses to create a topic with more replicas than live brokers, so none is made short.
    const parts = meta.topics.map((t) => `${t.name} (${t.partitions.length} partitions × ${t.partitions[0]?.replicas.length ?? 0} replicas)`).join(', ');
    return (missing.length === 0 ? `topics exist: ${parts}` : `created topics: ${parts}`) + raised;
  } finally {
    await admin.disconnect();
  }
}

/** A stored topic made with the old hour of retention gets STORED_TOPIC_RETENTION_MS (never lowered). */
async function raiseStoredRetention(admin: Admin, topic: string, opts: ProvisionOptions): Promise<string> {
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms'] }],
  });
  const current = Number(described.resources[0]?.configEntries.find((e) => e.configName === 'retention.ms')?.configValue ?? -1);
  if (current === -1 || current >= STORED_TOPIC_RETENTION_MS) return '';
  if (opts.checkOnly) return `; ${topic} keeps ${current} ms, under the ${STORED_TOPIC_RETENTION_MS} ms counting needs`;
  // AlterConfigs replaces the topic's overrides as a set: retention.ms is the only one provisioning sets.
  await admin.alterConfigs({
    validateOnly: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'retention.ms', value: String(STORED_TOPIC_RETENTION_MS) }] }],
  });
  return `; ${topic} retention raised to ${STORED_TOPIC_RETENTION_MS} ms`;
}
