/**
 * For tests: everything appended to some topics from now on, in partition order, so a test can
 * count and order what reached Kafka without reading the topics' history. The end offsets are
 * taken first and each partition is read from there, so nothing produced after `tail()`
 * resolves is missed.
 */
import { randomUUID } from 'node:crypto';
import type { IHeaders } from 'kafkajs';
import type { KafkaDependency } from '../adapters/kafka.ts';

export interface TailedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: string | undefined;
  readonly value: Buffer | null;
  readonly headers: IHeaders | undefined;
  readonly timestamp: number;
  /** When this test consumer got it (ms). */
  readonly arrivedAt: number;
}

export interface Tail {
  readonly records: TailedRecord[];
  stop(): Promise<void>;
}

export async function tail(kafka: KafkaDependency, topics: readonly string[]): Promise<Tail> {
  const admin = await kafka.admin();
  const starts = new Map<string, Array<{ partition: number; offset: string }>>();
  for (const topic of topics) {
    // A topic created a moment ago may not have its leaders yet.
    for (let attempt = 0; ; attempt++) {
      try {
        starts.set(topic, await admin.fetchTopicOffsets(topic));
        break;
      } catch (err) {
        if (attempt > 50) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }
  const groupId = `test-tail-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  const records: TailedRecord[] = [];
  await consumer.connect();
  await consumer.subscribe({ topics: [...topics], fromBeginning: false });
  const joined = new Promise<void>((resolve) => {
    const off = consumer.on(consumer.events.GROUP_JOIN, () => {
      off();
      resolve();
    });
  });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ topic, partition, message }) => {
      records.push({
        topic,
        partition,
        offset: message.offset,
        key: message.key?.toString(),
        value: message.value,
        headers: message.headers,
        timestamp: Number(message.timestamp),
        arrivedAt: Date.now(),
      });
    },
  });
  await joined;
  for (const [topic, offsets] of starts)
    for (const o of offsets) consumer.seek({ topic, partition: o.partition, offset: o.offset });
  return {
    records,
    async stop() {
      await consumer.disconnect().catch(() => {});
      await admin.deleteGroups([groupId]).catch(() => {});
    },
  };
}
