/**
 * Creates the event topics (and their dead-letter topics) up front, so consumers can
 * subscribe before the first event and nothing depends on broker auto-creation.
 */
import type { KafkaDependency } from '../adapters/kafka.ts';
import { dlqTopic } from './consumer.ts';

export async function ensureTopics(
  kafka: KafkaDependency,
  types: readonly string[],
  partitions = 3,
): Promise<string[]> {
  const admin = await kafka.admin();
  const existing = new Set(await admin.listTopics());
  const wanted = types.flatMap((t) => [t, dlqTopic(t)]).filter((t) => !existing.has(t));
  if (wanted.length === 0) return [];
  await admin.createTopics({
    topics: wanted.map((topic) => ({ topic, numPartitions: partitions })),
    waitForLeaders: true,
  });
  return wanted;
}
