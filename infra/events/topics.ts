/**
 * Creates the event topics up front, so consumers can subscribe before the first event and
 * nothing depends on broker auto-creation: each event type, its dead-letter topic, and the
 * name MirrorMaker 2 gives the peer region's copy (`<peer>.<type>`). Creating the mirrored
 * name here means a consumer of local and mirrored copies subscribes to two topics that exist,
 * whenever MirrorMaker gets round to the first record (MirrorMaker writes into a topic that is
 * already there; kafkajs would not notice a topic that appears after it subscribed).
 */
import { createTopicsReady, type KafkaDependency, untilLeaders } from '../adapters/kafka.ts';
import { dlqTopic } from './consumer.ts';

/** The topics of `types` in a region whose peer is `peer`. */
export function regionTopics(types: readonly string[], peer: string | undefined): string[] {
  return types.flatMap((t) => [t, dlqTopic(t), ...(peer ? [`${peer}.${t}`] : [])]);
}

/** Creates whichever of the region's topics are missing; returns those it created. */
export async function ensureTopics(
  kafka: KafkaDependency,
  types: readonly string[],
  opts: { peer?: string; partitions?: number } = {},
): Promise<string[]> {
  const admin = await kafka.admin();
  const existing = new Set(await admin.listTopics());
  const wanted = [...new Set(regionTopics(types, opts.peer))].filter((t) => !existing.has(t));
  if (wanted.length === 0) return [];
  try {
    await createTopicsReady(
      admin,
      wanted.map((topic) => ({ topic, numPartitions: opts.partitions ?? 3 })),
    );
  } catch (err) {
    // Two processes of a region starting together race to create the same topics: the loser's
    // "already exists" is success. Anything else is real.
    const left = new Set(await admin.listTopics());
    if (wanted.some((t) => !left.has(t))) throw err;
    // The winner waited for leaders; the loser must too before its consumers subscribe.
    await untilLeaders(admin, wanted);
  }
  return wanted;
}
