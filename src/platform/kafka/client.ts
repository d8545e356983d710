import { Kafka, logLevel, Partitioners, type KafkaConfig, type LogEntry, type logCreator, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { Config } from '../config';
import './requestQueueFix';
import './stuckConnectionFix';
import { kafkajsSecurityOptions } from './security';

const levels: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** kafkajs logs through the process's pino logger, at most at `warn` (its info is chatter). */
function pinoLogCreator(logger: Logger): logCreator {
  return () =>
    ({ level, log }: LogEntry) => {
      const { message, ...rest } = log;
      let method = levels[level] ?? 'info';
      // A member joining or leaving makes the others rejoin; kafkajs reports that routine
      // rebalance as an error on the heartbeat that noticed it.
      if (typeof rest.error === 'string' && rest.error.includes('rebalancing')) method = 'debug';
      logger[method === 'info' ? 'debug' : method]({ kafkajs: rest }, message);
    };
}

/** Every Kafka client of the platform (producers, the bridge's consumer, admin), TLS/SASL included. */
export function createKafka(kafka: Pick<Config['kafka'], 'clientId' | 'brokers' | 'security'>, logger: Logger, clientSuffix = ''): Kafka {
  return new Kafka(kafkaClientConfig(kafka, logger, clientSuffix));
}

export function kafkaClientConfig(kafka: Pick<Config['kafka'], 'clientId' | 'brokers' | 'security'>, logger: Logger, clientSuffix = ''): KafkaConfig {
  return {
    clientId: `${kafka.clientId}${clientSuffix}`,
    brokers: kafka.brokers,
    ...kafkajsSecurityOptions(kafka.security),
    logLevel: logLevel.WARN,
    logCreator: pinoLogCreator(logger.child({ component: 'kafkajs' })),
    connectionTimeout: 3_000,
    requestTimeout: 10_000,
    retry: { initialRetryTime: 200, retries: 5, maxRetryTime: 5_000 },
  };
}

/**
 * The group session of every consumer the platform runs (bridge, counter, live feed): a member
 * silent for sessionTimeout loses its partitions to the others.
 */
export const CONSUMER_SESSION = { sessionTimeout: 30_000, heartbeatInterval: 3_000 } as const;

export type PlatformProducer = Pick<Producer, 'connect' | 'send' | 'disconnect'>;

/**
 * The platform's producers: topics must exist (a typo never invents one), keys are partitioned
 * with the Java client's murmur2 (the same user lands on the same partition whichever client
 * wrote it), and the connection is made lazily (see below).
 */
export function createProducer(kafka: Kafka): PlatformProducer {
  return lazilyConnected(kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner }));
}

/**
 * A producer that connects on first use and again after a failed connect, so a process that
 * starts while Kafka is down neither crashes nor stays disconnected: its sends fail (and are
 * retried or answered 503) until Kafka is back. kafkajs itself only reconnects producers that
 * connected once.
 */
export function lazilyConnected(producer: Producer): PlatformProducer {
  let connecting: Promise<void> | undefined;
  const connected = () => {
    connecting ??= producer.connect().catch((err: unknown) => {
      connecting = undefined;
      throw err;
    });
    return connecting;
  };
  return {
    connect: connected,
    async send(record) {
      await connected();
      return producer.send(record);
    },
    async disconnect() {
      if (connecting) await connecting.catch(() => undefined);
      await producer.disconnect();
    },
  };
}
