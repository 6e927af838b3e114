/**
 * A Kafka client for one integration test file against a region's real broker: made before its
 * tests, closed after them, and the topics and groups the tests named through it deleted then
 * (best effort: the names are unique, so a leftover is harmless).
 */
import { after, before } from 'node:test';
import type { Admin } from 'kafkajs';
import { type Region, resolveEndpoints } from '../config/endpoints.ts';
import { createKafka, type KafkaDependency } from './kafka.ts';
import { uniqueName } from './testing.ts';

export interface KafkaTestClient {
  readonly kafka: KafkaDependency;
  readonly admin: Admin;
  /**
   * A topic name of its own, deleted afterwards. The `.internal` suffix keeps MirrorMaker 2 away
   * from it (DefaultReplicationPolicy treats such topics as internal), so the test stays inside its
   * region and does not make MM2 restart its tasks for a topic nobody else reads.
   */
  topic(prefix: string): string;
  /** A consumer group id of its own, deleted afterwards. */
  group(prefix: string): string;
}

export function kafkaTestClient(region: Region, clientPrefix: string): KafkaTestClient {
  let kafka: KafkaDependency | undefined;
  let admin: Admin | undefined;
  const topics: string[] = [];
  const groups: string[] = [];
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('kafkaTestClient: used outside the tests of its file');
    return value;
  };

  before(async () => {
    kafka = createKafka({
      brokers: resolveEndpoints(region, process.env).kafkaBrokers,
      clientId: uniqueName(clientPrefix),
    });
    admin = await kafka.admin();
  });

  after(async () => {
    try {
      if (groups.length > 0) await admin?.deleteGroups(groups).catch(() => {});
      if (topics.length > 0) await admin?.deleteTopics({ topics }).catch(() => {});
    } finally {
      await kafka?.close();
    }
  });

  return {
    get kafka() {
      return ready(kafka);
    },
    get admin() {
      return ready(admin);
    },
    topic(prefix) {
      const topic = `${uniqueName(prefix, '.')}.internal`;
      topics.push(topic);
      return topic;
    },
    group(prefix) {
      const group = uniqueName(prefix);
      groups.push(group);
      return group;
    },
  };
}
