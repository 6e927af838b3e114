/**
 * Moves a consumer group (with no live member) to given offsets on several topics in one go.
 * kafkajs' admin.setOffsets does one topic per call, and each call is a member that joins, waits
 * for its first fetch to return (kafkajs' 5 s maxWaitTime on an idle topic), commits and leaves:
 * fourteen topics took 70 s. Here one member joins for all the topics, fetches with a short
 * wait, commits every partition and leaves.
 */
import type { KafkaDependency } from '../../infra/adapters/kafka.ts';

export interface TopicOffsets {
  readonly topic: string;
  readonly partitions: ReadonlyArray<{ readonly partition: number; readonly offset: string }>;
}

/** The topics' current end offsets (where a group that should skip what is there now starts). */
export async function endOffsets(kafka: KafkaDependency, topics: readonly string[]): Promise<TopicOffsets[]> {
  const admin = await kafka.admin();
  return Promise.all(
    topics.map(async (topic) => ({
      topic,
      partitions: (await admin.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, offset: p.high })),
    })),
  );
}

/** Commits `offsets` for `groupId`; refuses (as setOffsets does) while the group has members. */
export async function commitGroupOffsets(
  kafka: KafkaDependency,
  groupId: string,
  offsets: readonly TopicOffsets[],
): Promise<void> {
  if (offsets.length === 0) return;
  const admin = await kafka.admin();
  const {
    groups: [described],
  } = await admin.describeGroups([groupId]);
  if (described && !['Empty', 'Dead'].includes(described.state))
    throw new Error(`consumer group ${groupId} has live members (${described.state}): its offsets cannot be moved`);
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  await consumer.connect();
  try {
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.subscribe({ topics: offsets.map((o) => o.topic), fromBeginning: false });
    // Nothing is processed or committed by the run itself: only the explicit commit below.
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async () => {} });
    await joined;
    await consumer.commitOffsets(
      offsets.flatMap((o) => o.partitions.map((p) => ({ topic: o.topic, partition: p.partition, offset: p.offset }))),
    );
  } finally {
    await consumer.disconnect();
  }
}
