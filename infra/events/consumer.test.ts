/**
 * The event consumer's own decisions, with a fake Kafka port (the real broker's behaviour is in
 * consumer.int.test.ts): where an ephemeral feed resumes after a rejoin, and what happens when
 * kafkajs reports a crash.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Consumer, ConsumerConfig, ConsumerRunConfig, KafkaMessage } from 'kafkajs';
import type { KafkaDependency } from '../adapters/kafka.ts';
import { eventually } from '../adapters/testing.ts';
import { createEventConsumer, FeedPositions } from './consumer.ts';
import { envelope } from './envelope.ts';
import { toKafkaMessage } from './kafka-codec.ts';
import { TESTING_EVENTS, testingRegistry, thingEvent } from './testing.ts';

describe('FeedPositions', () => {
  it('puts an assignment back one past the last record handled in each of its partitions', () => {
    const positions = new FeedPositions();
    positions.handled('a', 0, '4');
    positions.handled('a', 0, '5');
    positions.handled('a', 2, '9');
    positions.handled('b', 0, '0');
    assert.deepEqual(positions.seeksFor({ a: [0, 1, 2], c: [0] }), [
      { topic: 'a', partition: 0, offset: '6' },
      { topic: 'a', partition: 2, offset: '10' },
    ]);
    assert.deepEqual(positions.seeksFor({}), []);
  });

  it('starts a partition where the feed began until a record of it is handled, which then counts', () => {
    const positions = new FeedPositions();
    positions.startAt('a', 0, '7');
    positions.startAt('a', 1, '3');
    positions.handled('a', 1, '3');
    positions.startAt('a', 1, '0');
    assert.deepEqual(positions.seeksFor({ a: [0, 1] }), [
      { topic: 'a', partition: 0, offset: '7' },
      { topic: 'a', partition: 1, offset: '4' },
    ]);
  });

  it('counts offsets beyond 2^53 exactly', () => {
    const positions = new FeedPositions();
    positions.handled('a', 0, '9007199254740993');
    assert.deepEqual(positions.seeksFor({ a: [0] }), [{ topic: 'a', partition: 0, offset: '9007199254740994' }]);
  });
});

type Listener = (e: { payload: Record<string, unknown> }) => void;

/** A kafkajs consumer that records what it is asked and lets the test raise its events. */
class FakeConsumer {
  readonly events = {
    CRASH: 'crash',
    GROUP_JOIN: 'group_join',
    FETCH: 'fetch',
    START_BATCH_PROCESS: 'start_batch_process',
  } as const;
  readonly listeners = new Map<string, Listener[]>();
  readonly seeks: Array<{ topic: string; partition: number; offset: string }> = [];
  readonly paused: string[] = [];
  readonly commits: Array<{ topic: string; partition: number; offset: string }> = [];
  config?: ConsumerRunConfig;
  disconnected = false;
  readonly consumerConfig: ConsumerConfig;
  constructor(consumerConfig: ConsumerConfig) {
    this.consumerConfig = consumerConfig;
  }

  on(event: string, listener: Listener) {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
    return () =>
      this.listeners.set(
        event,
        (this.listeners.get(event) ?? []).filter((l) => l !== listener),
      );
  }
  emit(event: string, payload: Record<string, unknown>) {
    for (const l of this.listeners.get(event) ?? []) l({ payload });
  }
  async connect() {}
  async subscribe() {}
  async disconnect() {
    this.disconnected = true;
  }
  seek(s: { topic: string; partition: number; offset: string }) {
    this.seeks.push(s);
  }
  pause(tps: Array<{ topic: string; partitions: number[] }>) {
    for (const { topic, partitions } of tps) for (const p of partitions) this.paused.push(`${topic}:${p}`);
  }
  resume(tps: Array<{ topic: string; partitions: number[] }>) {
    const gone = new Set(tps.flatMap(({ topic, partitions }) => partitions.map((p) => `${topic}:${p}`)));
    this.paused.splice(0, this.paused.length, ...this.paused.filter((k) => !gone.has(k)));
  }
  async commitOffsets(offsets: Array<{ topic: string; partition: number; offset: string }>) {
    this.commits.push(...offsets);
  }
  async run(config: ConsumerRunConfig) {
    this.config = config;
    // The first fetch right after the group is joined, as kafkajs does.
    setImmediate(() => this.emit(this.events.FETCH, {}));
  }
}

