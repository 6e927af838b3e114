/** The console's event feed against east's real Kafka: it keeps its place when its group re-joins. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { describe, it } from 'node:test';
import { kafkaTestClient, memberSortingFirst, type TestMember } from '../../infra/adapters/kafka.testing.ts';
import { createTopicsReady } from '../../infra/adapters/kafka.ts';
import { eventually } from '../../infra/adapters/testing.ts';
import { resolveEndpoints } from '../../infra/config/endpoints.ts';
import { createEventFeed, EVENT_TOPIC, type FeedEvent } from './event-feed.ts';

describe('ops event feed (east, real Kafka)', () => {
  const client = kafkaTestClient('east', 'event-feed-test');
  const brokers = resolveEndpoints('east', process.env).kafkaBrokers;

  it('an event written while another member holds its partition unread is shown once the feed has it back', async () => {
    // An event topic of its own (the feed reads topics named like events), made before the feed starts.
    const topic = `opstest.feed.t${randomUUID().slice(0, 8)}.v1`;
    assert.match(topic, EVENT_TOPIC);
    await createTopicsReady(client.admin, [{ topic, numPartitions: 2 }]);
    const feed = createEventFeed([{ name: 'east', brokers }]);
    const seen: FeedEvent[] = [];
    feed.listen((e) => {
      if (e.topic === topic) seen.push(e);
    });
    const producer = await client.kafka.producer();
    const send = (partition: number, id: string) =>
      producer.send({
        topic,
        acks: -1,
        messages: [{ partition, value: JSON.stringify({ id, type: 'opstest.feed.noted.v1', tenant: 't' }) }],
      });
    let other: TestMember | undefined;
    try {
      await feed.start();
      const prefix = `ops-console-east-${hostname()}-${process.pid}-`;
      const { groups } = await client.admin.listGroups();
      const groupId = groups.find((g) => g.groupId.startsWith(prefix))?.groupId;
      assert.ok(groupId, 'the feed has joined its group');
      // A second member whose id sorts first holds one of the topic's two partitions while it is in.
      const taken: string[] = [];
      other = await memberSortingFirst('east', groupId, [EVENT_TOPIC], (t, m) => {
        if (t === topic) taken.push(m.offset);
      });
      const [held] = other.assignment[topic] ?? [];
      assert.ok(held !== undefined, 'the other member holds one of the partitions');
      await send(held, 'while-away');
      await eventually(() => assert.deepEqual(taken, ['0']), { timeoutMs: 10_000 });
      // It leaves without committing; the feed gets the partition back in a new generation.
      await other.leave();
      await send(held, 'after');
      await eventually(
        () =>
          assert.deepEqual(
            seen.filter((e) => e.partition === held).map((e) => e.id),
            ['while-away', 'after'],
          ),
        { timeoutMs: 20_000 },
      );
    } finally {
      await other?.leave();
      await feed.stop();
      await client.admin.deleteTopics({ topics: [topic] }).catch(() => {});
    }
  });
});
