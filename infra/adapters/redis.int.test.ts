import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { REGIONS, type Region, resolveEndpoints } from '../config/endpoints.ts';
import { createRedis, type RedisDependency } from './redis.ts';
import { closedPort, eventually, uniqueName } from './testing.ts';

describe('redis adapter', () => {
  const adapters = new Map<Region, RedisDependency>();
  const redis = (region: Region): RedisDependency => {
    const adapter = adapters.get(region);
    if (!adapter) throw new Error(`no redis adapter for ${region}`);
    return adapter;
  };

  before(() => {
    for (const region of REGIONS) {
      adapters.set(region, createRedis({ url: resolveEndpoints(region, process.env).redisUrl }));
    }
  });

  after(async () => {
    await Promise.all([...adapters.values()].map((adapter) => adapter.close()));
  });

  for (const region of REGIONS) {
    describe(region, () => {
      it('ping returns the server version', async () => {
        assert.match(await redis(region).ping(), /^\d+\.\d+\.\d+$/);
      });

      it('SET then GET returns the value', async () => {
        const { client } = redis(region);
        const key = uniqueName(`test:adapter:${region}`, ':');
        try {
          assert.equal(await client.set(key, `value in ${region}`), 'OK');
          assert.equal(await client.get(key), `value in ${region}`);
        } finally {
          await client.del(key);
        }
        assert.equal(await client.get(key), null);
      });

      it('a key with a TTL expires', async () => {
        const { client } = redis(region);
        const key = uniqueName(`test:adapter:${region}`, ':');
        try {
          assert.equal(await client.set(key, 'short-lived', 'PX', 400), 'OK');
          const ttl = await client.pttl(key);
          assert.ok(ttl > 0 && ttl <= 400, `PTTL should be in (0, 400], got ${ttl}`);
          assert.equal(await client.get(key), 'short-lived');
          await eventually(
            async () => {
              assert.equal(await client.get(key), null);
              assert.equal(await client.pttl(key), -2, 'PTTL of a missing key is -2');
            },
            { timeoutMs: 3000, intervalMs: 50 },
          );
        } finally {
          await client.del(key);
        }
      });

      it('a key without a TTL has none', async () => {
        const { client } = redis(region);
        const key = uniqueName(`test:adapter:${region}`, ':');
        try {
          await client.set(key, 'forever');
          assert.equal(await client.ttl(key), -1);
          assert.equal(await client.expire(key, 30), 1);
          const ttl = await client.ttl(key);
          assert.ok(ttl > 0 && ttl <= 30, `TTL should be in (0, 30], got ${ttl}`);
        } finally {
          await client.del(key);
        }
      });
    });
  }

  it('east and west are separate instances', async () => {
    const east = redis('east').client;
    const west = redis('west').client;
    const key = uniqueName('test:adapter:isolation', ':');
    try {
      await east.set(key, 'east-only', 'EX', 60);
      assert.equal(await east.get(key), 'east-only');
      assert.equal(await west.get(key), null, 'a key set in east must not exist in west');
      assert.equal(await west.exists(key), 0);

      await west.set(key, 'west-only', 'EX', 60);
      assert.equal(await east.get(key), 'east-only', 'writing in west must not change east');
      assert.equal(await west.get(key), 'west-only');
    } finally {
      await Promise.all([east.del(key), west.del(key)]);
    }
  });

  it('ping rejects when the server is unreachable', async () => {
    const down = createRedis({ url: `redis://127.0.0.1:${await closedPort()}` });
    try {
      // ioredis reports the refused connection as "Connection is closed." to the pending command.
      await assert.rejects(down.ping(), /ECONNREFUSED|Connection is closed/);
    } finally {
      await down.close();
    }
  });
});
