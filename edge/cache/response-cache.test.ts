import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type CacheEntry, createResponseCache, PURGE_MEMORY_MS, type ResponseCacheOptions } from './response-cache.ts';

/** A clock the test moves by hand. */
function fakeClock(start = 1_000_000) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

/** A cache entry with sensible defaults; `storedAt` should come from the test's clock. */
function entry(key: string, overrides: Partial<CacheEntry> = {}): CacheEntry {
  return {
    key,
    body: `{"data":{"k":"${key}"}}`,
    status: 200,
    headers: { 'content-type': 'application/json' },
    etag: '"e"',
    tags: [],
    scope: 'PUBLIC',
    storedAt: 1_000_000,
    maxAgeMs: 60_000,
    swrMs: 6_000,
    ...overrides,
  };
}

function cache(overrides: Partial<ResponseCacheOptions> = {}) {
  const clock = fakeClock();
  return { clock, cache: createResponseCache({ maxBytes: 1 << 20, clock: clock.now, ...overrides }) };
}

describe('response cache: freshness', () => {
  test('miss, then hit after store, with stats', () => {
    const { cache: c } = cache();
    assert.deepEqual(c.lookup('k'), { state: 'miss' });
    assert.equal(c.store(entry('k')), 'stored');
    const r = c.lookup('k');
    assert.equal(r.state, 'hit');
    assert.equal(r.state === 'hit' && r.entry.body, '{"data":{"k":"k"}}');
    const s = c.stats();
    assert.equal(s.hits, 1);
    assert.equal(s.misses, 1);
    assert.equal(s.entries, 1);
    assert.ok(s.bytes > 0);
  });

  test('hit until max-age, stale within the SWR window, then miss and dropped (fake clock)', () => {
    const { cache: c, clock } = cache();
    c.store(entry('k', { storedAt: clock.now(), maxAgeMs: 10_000, swrMs: 2_000 }));
    clock.advance(9_999);
    let r = c.lookup('k');
    assert.equal(r.state, 'hit');
    assert.equal(r.state === 'hit' && r.ttlMs, 1);
    assert.equal(r.state === 'hit' && r.ageMs, 9_999);
    clock.advance(1);
    r = c.lookup('k');
    assert.equal(r.state, 'stale');
    assert.equal(r.state === 'stale' && r.ttlMs, 0);
    clock.advance(1_999);
    r = c.lookup('k');
    assert.equal(r.state, 'stale');
    assert.equal(r.state === 'stale' && r.ttlMs, -1_999);
    clock.advance(1);
    assert.equal(c.lookup('k').state, 'miss');
    assert.equal(c.stats().entries, 0, 'an entry past its stale window is dropped');
    assert.equal(c.stats().stale, 2);
  });

  test('refuses entries that are too large or not cacheable', () => {
    const { cache: c, clock } = cache({ maxBytes: 1000 });
    assert.equal(c.store(entry('big', { body: 'x'.repeat(2000) })), 'too-large');
    assert.equal(c.store(entry('zero', { maxAgeMs: 0 })), 'uncacheable');
    assert.equal(c.store(entry('old', { storedAt: clock.now() - 100_000 })), 'uncacheable');
    assert.equal(c.stats().entries, 0);
  });

  test('bytes as Uint8Array are counted by length', () => {
    const { cache: c } = cache();
    c.store(entry('k', { body: new Uint8Array(5000) }));
    assert.ok(c.stats().bytes >= 5000);
  });
});

