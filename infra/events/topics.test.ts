/** Topic creation's decisions with a fake admin (the real broker is used by every region start). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KafkaDependency } from '../adapters/kafka.ts';
import { ensureTopics, regionTopics } from './topics.ts';

/** An admin whose topics another process is creating: they exist, their leaders come later. */
function racingAdmin(leaderAfterCalls: number) {
  const calls = { create: 0, metadata: 0 };
  let listed = 0;
  const admin = {
    // Missing at the first look, there (made by the other process) at the second.
    listTopics: async () => (listed++ === 0 ? [] : regionTopics(['a.v1'], 'west')),
    createTopics: async () => {
      calls.create++;
      throw new Error('Topic with this name already exists');
    },
    fetchTopicMetadata: async ({ topics }: { topics: string[] }) => {
      calls.metadata++;
      const leader = calls.metadata >= leaderAfterCalls ? 0 : -1;
      return { topics: topics.map((name) => ({ name, partitions: [{ partitionId: 0, leader }] })) };
    },
  };
  return { kafka: { admin: async () => admin } as unknown as KafkaDependency, calls };
}

describe('ensureTopics', () => {
  it('names each type, its dead-letter topic and the peer’s copy', () => {
    assert.deepEqual(regionTopics(['a.v1'], 'west'), ['a.v1', 'a.v1.dlq', 'west.a.v1']);
    assert.deepEqual(regionTopics(['a.v1'], undefined), ['a.v1', 'a.v1.dlq']);
  });

  it('losing the race to create them, it still waits until every partition has a leader', async () => {
    const { kafka, calls } = racingAdmin(3);
    assert.deepEqual(await ensureTopics(kafka, ['a.v1'], { peer: 'west' }), ['a.v1', 'a.v1.dlq', 'west.a.v1']);
    assert.equal(calls.create, 1);
    assert.equal(calls.metadata, 3, 'asked until the leaders were there');
  });

  it('creating them, it asks again while a fresh broker does not know the topics it has just created', async () => {
    let asked = 0;
    const admin = {
      listTopics: async () => [],
      createTopics: async () => true,
      fetchTopicMetadata: async ({ topics }: { topics: string[] }) => {
        if (asked++ < 2) throw new Error('This server does not host this topic-partition');
        return { topics: topics.map((name) => ({ name, partitions: [{ partitionId: 0, leader: 0 }] })) };
      },
    };
    const kafka = { admin: async () => admin } as unknown as KafkaDependency;
    assert.deepEqual(await ensureTopics(kafka, ['a.v1']), ['a.v1', 'a.v1.dlq']);
    assert.equal(asked, 3);
  });
});
