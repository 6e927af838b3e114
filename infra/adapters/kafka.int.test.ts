import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KafkaMessage } from 'kafkajs';
import { REGIONS } from '../config/endpoints.ts';
import { kafkaTestClient } from './kafka.testing.ts';
import { createTopicsReady } from './kafka.ts';
import { eventually } from './testing.ts';

interface Received {
  readonly key: string;
  readonly value: string;
  readonly partition: number;
  readonly producerId: string | undefined;
}

/**
 * kafkajs decodes each record batch header onto its messages as `batchContext` but leaves it
 * out of its types; the producer id there is -1 unless the producer was idempotent.
 */
function producerIdOf(message: KafkaMessage): string | undefined {
  return (message as { batchContext?: { producerId?: string } }).batchContext?.producerId;
}

for (const region of REGIONS) {
  describe(`kafka adapter (${region})`, () => {
    const client = kafkaTestClient(region, `adapter-test-${region}`);

    it('ping describes the cluster', async () => {
      assert.match(await client.kafka.ping(), /^cluster \S+, [1-9]\d* broker\(s\)$/);
    });

    it('round-trips keyed records through a consumer group, in order per key', async () => {
      const topic = client.topic('adapter.test');
      const groupId = client.group(`adapter-test-${region}`);
      const created = await createTopicsReady(client.admin, [{ topic, numPartitions: 3, replicationFactor: 1 }]);
      assert.equal(created, true, `topic ${topic} should be new`);

      const keys = ['device-a', 'device-b', 'device-c'];
      const rounds = 4;
      const producer = await client.kafka.producer();
      // One send per round: order per key must hold across separate requests, not just within one.
      for (let round = 0; round < rounds; round++) {
        const metadata = await producer.send({
          topic,
          messages: keys.map((key) => ({ key, value: `${region}:${key}#${round}` })),
        });
        assert.ok(metadata.length > 0);
        for (const entry of metadata) assert.equal(entry.errorCode, 0);
      }
      const total = keys.length * rounds;

      const received: Received[] = [];
      const consumer = client.kafka.consumer({ groupId });
      // What the consumer went through, for the failure message (a join retried or crashed under load).
      const happened: string[] = [];
      consumer.on(consumer.events.GROUP_JOIN, (e) =>
        happened.push(`joined ${JSON.stringify(e.payload.memberAssignment)}`),
      );
      consumer.on(consumer.events.CRASH, (e) => happened.push(`crashed: ${e.payload.error.message}`));
      consumer.on(consumer.events.REBALANCING, () => happened.push('rebalancing'));
      await consumer.connect();
      try {
        await consumer.subscribe({ topics: [topic], fromBeginning: true });
        await consumer.run({
          eachMessage: async ({ partition, message }) => {
            received.push({
              key: message.key?.toString() ?? '',
              value: message.value?.toString() ?? '',
              partition,
              producerId: producerIdOf(message),
            });
          },
        });
        await eventually(
          () =>
            assert.equal(
              received.length,
              total,
              `received ${JSON.stringify(received.map((r) => r.value))}; the consumer: ${happened.join('; ') || 'nothing'}`,
            ),
          { timeoutMs: 60_000 },
        );

        const expected = keys.flatMap((key) => Array.from({ length: rounds }, (_, r) => `${region}:${key}#${r}`));
        assert.deepEqual(received.map((r) => r.value).sort(), [...expected].sort());
        for (const key of keys) {
          const ofKey = received.filter((r) => r.key === key);
          assert.deepEqual(
            ofKey.map((r) => r.value),
            Array.from({ length: rounds }, (_, r) => `${region}:${key}#${r}`),
            `records of ${key} arrive in the order they were produced`,
          );
          assert.equal(new Set(ofKey.map((r) => r.partition)).size, 1, `${key} maps to one partition`);
        }
        const producerIds = new Set(received.map((r) => r.producerId));
        assert.equal(producerIds.size, 1, 'all records come from the one producer');
        const [producerId] = producerIds;
        assert.ok(
          producerId !== undefined && producerId !== '-1',
          `idempotent producer id expected, got ${producerId}`,
        );

        // The group commits what it processed: its committed offset per partition is the end of the log,
        // and a partition no key hashed to has nothing committed (-1).
        const ends = await client.admin.fetchTopicOffsets(topic);
        assert.equal(
          ends.reduce((sum, p) => sum + Number(p.high), 0),
          total,
        );
        const expectedCommits = Object.fromEntries(ends.map((p) => [p.partition, p.high === '0' ? '-1' : p.high]));
        await eventually(
          async () => {
            const [committed] = await client.admin.fetchOffsets({ groupId, topics: [topic] });
            assert.equal(committed?.topic, topic);
            const byPartition = Object.fromEntries(committed.partitions.map((p) => [p.partition, p.offset]));
            assert.deepEqual(byPartition, expectedCommits);
          },
          { timeoutMs: 15_000, intervalMs: 250 },
        );
      } finally {
        await consumer.disconnect();
      }
    });
  });
}
