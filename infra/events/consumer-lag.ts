/** Consumer group lag, read from the broker: what a group has yet to consume of its topics. */
import type { KafkaDependency } from '../adapters/kafka.ts';

/** End offsets per group, topic and partition: a point to measure a group's progress against. */
export type GroupEnds = Record<string, Record<string, Record<number, number>>>;

async function groupTopics(kafka: KafkaDependency, prefix: string) {
  const admin = await kafka.admin();
  const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(prefix));
  const out: Array<{
    groupId: string;
    topics: Array<{
      topic: string;
      partitions: Array<{ partition: number; committed: number; low: number; high: number }>;
    }>;
  }> = [];
  for (const groupId of groups) {
    const topics = [];
    for (const t of await admin.fetchOffsets({ groupId })) {
      const ends = await admin.fetchTopicOffsets(t.topic);
      topics.push({
        topic: t.topic,
        partitions: t.partitions.map((p) => {
          const end = ends.find((e) => e.partition === p.partition);
          return {
            partition: p.partition,
            committed: Number(p.offset),
            low: Number(end?.low ?? 0),
            high: Number(end?.high ?? 0),
          };
        }),
      });
    }
    out.push({ groupId, topics });
  }
  return out;
}

/** The end offsets of every topic partition the groups whose id starts with `prefix` have offsets in. */
export async function groupEnds(kafka: KafkaDependency, prefix: string): Promise<GroupEnds> {
  const out: GroupEnds = {};
  for (const g of await groupTopics(kafka, prefix)) {
    const byTopic: Record<string, Record<number, number>> = {};
    for (const t of g.topics) byTopic[t.topic] = Object.fromEntries(t.partitions.map((p) => [p.partition, p.high]));
    out[g.groupId] = byTopic;
  }
  return out;
}

/**
 * Records not yet consumed by each group whose id starts with `prefix` (a group with no offsets
 * counts everything) — up to its end offsets now, or, given `upTo`, only up to that earlier
 * point (what was there then: records written since do not count).
 */
export async function groupLag(
  kafka: KafkaDependency,
  prefix: string,
  upTo?: GroupEnds,
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const g of await groupTopics(kafka, prefix)) {
    let lag = 0;
    for (const t of g.topics) {
      for (const p of t.partitions) {
        const committed = p.committed < 0 ? p.low : p.committed;
        const target = Math.min(p.high, upTo?.[g.groupId]?.[t.topic]?.[p.partition] ?? p.high);
        lag += Math.max(0, target - committed);
      }
    }
    out[g.groupId] = lag;
  }
  return out;
}
