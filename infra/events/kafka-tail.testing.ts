/**
 * For tests: everything appended to some topics from now on, in partition order, so a test can
 * count and order what reached Kafka without reading the topics' history. The end offsets are
 * taken first and each partition is read from there, so nothing produced after `tail()`
 * resolves is missed.
 */
import { randomUUID } from 'node:crypto';
import type { IHeaders, KafkaMessage } from 'kafkajs';
import type { KafkaDependency } from '../adapters/kafka.ts';
import { type PartitionRange, readPartitionRanges } from '../outbox/relay.ts';

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

/** A consumed message as a tailed record, stamped with its arrival now. */
function tailedRecord(topic: string, partition: number, message: KafkaMessage): TailedRecord {
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key?.toString(),
    value: message.value,
    headers: message.headers,
    timestamp: Number(message.timestamp),
    arrivedAt: Date.now(),
  };
}

export interface Tail {
  readonly records: TailedRecord[];
  stop(): Promise<void>;
}

/** Starts reading `topics` at their current ends; `onRecord` sees each record as it arrives. */
export async function tail(
  kafka: KafkaDependency,
  topics: readonly string[],
  onRecord?: (record: TailedRecord) => void,
): Promise<Tail> {
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
      const record = tailedRecord(topic, partition, message);
      records.push(record);
      onRecord?.(record);
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

/** The partition ranges `topics` gained since `mark` (offsets only: nothing is read). */
async function rangesSince(kafka: KafkaDependency, mark: Map<string, Map<number, string>>): Promise<PartitionRange[]> {
  const admin = await kafka.admin();
  const ranges: PartitionRange[] = [];
  for (const [topic, starts] of mark) {
    for (const end of await admin.fetchTopicOffsets(topic)) {
      const from = starts.get(end.partition) ?? '0';
      if (BigInt(end.offset) > BigInt(from)) ranges.push({ topic, partition: end.partition, from, to: end.offset });
    }
  }
  return ranges;
}

/** How many records `topics` gained since `mark` (offsets only: nothing is read). */
export async function countSince(kafka: KafkaDependency, mark: Map<string, Map<number, string>>): Promise<number> {
  const ranges = await rangesSince(kafka, mark);
  return Number(ranges.reduce((n, r) => n + BigInt(r.to) - BigInt(r.from), 0n));
}

/**
 * Everything appended to the topics between `mark` and now, in partition order. A fresh consumer
 * reads each partition from the mark to its current end (the relay's `readPartitionRanges`), so
 * a restart of Kafka in between (which a live consumer without committed offsets would not
 * survive intact) loses nothing. What could not be read within 120 s is left out: the caller's
 * counts say what is missing.
 */
export async function readSince(
  kafka: KafkaDependency,
  mark: Map<string, Map<number, string>>,
): Promise<TailedRecord[]> {
  const ranges = await rangesSince(kafka, mark);
  const admin = await kafka.admin();
  const records: TailedRecord[] = [];
  const groupId = `test-read-${randomUUID()}`;
  await readPartitionRanges(
    kafka.kafka,
    groupId,
    ranges,
    (topic, message, partition) => records.push(tailedRecord(topic, partition, message)),
    120_000,
  ).catch(() => {});
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
