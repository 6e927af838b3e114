/** The event consumer against the real Kafka (east): what it commits, and when. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Admin } from 'kafkajs';
import { createKafka, type KafkaDependency } from '../adapters/kafka.ts';
import { eventually, uniqueName } from '../adapters/testing.ts';
import { resolveEndpoints } from '../config/endpoints.ts';
import { createEventConsumer } from './consumer.ts';
import { envelope } from './envelope.ts';
import { toKafkaMessage } from './kafka-codec.ts';
import { TESTING_EVENTS, testingRegistry, thingEvent } from './testing.ts';

describe('event consumer (real Kafka)', () => {
  let kafka: KafkaDependency;
  let admin: Admin;
  const topics: string[] = [];
  const groups: string[] = [];

  before(async () => {
    kafka = createKafka({
      brokers: resolveEndpoints('east', process.env).kafkaBrokers,
      clientId: uniqueName('consumer-test'),
    });
    admin = await kafka.admin();
  });

  after(async () => {
    try {
      if (groups.length > 0) await admin.deleteGroups(groups).catch(() => {});
      if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => {});
    } finally {
      await kafka.close();
    }
  });

  /** A topic of one partition holding `n` valid events (`.internal`: MirrorMaker 2 leaves it alone). */
  async function topicWith(n: number): Promise<string> {
    const topic = `${uniqueName('consumer.test', '.')}.internal`;
    topics.push(topic);
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
    const producer = await kafka.producer();
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
    Number((await admin.fetchOffsets({ groupId, topics: [topic] }))[0]?.partitions[0]?.offset ?? -1);

  for (const unorderedConcurrency of [1, 2]) {
    it(`commits its progress while it works through a batch, not only once the batch is done (${unorderedConcurrency} at a time)`, async () => {
      const topic = await topicWith(12);
      const groupId = uniqueName('consumer-test-group');
      groups.push(groupId);
      let release!: () => void;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      let handled = 0;
      const consumer = createEventConsumer({
        kafka,
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