function fakeKafka(refusals = 0): { kafka: KafkaDependency; consumers: FakeConsumer[] } {
  const consumers: FakeConsumer[] = [];
  const consumer = (config: ConsumerConfig) => {
    const c = new FakeConsumer(config);
    consumers.push(c);
    return c as unknown as Consumer;
  };
  // An ephemeral consumer notes where each partition ends when it starts, and deletes its group on stop.
  const admin = async () => ({
    fetchTopicOffsets: async () => {
      if (refusals-- > 0) throw new Error('This server is not the leader for that topic-partition');
      return [0, 1, 2].map((partition) => ({ partition, offset: '5', high: '5', low: '0' }));
    },
    deleteGroups: async () => {},
    // The group has committed partition 1 only.
    fetchOffsets: async ({ topics }: { topics: string[] }) =>
      topics.map((topic) => ({
        topic,
        partitions: [0, 1, 2].map((partition) => ({ partition, offset: partition === 1 ? '3' : '-1' })),
      })),
  });
  return { kafka: { consumer, admin } as unknown as KafkaDependency, consumers };
}

const message = (offset: string): KafkaMessage =>
  ({
    ...toKafkaMessage(
      envelope(thingEvent(TESTING_EVENTS.created, randomUUID(), 'acme', 0), { region: 'east', service: 'testing' }),
      testingRegistry(),
    ),
    offset,
    timestamp: '0',
    attributes: 0,
    size: 0,
  }) as KafkaMessage;

/** A started consumer of topic `t` on a fake Kafka, its first kafkajs consumer, and a way to feed it records. */
async function started(
  opts: {
    ephemeral?: boolean;
    fromBeginning?: boolean;
    refusals?: number;
    gatherMs?: number;
    onCrash?: (err: Error, restarting: boolean) => void;
  } = {},
) {
  const { kafka, consumers } = fakeKafka(opts.refusals);
  const consumer = createEventConsumer({
    kafka,
    groupId: 'test-group',
    ephemeral: opts.ephemeral,
    fromBeginning: opts.fromBeginning,
    topics: ['t'],
    registry: testingRegistry(),
    handle: async () => {},
    onCrash: opts.onCrash,
    gatherMs: opts.gatherMs,
  });
  await consumer.start();
  const first = consumers[0] as FakeConsumer;
  const eachMessage = first.config?.eachMessage;
  assert.ok(eachMessage, 'the consumer runs message by message');
  const deliver = (partition: number, offset: string) =>
    eachMessage({
      topic: 't',
      partition,
      message: message(offset),
      heartbeat: async () => {},
      pause: () => () => {},
    });
  return { consumer, consumers, first, deliver };
}

