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

/** Where some topics end now: read what came after with `readSince`. */
export async function markEnd(
  kafka: KafkaDependency,
  topics: readonly string[],
): Promise<Map<string, Map<number, string>>> {
  const admin = await kafka.admin();
  const out = new Map<string, Map<number, string>>();
  for (const topic of topics) {
    out.set(topic, new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, o.offset])));
  }
  return out;
}

/**
 * Everything appended to the topics between `mark` and now, in partition order. A fresh consumer
 * reads each partition from the mark to its current end, so a restart of Kafka in between
 * (which a live consumer without committed offsets would not survive intact) loses nothing.
 */
export async function readSince(
  kafka: KafkaDependency,
  mark: Map<string, Map<number, string>>,
): Promise<TailedRecord[]> {
  const admin = await kafka.admin();
  const ends = new Map<string, Map<number, bigint>>();
  let remaining = 0;
  for (const [topic, starts] of mark) {
    const now = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, BigInt(o.offset)]));
    ends.set(topic, now);
    for (const [p, end] of now) if (end > BigInt(starts.get(p) ?? '0')) remaining++;
  }
  const records: TailedRecord[] = [];
  if (remaining === 0) return records;
  const groupId = `test-read-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topics: [...mark.keys()], fromBeginning: true });
  const finished = new Set<string>();
  let done: () => void = () => {};
  const all = new Promise<void>((resolve) => {
    done = resolve;
  });
  const joined = new Promise<void>((resolve) => {
    const off = consumer.on(consumer.events.GROUP_JOIN, () => {
      off();
      resolve();
    });
  });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ topic, partition, message }) => {
      const end = ends.get(topic)?.get(partition) ?? 0n;
      const start = BigInt(mark.get(topic)?.get(partition) ?? '0');
      const offset = BigInt(message.offset);
      if (offset < start || offset >= end) return;
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
      if (offset === end - 1n && !finished.has(`${topic}/${partition}`)) {
        finished.add(`${topic}/${partition}`);
        if (finished.size === remaining) done();
      }
    },
  });
  await joined;
  for (const [topic, starts] of mark)
    for (const [partition, offset] of starts) consumer.seek({ topic, partition, offset });
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([all, new Promise((r) => (timer = setTimeout(r, 120_000)))]);
  clearTimeout(timer);
  await consumer.disconnect().catch(() => {});
  await admin.deleteGroups([groupId]).catch(() => {});
  records.sort((a, b) =>
    a.topic === b.topic
      ? a.partition === b.partition
        ? Number(BigInt(a.offset) - BigInt(b.offset))
        : a.partition - b.partition
      : a.topic < b.topic
        ? -1
        : 1,
  );
  return records;
}
