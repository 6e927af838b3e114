import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMemoryStore } from './memory-store.ts';
import { storeContract } from './store.contract.test.ts';

storeContract('memory', () => createMemoryStore());

describe('memory store housekeeping', () => {
  const policy = { capacity: 2, refillPerSecond: 1 };

  it('forgets buckets that are full again (swept during takes, no timers)', async () => {
    const store = createMemoryStore({ sweepEvery: 3 });
    await store.take('a', 1, policy, 0);
    await store.take('b', 1, policy, 0);
    assert.equal(store.size(), 2);
    await store.take('c', 1, policy, 5_000);
    assert.equal(store.size(), 1, 'a and b refilled by t=1s and were swept');
  });

  it('caps the number of keys, dropping the least recently used', async () => {
    const store = createMemoryStore({ maxKeys: 3 });
    for (const key of ['a', 'b', 'c']) await store.take(key, 2, policy, 0);
    await store.take('a', 0, policy, 0);
    await store.take('d', 2, policy, 0);
    assert.equal(store.size(), 3);
    assert.equal((await store.take('a', 1, policy, 0)).allowed, false, 'a was used recently and kept');
    assert.equal((await store.take('b', 1, policy, 0)).allowed, true, 'b was evicted and restarts full');
  });

  it('a key used within every half of maxKeys new keys outlives a flood of them; an idle one does not', async () => {
    const store = createMemoryStore({ maxKeys: 10 });
    await store.take('busy', 2, policy, 0);
    await store.take('idle', 2, policy, 0);
    for (let i = 0; i < 100; i++) {
      await store.take(`flood-${i}`, 1, policy, 0);
      if (i % 4 === 0) await store.take('busy', 0, policy, 0);
    }
    assert.equal(store.size(), 10);
    assert.equal((await store.take('busy', 1, policy, 0)).allowed, false, 'busy kept its spent bucket');
    assert.equal((await store.take('idle', 1, policy, 0)).allowed, true, 'idle was dropped and restarts full');
  });
});
