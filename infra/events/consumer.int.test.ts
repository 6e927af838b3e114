/** The event consumer against the real Kafka (east): what it commits, and when. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { KafkaMessage } from 'kafkajs';
import { DomainError } from '../../domains/shared/errors.ts';
import { kafkaTestClient, memberSortingFirst, type TestMember } from '../adapters/kafka.testing.ts';
import { createTopicsReady } from '../adapters/kafka.ts';
import { eventually } from '../adapters/testing.ts';
import { createEventConsumer, dlqTopic } from './consumer.ts';
import { envelope } from './envelope.ts';
import { fromKafkaMessage, toKafkaMessage } from './kafka-codec.ts';
import { TESTING_EVENTS, testingRegistry, thingEvent } from './testing.ts';

/** The `step` of a test event read straight from Kafka. */
const stepOf = (message: KafkaMessage) => (fromKafkaMessage(message, testingRegistry()).data as { step: number }).step;

describe('event consumer (real Kafka)', () => {
  const client = kafkaTestClient('east', 'consumer-test');

  /** Valid events numbered by `steps` (their data's `step`) appended to `topic`. */
  async function send(topic: string, steps: readonly number[]): Promise<void> {
    const producer = await client.kafka.producer();
    const messages = steps.map((step) =>
      toKafkaMessage(
        envelope(thingEvent(TESTING_EVENTS.created, randomUUID(), 'acme', step), {
          region: 'east',
          service: 'testing',
        }),
        testingRegistry(),
      ),
    );
    await producer.send({ topic, acks: -1, messages });
  }

  /** A topic of one partition holding `n` valid events. */
  async function topicWith(n: number): Promise<string> {
    const topic = client.topic('consumer.test');
    // With its dead-letter topic, as the region host creates every event topic's: one left to
    // Kafka's auto-creation can refuse the first dead letter under load, and the run is redelivered.
    await createTopicsReady(client.admin, [
      { topic, numPartitions: 1, replicationFactor: 1 },
      { topic: dlqTopic(topic), numPartitions: 1, replicationFactor: 1 },
    ]);
    if (n > 0)
      await send(
        topic,
        Array.from({ length: n }, (_, i) => i),
      );
    return topic;
  }

  const committed = async (groupId: string, topic: string): Promise<number> =>
    Number((await client.admin.fetchOffsets({ groupId, topics: [topic] }))[0]?.partitions[0]?.offset ?? -1);

  for (const unorderedConcurrency of [1, 2]) {
    it(`commits its progress while it works through a batch, not only once the batch is done (${unorderedConcurrency} at a time)`, async () => {
      const topic = await topicWith(12);
      const groupId = client.group('consumer-test-group');
      let release!: () => void;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      let handled = 0;
      const consumer = createEventConsumer({
        kafka: client.kafka,
        groupId,
        topics: [topic],
        registry: testingRegistry(),
        unorderedConcurrency,
        // The first six take 500 ms each (past the commit interval, even two at a time); the
        // seventh waits for the test.
        handle: async (event) => {
          const step = (event.data as { step: number }).step;
          if (step < 6) await new Promise((r) => setTimeout(r, 500));
          else await gate;
          handled++;
        },
      });
      await consumer.start();
      try {
        // All twelve came in one fetch (one batch); the batch cannot finish while the gate is shut.
        const progress = await eventually(
          async () => {
            const offset = await committed(groupId, topic);
            assert.ok(offset > 0, `committed ${offset} after ${handled} handled`);
            return offset;
          },
          { timeoutMs: 10_000, intervalMs: 200 },
        );
        assert.ok(progress <= 6, `only what was handled is committed (${progress})`);
        assert.equal(consumer.stats.deadLettered, 0);
      } finally {
        release();
        await eventually(() => assert.equal(handled, 12), { timeoutMs: 10_000 });
        await consumer.stop();
      }
      assert.equal(await committed(groupId, topic), 12, 'everything handled is committed by the stop');
    });
  }

  for (const before of [[], [0, 1]]) {
    it(`an ephemeral feed whose group rebalances goes on from where it was, not from the end (${before.length} read before)`, async () => {
      const topic = await topicWith(0);
      const groupId = client.group('live-test-group');
      const seen: number[] = [];
      const feed = createEventConsumer({
        kafka: client.kafka,
        groupId,
        ephemeral: true,
        topics: [topic],
        registry: testingRegistry(),
        handle: async (event) => {
          seen.push((event.data as { step: number }).step);
        },
      });
      await feed.start();
      let other: TestMember | undefined;
      try {
        if (before.length > 0) {
          await send(topic, before);
          await eventually(() => assert.deepEqual(seen, before), { timeoutMs: 10_000 });
        }
        const taken: number[] = [];
        other = await memberSortingFirst('east', groupId, [topic], (_, m) => taken.push(stepOf(m)));
        assert.deepEqual(other.assignment, { [topic]: [0] }, 'the other member holds the partition');
        await send(topic, [2, 3, 4]);
        await eventually(() => assert.deepEqual(taken, [2, 3, 4]), { timeoutMs: 10_000 });
        assert.deepEqual(seen, before, 'the feed held no partition meanwhile');
        // It leaves; the feed gets the partition back in a new generation, in which an ephemeral
        // group (no committed offsets) would start from the end.
        await other.leave();
        await send(topic, [5]);
        await eventually(() => assert.deepEqual(seen, [...before, 2, 3, 4, 5]), { timeoutMs: 20_000 });
        assert.equal(feed.stats.deadLettered, 0);
      } finally {
        await other?.leave();
        await feed.stop();
      }
    });
  }

  it('a durable group that starts at the end commits each partition at once: what is written while another member holds it unread is not skipped', async () => {
    const topic = await topicWith(2);
    const groupId = client.group('from-now-group');
    const seen: number[] = [];
    const group = createEventConsumer({
      kafka: client.kafka,
      groupId,
      fromBeginning: false,
      topics: [topic],
      registry: testingRegistry(),
      handle: async (event) => {
        seen.push((event.data as { step: number }).step);
      },
    });
    await group.start();
    let other: TestMember | undefined;
    try {
      // It starts at the end: the two records already there are not its business, and the end is committed.
      await eventually(async () => assert.equal(await committed(groupId, topic), 2), { timeoutMs: 10_000 });
      const taken: number[] = [];
      other = await memberSortingFirst('east', groupId, [topic], (_, m) => taken.push(stepOf(m)));
      assert.deepEqual(other.assignment, { [topic]: [0] }, 'the other member holds the partition');
      await send(topic, [2, 3, 4]);
      await eventually(() => assert.deepEqual(taken, [2, 3, 4]), { timeoutMs: 10_000 });
      // It leaves without committing (as a member killed before its commit would).
      await other.leave();
      await send(topic, [5]);
      await eventually(() => assert.deepEqual(seen, [2, 3, 4, 5]), { timeoutMs: 20_000 });
      await eventually(async () => assert.equal(await committed(groupId, topic), 6), { timeoutMs: 10_000 });
    } finally {
      await other?.leave();
      await group.stop();
    }
  });

  it('a gathering consumer takes a burst in one or two batches (a window may end within it), and a lone record once its window ends', async () => {
    const topic = await topicWith(0);
    const seen: number[] = [];
    const consumer = createEventConsumer({
      kafka: client.kafka,
      groupId: client.group('gathering-group'),
      topics: [topic],
      registry: testingRegistry(),
      // Windows far longer than the burst below: at most one window boundary falls within it.
      gatherMs: 3000,
      handle: async (event) => {
        seen.push((event.data as { step: number }).step);
      },
    });
    await consumer.start();
    try {
      // A lone record: never the 1 MiB a gathering fetch waits for, so it comes when the window ends.
      await send(topic, [0]);
      await eventually(() => assert.deepEqual(seen, [0]), { timeoutMs: 10_000 });
      const before = consumer.stats.batches;
      // Twelve records sent one by one over ~120 ms: without gathering, about one batch each.
      for (let step = 1; step <= 12; step++) {
        await send(topic, [step]);
        await new Promise((r) => setTimeout(r, 10));
      }
      await eventually(() => assert.equal(seen.length, 13), { timeoutMs: 10_000 });
      assert.deepEqual(
        seen,
        Array.from({ length: 13 }, (_, i) => i),
      );
      assert.ok(consumer.stats.batches - before <= 2, `${consumer.stats.batches - before} batches for 12 records`);
    } finally {
      await consumer.stop();
    }
  });

  it('handleBatch takes what a fetch brings in runs, in partition order, each record once; a retryable failure retries the run, any other hands it to handle record by record (only the poison one is dead-lettered)', async () => {
    const topic = await topicWith(0);
    const groupId = client.group('batch-group');
    const step = (event: { data: unknown }) => (event.data as { step: number }).step;
    const runs: number[][] = [];
    const alone: number[] = [];
    let unavailable = 1;
    const consumer = createEventConsumer({
      kafka: client.kafka,
      groupId,
      topics: [topic],
      registry: testingRegistry(),
      handleBatch: async (events, metas) => {
        const offsets = metas.map((m) => Number(m.offset));
        assert.deepEqual(
          offsets,
          offsets.map((_, i) => (offsets[0] as number) + i),
          'a run is consecutive records of one partition, in order',
        );
        if (unavailable-- > 0)
          throw new DomainError('DEPENDENCY_UNAVAILABLE', 'store away for a moment', { retryable: true });
        if (events.some((e) => step(e) === 25)) throw new DomainError('INVALID_EVENT', 'step 25 is poison');
        runs.push(events.map(step));
      },
      handle: async (event) => {
        if (step(event) === 25) throw new DomainError('INVALID_EVENT', 'step 25 is poison');
        alone.push(step(event));
      },
    });
    await consumer.start();
    try {
      await send(
        topic,
        Array.from({ length: 20 }, (_, i) => i),
      );
      await eventually(() => assert.equal(runs.flat().length, 20), { timeoutMs: 10_000 });
      assert.deepEqual(
        runs.flat(),
        Array.from({ length: 20 }, (_, i) => i),
        'each once, in order, the failed run again',
      );
      assert.ok(runs.length < 20, `${runs.length} calls for 20 records`);
      assert.ok(consumer.stats.retries >= 1);
      assert.deepEqual(alone, [], 'nothing went alone');

      await send(
        topic,
        Array.from({ length: 10 }, (_, i) => 20 + i),
      );
      await eventually(() => assert.equal(alone.length, 9), { timeoutMs: 10_000 });
      assert.deepEqual(alone, [20, 21, 22, 23, 24, 26, 27, 28, 29]);
      assert.equal(runs.flat().length, 20, 'the run holding the poison record was not handled as a run');
      assert.equal(consumer.stats.deadLettered, 1);
      assert.equal(consumer.stats.handled, 29);
    } finally {
      await consumer.stop();
    }
    assert.equal(await committed(groupId, topic), 30, 'everything handled or dead-lettered is committed');
  });
});