describe('response cache: byte budget and admission', () => {
  test('evicts by bytes, never exceeding the budget', () => {
    const { cache: c, clock } = cache({ maxBytes: 10_000 });
    for (let i = 0; i < 100; i++) {
      c.store(entry(`k${i}`, { storedAt: clock.now(), body: 'x'.repeat(900) }));
      assert.ok(c.stats().bytes <= 10_000);
    }
    const s = c.stats();
    assert.ok(s.entries >= 8 && s.entries <= 10, `${s.entries} entries`);
    assert.equal(s.evictions, 100 - s.entries);
    assert.equal(c.lookup('k99').state, 'hit');
    assert.equal(c.lookup('k0').state, 'miss');
  });

  test('TinyLFU: hot keys survive a flood of 10,000 one-off keys', () => {
    const { cache: c, clock } = cache({ maxBytes: 64 * 1024 });
    const body = 'x'.repeat(800);
    const hot = Array.from({ length: 20 }, (_, i) => `hot-${i}`);
    for (let round = 0; round < 10; round++) {
      for (const key of hot) if (c.lookup(key).state === 'miss') c.store(entry(key, { storedAt: clock.now(), body }));
    }
    // Each one-off is asked once, misses, and is offered to the cache, as the edge does.
    for (let i = 0; i < 10_000; i++) {
      const key = `one-off-${i}`;
      if (c.lookup(key).state === 'miss') c.store(entry(key, { storedAt: clock.now(), body }));
    }
    for (const key of hot) assert.equal(c.lookup(key).state, 'hit', `${key} was flushed`);
    assert.ok(c.stats().rejected > 9_000, `${c.stats().rejected} rejected`);
    assert.ok(c.stats().bytes <= 64 * 1024);
  });

  test('TinyLFU: a key that becomes more popular than the coldest entries is admitted', () => {
    const { cache: c, clock } = cache({ maxBytes: 8 * 1024 });
    const body = 'x'.repeat(800);
    for (let i = 0; i < 20; i++) {
      for (let n = 0; n < 3; n++) c.lookup(`warm-${i}`);
      c.store(entry(`warm-${i}`, { storedAt: clock.now(), body }));
    }
    c.lookup('rising');
    assert.equal(c.store(entry('rising', { storedAt: clock.now(), body })), 'not-admitted');
    for (let n = 0; n < 3; n++) c.lookup('rising');
    assert.equal(c.store(entry('rising', { storedAt: clock.now(), body })), 'stored');
    assert.equal(c.lookup('rising').state, 'hit');
  });

  test('among equally popular keys the cache behaves as an LRU', () => {
    const { cache: c, clock } = cache({ maxBytes: 4 * 1024 });
    const body = 'x'.repeat(800);
    for (let i = 0; i < 10; i++) {
      c.lookup(`k${i}`);
      assert.equal(c.store(entry(`k${i}`, { storedAt: clock.now(), body })), 'stored');
    }
    assert.equal(c.lookup('k9').state, 'hit');
    assert.equal(c.lookup('k0').state, 'miss');
  });

  test('expired entries never block admission', () => {
    const { cache: c, clock } = cache({ maxBytes: 4 * 1024 });
    const body = 'x'.repeat(800);
    for (let i = 0; i < 4; i++) {
      for (let n = 0; n < 10; n++) c.lookup(`was-hot-${i}`);
      c.store(entry(`was-hot-${i}`, { storedAt: clock.now(), body, maxAgeMs: 1_000, swrMs: 0 }));
    }
    clock.advance(2_000);
    c.lookup('new');
    assert.equal(c.store(entry('new', { storedAt: clock.now(), body })), 'stored');
  });
});

describe('response cache: purge by tag', () => {
  test('hard purge deletes every entry carrying a tag, and only those', () => {
    const { cache: c, clock } = cache();
    c.store(entry('a', { storedAt: clock.now(), tags: ['Product:1', 'Product:2'] }));
    c.store(entry('b', { storedAt: clock.now(), tags: ['Product:2'] }));
    c.store(entry('c', { storedAt: clock.now(), tags: ['Product:3'] }));
    assert.equal(c.purgeTags(['Product:2']), 2);
    assert.equal(c.lookup('a').state, 'miss');
    assert.equal(c.lookup('b').state, 'miss');
    assert.equal(c.lookup('c').state, 'hit');
    assert.equal(c.purgeTags(['Product:1']), 0, 'the tag index forgot the deleted entry');
    assert.equal(c.stats().purged, 2);
  });

  test('soft purge serves stale while revalidating, for at most the SWR window', () => {
    const { cache: c, clock } = cache();
    c.store(entry('a', { storedAt: clock.now(), tags: ['Product:1'], maxAgeMs: 60_000, swrMs: 5_000 }));
    clock.advance(1_000);
    assert.equal(c.purgeTags(['Product:1'], { soft: true }), 1);
    assert.equal(c.lookup('a').state, 'stale');
    clock.advance(4_999);
    assert.equal(c.lookup('a').state, 'stale');
    clock.advance(1);
    assert.equal(c.lookup('a').state, 'miss');
  });

  test('soft purge of an entry without SWR acts as a hard purge; a refresh makes it fresh again', () => {
    const { cache: c, clock } = cache();
    c.store(entry('a', { storedAt: clock.now(), tags: ['T:1'], swrMs: 0 }));
    c.store(entry('b', { storedAt: clock.now(), tags: ['T:1'] }));
    c.purgeTags(['T:1'], { soft: true });
    assert.equal(c.lookup('a').state, 'miss');
    assert.equal(c.lookup('b').state, 'stale');
    c.store(entry('b', { storedAt: clock.now(), tags: ['T:1'] }));
    assert.equal(c.lookup('b').state, 'hit');
  });

  test('replacing an entry re-indexes its tags', () => {
    const { cache: c, clock } = cache();
    c.store(entry('a', { storedAt: clock.now(), tags: ['Old:1'] }));
    c.store(entry('a', { storedAt: clock.now(), tags: ['New:1', 'New:1'] }));
    assert.equal(c.purgeTags(['Old:1']), 0);
    assert.equal(c.purgeTags(['New:1']), 1);
  });

  test('evicted entries leave the tag index', () => {
    const { cache: c, clock } = cache({ maxBytes: 2 * 1024 });
    c.store(entry('a', { storedAt: clock.now(), tags: ['T:1'], body: 'x'.repeat(600) }));
    c.store(entry('b', { storedAt: clock.now(), tags: ['T:2'], body: 'x'.repeat(600) }));
    c.store(entry('c', { storedAt: clock.now(), tags: ['T:3'], body: 'x'.repeat(600) }));
    assert.equal(c.stats().evictions, 1);
    assert.equal(c.purgeTags(['T:1']), 0);
  });
});

