/** Integration: the read-through cache against the real Redis of region east. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { createRedis } from '../adapters/redis.ts';
import { resolveEndpoints } from '../config/endpoints.ts';
import { createReadThroughCache, jitteredTtl } from './read-through.ts';

const redis = createRedis({ url: resolveEndpoints('east', process.env).redisUrl });
after(() => redis.close());

function cache(overrides: { ttlSeconds?: number; random?: () => number; namespace?: string } = {}) {
  return createReadThroughCache<{ v: number }>({
    redis: redis.client,
    namespace: overrides.namespace ?? `test:${randomUUID()}`,
    ttlSeconds: overrides.ttlSeconds ?? 60,
    negativeTtlSeconds: 2,
    random: overrides.random,
  });
}

describe('read-through cache (real Redis)', () => {
  it('200 concurrent reads of a cold key make one origin load', async () => {
    const c = cache();
    let loads = 0;
    const load = async () => {
      loads++;
      await new Promise((r) => setTimeout(r, 30));
      return { v: 42 };
    };
    const results = await Promise.all(Array.from({ length: 200 }, () => c.get('k', load)));
    assert.equal(loads, 1);
    assert.ok(results.every((r) => r?.v === 42));
    assert.equal(c.stats.coalesced, 199);
    assert.deepEqual(await c.get('k', load), { v: 42 });
    assert.equal(loads, 1, 'the second read is a Redis hit');
    assert.equal(c.stats.hits, 1);
  });

  it('caches a missing id briefly (negative cache)', async () => {
    const c = cache();
    let loads = 0;
    const missing = async () => {
      loads++;
      return undefined;
    };
    assert.equal(await c.get('nope', missing), undefined);
    assert.equal(await c.get('nope', missing), undefined);
    assert.equal(loads, 1);
    assert.equal(c.stats.negativeHits, 1);
  });

  it('stores with a TTL jittered within ±10%', async () => {
    const lo = cache({ random: () => 0 });
    const hi = cache({ random: () => 0.999999 });
    await lo.get('a', async () => ({ v: 1 }));
    await hi.get('a', async () => ({ v: 1 }));
    const keys = await redis.client.keys('test:*:a');
    const ttls = await Promise.all(keys.map((k) => redis.client.ttl(k)));
    assert.ok(
      ttls.some((t) => t >= 53 && t <= 54),
      `a TTL near 54: ${ttls}`,
    );
    assert.ok(
      ttls.some((t) => t >= 65 && t <= 66),
      `a TTL near 66: ${ttls}`,
    );
    for (let i = 0; i < 1000; i++) {
      const t = jitteredTtl(100, 0.1, Math.random);
      assert.ok(t >= 90 && t <= 110, String(t));
    }
  });

  it('invalidate drops the entry, and a load racing an invalidation does not store stale data', async () => {
    const c = cache();
    await c.get('k', async () => ({ v: 1 }));
    await c.invalidate('k');
    let release: () => void = () => {};
    const slow = c.get('k', () => new Promise((r) => (release = () => r({ v: 2 }))));
    await new Promise((r) => setTimeout(r, 10));
    await c.invalidate('k');
    release();
    assert.deepEqual(await slow, { v: 2 });
    assert.deepEqual(await c.get('k', async () => ({ v: 3 })), { v: 3 }, 'the raced value was not stored');
  });

  it("another process's invalidation keeps a load that raced it from storing (a subgraph's read, a processor's apply)", async () => {
    // Two instances on one namespace: two processes of a region, each with its own memory.
    const namespace = `test:${randomUUID()}`;
    const reader = cache({ namespace });
    const processor = cache({ namespace });
    await reader.get('p', async () => ({ v: 1 }));
    await processor.invalidate('p');
    let release: () => void = () => {};
    let loading: () => void = () => {};
    const started = new Promise<void>((r) => (loading = r));
    // The reader loads the old row…
    const slow = reader.get(
      'p',
      () =>
        new Promise((r) => {
          loading();
          release = () => r({ v: 1 });
        }),
    );
    await started;
    // …while the other process applies the change and invalidates.
    await processor.invalidate('p');
    release();
    assert.deepEqual(await slow, { v: 1 });
    assert.equal(await redis.client.get(`${namespace}:p`), null, 'the old value was not stored');
    assert.deepEqual(await processor.get('p', async () => ({ v: 2 })), { v: 2 });
    assert.deepEqual(
      await reader.get('p', async () => ({ v: 99 })),
      { v: 2 },
      'a load after the invalidation is stored',
    );
    const ttl = await redis.client.ttl(`${namespace}!version:p`);
    assert.ok(ttl > 3000 && ttl <= 3600, `the version expires on its own (${ttl} s)`);
    // Several ids at once: each dropped, each version bumped.
    await reader.get('r', async () => ({ v: 5 }));
    await processor.invalidate('p', 'r');
    assert.deepEqual(await redis.client.mget(`${namespace}:p`, `${namespace}:r`), [null, null]);
    assert.deepEqual(await redis.client.mget(`${namespace}!version:p`, `${namespace}!version:r`), ['3', '1']);
  });

  it('an invalidation while a load is in flight lets the next read load afresh, and the first load does not evict it', async () => {
    const c = cache();
    let releaseFirst: () => void = () => {};
    const first = c.get('q', () => new Promise((r) => (releaseFirst = () => r({ v: 1 }))));
    await new Promise((r) => setTimeout(r, 10));
    await c.invalidate('q');
    let releaseSecond: () => void = () => {};
    let secondLoads = 0;
    const second = c.get('q', () => {
      secondLoads++;
      return new Promise((r) => (releaseSecond = () => r({ v: 2 })));
    });
    await new Promise((r) => setTimeout(r, 10));
    releaseFirst();
    await first;
    // A third read while the second load is still in flight joins it (the first's end did not drop it).
    const third = c.get('q', async () => ({ v: 3 }));
    releaseSecond();
    assert.deepEqual(await second, { v: 2 });
    assert.deepEqual(await third, { v: 2 });
    assert.equal(secondLoads, 1);
  });

  it("the same id in two tenants: invalidating one tenant's entry neither drops nor blocks the other's", async () => {
    // Keys as tenant-scoped stores build them (social's posts: `<tenant>/<id>`), the same post id in both.
    const namespace = `test:${randomUUID()}`;
    const reader = cache({ namespace });
    const writer = cache({ namespace });
    await reader.get('t1/post-1', async () => ({ v: 1 }));
    await reader.get('t2/post-1', async () => ({ v: 2 }));
    let release: () => void = () => {};
    let loading: () => void = () => {};
    const started = new Promise<void>((r) => (loading = r));
    await writer.invalidate('t2/post-1');
    // t2's entry reloads while t1's is invalidated: t2's load still stores, t1's entry is gone.
    const t2 = reader.get(
      't2/post-1',
      () =>
        new Promise((r) => {
          loading();
          release = () => r({ v: 22 });
        }),
    );
    await started;
    await writer.invalidate('t1/post-1');
    release();
    assert.deepEqual(await t2, { v: 22 });
    assert.equal(await redis.client.get(`${namespace}:t2/post-1`), JSON.stringify({ v: 22 }), "t2's load was stored");
    assert.equal(await redis.client.get(`${namespace}:t1/post-1`), null, "t1's entry was dropped");
    assert.equal(await redis.client.get(`${namespace}!version:t2/post-1`), '1', "only t2's own invalidation counts");
  });
});
