/** Consumer group lag, read from the broker: what a group has yet to consume of its topics. */
import type { KafkaDependency } from '../adapters/kafka.ts';

/** Records not yet consumed by each group whose id starts with `prefix` (a group with no offsets counts everything). */
export async function groupLag(kafka: KafkaDependency, prefix: string): Promise<Record<string, number>> {
  const admin = await kafka.admin();
  const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(prefix));
  const out: Record<string, number> = {};
  for (const groupId of groups) {
    let lag = 0;
    for (const t of await admin.fetchOffsets({ groupId })) {
      const ends = await admin.fetchTopicOffsets(t.topic);
      for (const p of t.partitions) {
        const end = ends.find((e) => e.partition === p.partition);
        const low = Number(end?.low ?? 0);
        const committed = Number(p.offset) < 0 ? low : Number(p.offset);
        lag += Math.max(0, Number(end?.high ?? 0) - committed);
      }
    }
    out[groupId] = lag;
  }
  return out;
}