describe('event consumer (fake Kafka)', () => {
  it('an ephemeral feed that rejoins is put back where it was in every partition it gets, read or not', async () => {
    const { consumer, first: c, deliver } = await started({ ephemeral: true });
    await deliver(1, '10');
    await deliver(1, '11');
    c.emit(c.events.GROUP_JOIN, { memberAssignment: { t: [0, 1, 2] } });
    assert.deepEqual(c.seeks, [
      { topic: 't', partition: 0, offset: '5' },
      { topic: 't', partition: 1, offset: '12' },
      { topic: 't', partition: 2, offset: '5' },
    ]);
    await consumer.stop();
  });

  it('a partition just created that will not say where it ends yet is asked again', async () => {
    const { consumer, first: c } = await started({ ephemeral: true, refusals: 2 });
    c.emit(c.events.GROUP_JOIN, { memberAssignment: { t: [0] } });
    assert.deepEqual(c.seeks, [{ topic: 't', partition: 0, offset: '5' }]);
    await consumer.stop();
  });

  it('a durable group starting at the end commits its place in each assigned partition that has no offset yet', async () => {
    const { consumer, first: c, deliver } = await started({ fromBeginning: false });
    await deliver(2, '8');
    c.emit(c.events.GROUP_JOIN, { memberAssignment: { t: [0, 1, 2] } });
    assert.deepEqual(c.paused, ['t:0', 't:1', 't:2'], 'paused while the offsets are read');
    await eventually(() => assert.deepEqual(c.paused, []), { timeoutMs: 5000 });
    const expected = [
      { topic: 't', partition: 0, offset: '5' },
      { topic: 't', partition: 2, offset: '9' },
    ];
    assert.deepEqual(c.commits, expected, 'partition 1 keeps its committed offset');
    assert.deepEqual(c.seeks, expected);
    await consumer.stop();
  });

  it('a durable group is left to its committed offsets', async () => {
    const { consumer, first: c, deliver } = await started();
    await deliver(0, '3');
    c.emit(c.events.GROUP_JOIN, { memberAssignment: { t: [0] } });
    assert.deepEqual(c.seeks, []);
    await consumer.stop();
  });

  it('reports a crash; one kafkajs will not restart is followed by a new consumer, one it restarts is not', async () => {
    const crashes: Array<[string, boolean]> = [];
    const { consumer, consumers, first } = await started({
      onCrash: (err, restarting) => crashes.push([err.message, restarting]),
    });
    first.emit(first.events.CRASH, { error: new Error('broker went away'), restart: true });
    assert.deepEqual(crashes, [['broker went away', true]]);
    first.emit(first.events.CRASH, { error: new Error('fatal'), restart: false });
    assert.deepEqual(crashes[1], ['fatal', false]);
    await eventually(() => assert.equal(consumers.length, 2), { timeoutMs: 5000 });
    const second = consumers[1] as FakeConsumer;
    assert.ok(first.disconnected, 'the crashed consumer is let go');
    await eventually(() => assert.ok(second.config, 'the new consumer runs'), { timeoutMs: 5000 });
    await consumer.stop();
    assert.ok(second.disconnected);
  });

  it('a gathering consumer has the broker hold each fetch until its window passes or a burst fills it; others take each record at once', async () => {
    const gathering = await started({ gatherMs: 200 });
    assert.equal(gathering.first.consumerConfig.maxWaitTimeInMs, 200);
    assert.ok((gathering.first.consumerConfig.minBytes ?? 1) >= 64 * 1024, 'waits for more than a few events');
    await gathering.consumer.stop();
    for (const plain of [await started(), await started({ gatherMs: 0 })]) {
      assert.equal(plain.first.consumerConfig.minBytes ?? 1, 1, 'answered as soon as one record is there');
      assert.equal(plain.first.consumerConfig.maxWaitTimeInMs, 500);
      await plain.consumer.stop();
    }
  });

  it('counts the fetched batches that held records', async () => {
    const { consumer, first: c } = await started();
    c.emit(c.events.START_BATCH_PROCESS, { batchSize: 3 });
    c.emit(c.events.START_BATCH_PROCESS, { batchSize: 0 });
    c.emit(c.events.START_BATCH_PROCESS, { batchSize: 1 });
    assert.equal(consumer.stats.batches, 2);
    await consumer.stop();
  });

  it('a consumer stopped while a new one is due stays stopped', async () => {
    const { consumer, consumers, first } = await started({ onCrash: () => {} });
    first.emit(first.events.CRASH, { error: new Error('fatal'), restart: false });
    await consumer.stop();
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(consumers.length, 1);
  });
});
