import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { utf8Length } from './bytes.ts';
import { createByteLru } from './lru.ts';

/** An LRU of strings whose value size is the string's length; keys count by their own length. */
function lru(maxBytes: number, evicted: string[] = []) {
  return createByteLru<string>({ maxBytes, sizeOf: (v) => v.length, onEvict: (key) => evicted.push(key) });
}

describe('byte-bounded LRU', () => {
  test('counts value and key bytes', () => {
    const cache = lru(100);
    cache.set('ab', '12345');
    assert.equal(cache.bytes, 7);
    assert.equal(cache.size, 1);
    cache.set('ab', '1');
    assert.equal(cache.bytes, 3, 'a replacement is re-counted, not added');
    cache.delete('ab');
    assert.equal(cache.bytes, 0);
  });

  test('evicts least recently used entries until the new one fits the byte budget', () => {
    const evicted: string[] = [];
    const cache = lru(30, evicted);
    cache.set('a', 'x'.repeat(9)); // 10 bytes
    cache.set('b', 'x'.repeat(9));
    cache.set('c', 'x'.repeat(9));
    assert.equal(cache.bytes, 30);
    cache.get('a'); // a is now the most recent; b is the coldest
    cache.set('d', 'x'.repeat(19)); // 20 bytes: needs b and c gone
    assert.deepEqual(evicted, ['b', 'c']);
    assert.deepEqual(
      [...cache.coldest()].map(([k]) => k),
      ['a', 'd'],
    );
    assert.ok(cache.bytes <= 30);
  });

  test('a single value over the budget is refused and leaves the rest alone', () => {
    const evicted: string[] = [];
    const cache = lru(10, evicted);
    cache.set('a', 'xx');
    assert.equal(cache.set('big', 'x'.repeat(20)), false);
    assert.equal(cache.has('big'), false);
    assert.equal(cache.get('a'), 'xx');
    assert.deepEqual(evicted, []);
  });

  test('peek does not change recency; get does', () => {
    const evicted: string[] = [];
    const cache = lru(4, evicted);
    cache.set('a', '1');
    cache.set('b', '2');
    cache.peek('a');
    cache.set('c', '3');
    assert.deepEqual(evicted, ['a']);
    cache.get('b');
    cache.set('d', '4');
    assert.deepEqual(evicted, ['a', 'c']);
  });

  test('explicit deletes and clear do not call onEvict', () => {
    const evicted: string[] = [];
    const cache = lru(100, evicted);
    cache.set('a', '1');
    cache.set('b', '2');
    assert.equal(cache.delete('a'), true);
    assert.equal(cache.delete('a'), false);
    cache.clear();
    assert.deepEqual(evicted, []);
    assert.equal(cache.size, 0);
    assert.equal(cache.bytes, 0);
  });

  test('stays O(1): 200,000 operations on a 1,000-entry cache are quick', () => {
    const cache = lru(1000 * 12);
    const start = performance.now();
    for (let i = 0; i < 200_000; i++) {
      cache.set(`k${i % 5000}`, 'v'.repeat(8));
      cache.get(`k${(i * 7) % 5000}`);
    }
    assert.ok(cache.bytes <= 12_000);
    assert.ok(performance.now() - start < 2000);
  });

  test('rejects a non-positive budget', () => {
    assert.throws(() => lru(0), RangeError);
  });
});

describe('utf8Length', () => {
  test('matches TextEncoder on ASCII, accents, CJK, emoji and lone surrogates', () => {
    for (const s of ['', 'abc', 'é', '日本', 'Run🏃Swim🏊', '\ud800x', 'x\udc00']) {
      assert.equal(utf8Length(s), new TextEncoder().encode(s).byteLength, JSON.stringify(s));
    }
  });
});
