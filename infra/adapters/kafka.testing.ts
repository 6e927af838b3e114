/**
 * A Kafka client for one integration test file against a region's real broker: made before its
 * tests, closed after them, and the topics and groups the tests named through it deleted then
 * (best effort: the names are unique, so a leftover is harmless). And a second member for a
 * test's group, to make it rebalance (`memberSortingFirst`).
 */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import type { Admin, KafkaMessage } from 'kafkajs';
import { type Region, resolveEndpoints } from '../config/endpoints.ts';
import { createKafka, type KafkaDependency } from './kafka.ts';
import { eventually, uniqueName } from './testing.ts';

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

/** A member that joined a group from a test (see `memberSortingFirst`). */
export interface TestMember {
  /** Its assignment in the generation it joined. */
  readonly assignment: Record<string, number[]>;
  /** Leaves the group without committing anything (idempotent). */
  leave(): Promise<void>;
}

/**
 * Joins `groupId` as a second member whose id sorts first: kafkajs' round-robin assigner deals
 * partitions in member-id order, so it takes the first partition (of one: all of it) while it is
 * in. It reads from where its partitions end, passes each record to `onRecord` and commits
 * nothing, like a member killed before its commit. Resolves once it has joined and fetched (a
 * record written before that fetch would be behind where it starts).
 */
export async function memberSortingFirst(
  region: Region,
  groupId: string,
  topics: ReadonlyArray<string | RegExp>,
  onRecord: (topic: string, message: KafkaMessage) => void,
): Promise<TestMember> {
  const kafka = createKafka({ brokers: resolveEndpoints(region, process.env).kafkaBrokers, clientId: 'a-member' });
  const member = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000, maxWaitTimeInMs: 250 });
  let assignment: Record<string, number[]> | undefined;
  let fetched = false;
  member.on(member.events.GROUP_JOIN, (e) => {
    assignment = e.payload.memberAssignment;
  });
  member.on(member.events.FETCH, () => {
    if (assignment !== undefined) fetched = true;
  });
  let left = false;
  const leave = async () => {
    if (left) return;
    left = true;
    await member.disconnect();
    await kafka.close();
  };
  try {
    await member.connect();
    await member.subscribe({ topics: [...topics], fromBeginning: false });
    await member.run({ autoCommit: false, eachMessage: async ({ topic, message }) => onRecord(topic, message) });
    await eventually(() => assert.ok(fetched, `joined ${groupId} and fetched`), { timeoutMs: 30_000, intervalMs: 50 });
  } catch (err) {
    await leave();
    throw err;
  }
  return { assignment: assignment ?? {}, leave };
}