describe('response cache: fills that raced a purge', () => {
  test('a hard purge of one of its tags after the mark refuses the fill; the older entry stays gone', () => {
    const { cache: c, clock } = cache();
    c.store(entry('a', { storedAt: clock.now(), tags: ['Product:1'] }));
    const since = c.purgeMark();
    c.purgeTags(['Product:1']);
    assert.equal(c.store(entry('a', { storedAt: clock.now(), tags: ['Product:1', 'Product:2'] }), since), 'purged');
    assert.equal(c.lookup('a').state, 'miss');
    // A fill that started after the purge is stored as usual.
    assert.equal(c.store(entry('a', { storedAt: clock.now(), tags: ['Product:1'] }), c.purgeMark()), 'stored');
    assert.equal(c.lookup('a').state, 'hit');
  });

  test('only soft purges since the mark: stored, already stale, for at most its SWR window', () => {
    const { cache: c, clock } = cache();
    const since = c.purgeMark();
    c.purgeTags(['Product:1'], { soft: true });
    c.purgeTags(['Product:1'], { soft: true }); // one change purges from each region
    clock.advance(100);
    const e = entry('a', { storedAt: clock.now(), tags: ['Product:1'], maxAgeMs: 60_000, swrMs: 5_000 });
    assert.equal(c.store(e, since), 'stored-stale');
    const r = c.lookup('a');
    assert.equal(r.state, 'stale');
    assert.equal(r.state === 'stale' && r.entry, e);
    clock.advance(5_000);
    assert.equal(c.lookup('a').state, 'miss');
  });

  test('a fill that raced a soft purge replaces the stale entry the purge left (it is no older)', () => {
    const { cache: c, clock } = cache();
    c.store(entry('a', { storedAt: clock.now(), tags: ['T:1'], body: 'old' }));
    c.purgeTags(['T:1'], { soft: true });
    const since = c.purgeMark();
    c.purgeTags(['T:1'], { soft: true });
    assert.equal(c.store(entry('a', { storedAt: clock.now(), tags: ['T:1'], body: 'newer' }), since), 'stored-stale');
    const r = c.lookup('a');
    assert.equal(r.state === 'stale' && r.entry.body, 'newer');
  });

  test('a soft purge without a stale window, or a hard one before a soft one, refuses the fill', () => {
    const { cache: c, clock } = cache();
    let since = c.purgeMark();
    c.purgeTags(['T:1'], { soft: true });
    assert.equal(c.store(entry('a', { storedAt: clock.now(), tags: ['T:1'], swrMs: 0 }), since), 'purged');
    since = c.purgeMark();
    c.purgeTags(['T:1']);
    c.purgeTags(['T:1'], { soft: true });
    assert.equal(c.store(entry('a', { storedAt: clock.now(), tags: ['T:1'] }), since), 'purged');
    assert.equal(c.lookup('a').state, 'miss');
  });

  test('purges of other tags leave the fill fresh', () => {
    const { cache: c, clock } = cache();
    const since = c.purgeMark();
    c.purgeTags(['Product:2']);
    c.purgeTags(['Product:3'], { soft: true });
    assert.equal(c.store(entry('a', { storedAt: clock.now(), tags: ['Product:1'] }), since), 'stored');
    assert.equal(c.lookup('a').state, 'hit');
  });

  test('a fill older than the purge memory is refused whatever its tags; newer ones are checked', () => {
    const { cache: c, clock } = cache();
    const old = c.purgeMark();
    c.purgeTags(['Product:9'], { soft: true });
    clock.advance(PURGE_MEMORY_MS);
    const recent = c.purgeMark();
    c.purgeTags(['Product:8']); // forgets the first purge
    assert.equal(c.store(entry('a', { storedAt: clock.now(), tags: ['Product:1'] }), old), 'purged');
    assert.equal(c.store(entry('b', { storedAt: clock.now(), tags: ['Product:1'] }), recent), 'stored');
  });

  test('clear() refuses the fills already asking the origin', () => {
    const { cache: c, clock } = cache();
    const since = c.purgeMark();
    c.clear();
    assert.equal(c.store(entry('a', { storedAt: clock.now() }), since), 'purged');
    assert.equal(c.store(entry('a', { storedAt: clock.now() }), c.purgeMark()), 'stored');
  });
});

