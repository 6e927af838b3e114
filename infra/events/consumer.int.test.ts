/** The event consumer against the real Kafka (east): what it commits, and when. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { kafkaTestClient } from '../adapters/kafka.testing.ts';
import { eventually } from '../adapters/testing.ts';
import { createEventConsumer } from './consumer.ts';
import { envelope } from './envelope.ts';
import { toKafkaMessage } from './kafka-codec.ts';
import { TESTING_EVENTS, testingRegistry, thingEvent } from './testing.ts';

describe('event consumer (real Kafka)', () => {
  const client = kafkaTestClient('east', 'consumer-test');

  /** A topic of one partition holding `n` valid events. */
  async function topicWith(n: number): Promise<string> {
    const topic = client.topic('consumer.test');
    await client.admin.createTopics({
      topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    const producer = await client.kafka.producer();
    const messages = Array.from({ length: n }, (_, i) =>
      toKafkaMessage(
        envelope(thingEvent(TESTING_EVENTS.created, randomUUID(), 'acme', i), { region: 'east', service: 'testing' }),
        testingRegistry(),
      ),
    );
    await producer.send({ topic, acks: -1, messages });
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
});
