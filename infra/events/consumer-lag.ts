/** Consumer group lag, read from the broker: what a group has yet to consume of its topics. */
import type { GroupDescription } from 'kafkajs';
import type { KafkaDependency } from '../adapters/kafka.ts';
import { AssignerProtocol } from '../adapters/kafka.ts';

/** One partition of a group: its committed offset (negative when never committed) and the topic's ends. */
export interface PartitionProgress {
  readonly partition: number;
  readonly committed: number;
  readonly low: number;
  readonly high: number;
}

/** A group's committed offsets, per topic, beside the topics' ends. */
export interface GroupProgress {
  readonly groupId: string;
  readonly topics: ReadonlyArray<{ readonly topic: string; readonly partitions: readonly PartitionProgress[] }>;
}

/** End offsets per group, topic and partition: a point to measure a group's progress against. */
export type GroupEnds = Record<string, Record<string, Record<number, number>>>;

/**
 * The topics a running consumer group reads now (its members' assignments); undefined when it
 * has no members, is rebalancing, or is not a consumer group. A group keeps the offsets it once
 * committed for a topic it no longer reads (until the broker expires them), and those are not
 * lag.
 */
export function assignedTopics(group: GroupDescription): Set<string> | undefined {
  if (group.protocolType !== 'consumer' || group.state !== 'Stable' || group.members.length === 0) return undefined;
  const topics = new Set<string>();
  for (const member of group.members) {
    try {
      const assignment = AssignerProtocol.MemberAssignment.decode(member.memberAssignment);
      for (const topic of Object.keys(assignment?.assignment ?? {})) topics.add(topic);
    } catch {
      return undefined;
    }
  }
  return topics;
}

/**
 * The progress of every group `select` accepts. Each topic's ends are read once, however many
 * groups consume it; a topic whose ends cannot be read (deleted meanwhile) is left out, and so is
 * one a running group no longer reads (assignedTopics).
 */
export async function groupProgress(
  kafka: KafkaDependency,
  select: (groupId: string) => boolean,
): Promise<GroupProgress[]> {
  const admin = await kafka.admin();
  const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter(select);
  const reading = new Map(
    groups.length === 0
      ? []
      : (await admin.describeGroups(groups)).groups.map((g) => [g.groupId, assignedTopics(g)] as const),
  );
  const committed = await Promise.all(
    groups.map(async (groupId) => {
      const topics = await admin.fetchOffsets({ groupId });
      const now = reading.get(groupId);
      return { groupId, topics: now ? topics.filter((t) => now.has(t.topic)) : topics };
    }),
  );
  const ends = new Map<string, Map<number, { low: number; high: number }>>();
  await Promise.all(
    [...new Set(committed.flatMap((g) => g.topics.map((t) => t.topic)))].map(async (topic) => {
      const offsets = await admin.fetchTopicOffsets(topic).catch(() => undefined);
      if (offsets)
        ends.set(topic, new Map(offsets.map((o) => [o.partition, { low: Number(o.low), high: Number(o.high) }])));
    }),
  );
  return committed.map(({ groupId, topics }) => ({
    groupId,
    topics: topics.flatMap((t) => {
      const end = ends.get(t.topic);
      if (!end) return [];
      const partitions = t.partitions.flatMap((p) => {
        const e = end.get(p.partition);
        return e ? [{ partition: p.partition, committed: Number(p.offset), low: e.low, high: e.high }] : [];
      });
      return [{ topic: t.topic, partitions }];
    }),
  }));
}

/** The ids of the consumer groups `select` accepts that run now (members, not rebalancing: assignedTopics). */
export async function runningGroups(kafka: KafkaDependency, select: (groupId: string) => boolean): Promise<string[]> {
  const admin = await kafka.admin();
  const ids = (await admin.listGroups()).groups.map((g) => g.groupId).filter(select);
  if (ids.length === 0) return [];
  return (await admin.describeGroups(ids)).groups.filter((g) => assignedTopics(g) !== undefined).map((g) => g.groupId);
}

/** Records a partition has yet to consume: from its committed offset (its start when none) up to `upTo` (its end). */
export function partitionLag(p: PartitionProgress, upTo = p.high): number {
  const from = p.committed < 0 ? p.low : p.committed;
  return Math.max(0, Math.min(p.high, upTo) - from);
}

/** Which groups: those whose id starts with a prefix, or those a predicate accepts. */
export type GroupSelector = string | ((groupId: string) => boolean);

const selecting = (groups: GroupSelector) =>
  typeof groups === 'string' ? (id: string) => id.startsWith(groups) : groups;

/** The end offsets of every topic partition the selected groups have offsets in. */
export async function groupEnds(kafka: KafkaDependency, groups: GroupSelector): Promise<GroupEnds> {
  const out: GroupEnds = {};
  for (const g of await groupProgress(kafka, selecting(groups))) {
    out[g.groupId] = Object.fromEntries(
      g.topics.map((t) => [t.topic, Object.fromEntries(t.partitions.map((p) => [p.partition, p.high]))]),
    );
  }
  return out;
}

/**
 * Records not yet consumed by each selected group (a group with no offsets
 * counts everything) — up to its end offsets now, or, given `upTo`, only up to that earlier
 * point (what was there then: records written since do not count).
 */
export async function groupLag(
  kafka: KafkaDependency,
  groups: GroupSelector,
  upTo?: GroupEnds,
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const g of await groupProgress(kafka, selecting(groups))) {
    let lag = 0;
    for (const t of g.topics) {
      for (const p of t.partitions) lag += partitionLag(p, upTo?.[g.groupId]?.[t.topic]?.[p.partition]);
    }
    out[g.groupId] = lag;
  }
  return out;
}
