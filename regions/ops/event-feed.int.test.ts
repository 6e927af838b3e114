/** The console's event feed against east's real Kafka: it keeps its place when its group re-joins. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { describe, it } from 'node:test';
import { resolvesWithin } from '../../infra/adapters/dependency.ts';
import { kafkaTestClient } from '../../infra/adapters/kafka.testing.ts';
import { createKafka, createTopicsReady } from '../../infra/adapters/kafka.ts';
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
    // A second member of the feed's group whose id sorts first: kafkajs' round-robin assigner deals
    // partitions in member-id order, so it holds one of the topic's two partitions while it is in.
    const other = createKafka({ brokers, clientId: 'a-rebalancer' });
    const producer = await client.kafka.producer();
    const send = (partition: number, id: string) =>
      producer.send({
        topic,
        acks: -1,
        messages: [{ partition, value: JSON.stringify({ id, type: 'opstest.feed.noted.v1', tenant: 't' }) }],
      });
    try {
      await feed.start();
      const prefix = `ops-console-east-${hostname()}-${process.pid}-`;
      const { groups } = await client.admin.listGroups();
      const groupId = groups.find((g) => g.groupId.startsWith(prefix))?.groupId;
      assert.ok(groupId, 'the feed has joined its group');
      const member = other.consumer({ groupId, heartbeatInterval: 1_000, maxWaitTimeInMs: 250 });
      const joined = new Promise<Record<string, number[]>>((resolve) =>
        member.on(member.events.GROUP_JOIN, (e) => resolve(e.payload.memberAssignment)),
      );
      // It reads its partitions from where they end at its first fetch: the test writes after that.
      let fetchedAfterJoin = false;
      let isJoined = false;
      member.on(member.events.GROUP_JOIN, () => {
        isJoined = true;
      });
      member.on(member.events.FETCH, () => {
        if (isJoined) fetchedAfterJoin = true;
      });
      const taken: string[] = [];
      await member.connect();
      await member.subscribe({ topics: [EVENT_TOPIC], fromBeginning: false });
      await member.run({
        autoCommit: false,
        eachMessage: async ({ topic: t, message }) => {
          if (t === topic) taken.push(String(message.offset));
        },
      });
      assert.ok(await resolvesWithin(joined, 30_000), 'the other member joined');
      const [held] = (await joined)[topic] ?? [];
      assert.ok(held !== undefined, 'the other member holds one of the partitions');
      await eventually(() => assert.ok(fetchedAfterJoin), { timeoutMs: 10_000 });
      await send(held, 'while-away');
      await eventually(() => assert.deepEqual(taken, ['0']), { timeoutMs: 10_000 });
      // It leaves without committing; the feed gets the partition back in a new generation.
      await member.disconnect();
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
      await other.close();
      await feed.stop();
      await client.admin.deleteTopics({ topics: [topic] }).catch(() => {});
    }
  });
});