describe('response cache: single-flight and refresh-ahead', () => {
  test('200 concurrent identical misses make one call and share its result', async () => {
    const { cache: c } = cache();
    let calls = 0;
    const origin = async () => {
      calls++;
      await new Promise((resolve) => setTimeout(resolve, 20));
      return { body: 'answer' };
    };
    const results = await Promise.all(Array.from({ length: 200 }, () => c.singleFlight('k', origin)));
    assert.equal(calls, 1);
    assert.ok(results.every((r) => r === results[0]));
    assert.equal(c.stats().inFlight, 0);
    await c.singleFlight('k', origin);
    assert.equal(calls, 2, 'a settled flight is not reused');
  });

  test('different keys fly separately; a failure reaches every waiter and is not kept', async () => {
    const { cache: c } = cache();
    let calls = 0;
    const failing = async (): Promise<string> => {
      calls++;
      throw new Error('origin down');
    };
    const waits = Array.from({ length: 5 }, () => c.singleFlight('x', failing));
    for (const w of waits) await assert.rejects(w, /origin down/);
    assert.equal(calls, 1);
    const [a, b] = await Promise.all([c.singleFlight('a', async () => 'A'), c.singleFlight('b', async () => 'B')]);
    assert.deepEqual([a, b], ['A', 'B']);
    assert.equal(await c.singleFlight('x', async () => 'ok'), 'ok');
  });

  test('a hot key is refreshed once in the last 10% of its max-age; a cold key is not', () => {
    const refreshed: string[] = [];
    const { cache: c, clock } = cache({ refreshAhead: (key) => refreshed.push(key) });
    c.store(entry('hot', { storedAt: clock.now(), maxAgeMs: 10_000 }));
    c.store(entry('cold', { storedAt: clock.now(), maxAgeMs: 10_000 }));
    for (let i = 0; i < 5; i++) c.lookup('hot');
    c.lookup('cold');
    assert.deepEqual(refreshed, [], 'nothing is refreshed early in its life');
    clock.advance(9_100);
    c.lookup('hot');
    c.lookup('hot');
    c.lookup('cold');
    assert.deepEqual(refreshed, ['hot'], 'once per stored entry');
    c.store(entry('hot', { storedAt: clock.now(), maxAgeMs: 10_000 }));
    clock.advance(9_500);
    c.lookup('hot');
    assert.deepEqual(refreshed, ['hot', 'hot'], 'the refreshed entry can be refreshed again');
    assert.equal(c.stats().refreshes, 2);
  });

  test('a throwing refreshAhead does not break the hit', () => {
    const { cache: c, clock } = cache({
      refreshAhead: () => {
        throw new Error('boom');
      },
    });
    c.store(entry('k', { storedAt: clock.now(), maxAgeMs: 1_000 }));
    for (let i = 0; i < 5; i++) c.lookup('k');
    clock.advance(950);
    assert.equal(c.lookup('k').state, 'hit');
  });
});
