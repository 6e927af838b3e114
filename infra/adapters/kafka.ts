/** Kafka adapter (kafkajs): one client per region, admin/producer/consumers made from it. */

import type { Admin, Consumer, ConsumerConfig, Kafka, Producer, ProducerConfig } from 'kafkajs';
import kafkajs from 'kafkajs';
import type { Dependency } from './dependency.ts';

const { Kafka: KafkaClient, logLevel } = kafkajs;

export interface KafkaConfig {
  readonly brokers: readonly string[];
  readonly clientId: string;
}

export interface KafkaDependency extends Dependency {
  readonly kafka: Kafka;
  /** A connected admin client owned by the adapter (closed with it). */
  admin(): Promise<Admin>;
  /** A connected producer, closed with the adapter. Idempotent unless told otherwise. */
  producer(config?: ProducerConfig): Promise<Producer>;
  /** A consumer (not yet connected), disconnected with the adapter. */
  consumer(config: ConsumerConfig): Consumer;
}

export function createKafka(config: KafkaConfig): KafkaDependency {
  const kafka = new KafkaClient({
    clientId: config.clientId,
    brokers: [...config.brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    retry: { retries: 5, initialRetryTime: 100 },
  });
  const owned: Array<{ disconnect(): Promise<void> }> = [];
  let sharedAdmin: Promise<Admin> | undefined;
  let closed = false;
  const admin = () => {
    sharedAdmin ??= (async () => {
      const a = kafka.admin();
      owned.push(a);
      await a.connect();
      return a;
    })();
    return sharedAdmin;
  };
  return {
    name: 'kafka',
    kafka,
    admin,
    async producer(producerConfig) {
      const p = kafka.producer({ idempotent: true, maxInFlightRequests: 5, ...producerConfig });
      owned.push(p);
      await p.connect();
      return p;
    },
    consumer(consumerConfig) {
      const c = kafka.consumer(consumerConfig);
      owned.push(c);
      return c;
    },
    async ping() {
      const a = await admin();
      const cluster = await a.describeCluster();
      return `cluster ${cluster.clusterId}, ${cluster.brokers.length} broker(s)`;
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled(owned.map((c) => c.disconnect()));
    },
  };
}
