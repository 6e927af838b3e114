import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createMemoryPersistedQueryStore } from './persisted-query-store.memory.ts';

describe('memory persisted-query store', () => {
  test('stores and returns queries by hash', async () => {
    const store = createMemoryPersistedQueryStore();
    assert.equal(await store.get('h'), undefined);
    await store.set('h', '{ a }');
    assert.equal(await store.get('h'), '{ a }');
  });

  test('forgets the least recently used queries beyond its byte budget', async () => {
    const store = createMemoryPersistedQueryStore({ maxBytes: 1000 });
    for (let i = 0; i < 100; i++) await store.set(`hash-${i}`, `{ field${i} }`.padEnd(50));
    assert.equal(await store.get('hash-0'), undefined);
    assert.ok(await store.get('hash-99'));
  });
});
