/** Collects the events of some Kafka topics produced from now on (the offsets at start), filtered. */
import { randomUUID } from 'node:crypto';
import type { Consumer } from 'kafkajs';
import type { KafkaDependency } from '../../infra/adapters/kafka.ts';
import type { Envelope } from '../../infra/events/envelope.ts';

export interface Collector {
  readonly events: Envelope[];
  /** When each of `events` arrived here (epoch ms), same order. */
  readonly arrivedAt: number[];
  stop(): Promise<void>;
}

/** Starts reading `topics` at their current end; keeps the events `keep` accepts. */
export async function collectFromNow(
  kafka: KafkaDependency,
  topics: readonly string[],
  keep: (e: Envelope) => boolean,
): Promise<Collector> {
  const admin = await kafka.admin();
  const starts = new Map<string, Array<{ partition: number; offset: string }>>();
  for (const topic of topics) starts.set(topic, await admin.fetchTopicOffsets(topic));
  const events: Envelope[] = [];
  const arrivedAt: number[] = [];
  const consumer: Consumer = kafka.consumer({ groupId: `collector-${randomUUID()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: [...topics], fromBeginning: false });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ message }) => {
      const e = JSON.parse(message.value?.toString() ?? 'null') as Envelope;
      if (e && keep(e)) {
        events.push(e);
        arrivedAt.push(Date.now());
      }
    },
  });
  for (const [topic, offsets] of starts) {
    for (const o of offsets) consumer.seek({ topic, partition: o.partition, offset: o.offset });
  }
  return {
    events,
    arrivedAt,
    async stop() {
      await consumer.disconnect();
      await admin.deleteGroups([]).catch(() => {});
    },
  };
}
