/** Integration tests against the real local Redis (region east), keys under a per-run prefix. */
import assert from 'node:assert/strict';
import process from 'node:process';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createRateLimiter, type RateLimitDecision } from './limiter.ts';
import { createRedisStore, type RedisEvalClient } from './redis-store.ts';
import { storeContract } from './store.contract.test.ts';

const REDIS_URL = process.env.MERIDIAN_EAST_REDIS_URL ?? 'redis://127.0.0.1:41379';
const PREFIX = `meridian:test:edge-rl:${Date.now().toString(36)}:${Math.random().toString(36).slice(2)}:`;

function connect(): Redis {
  return new Redis(REDIS_URL, { maxRetriesPerRequest: 1, connectTimeout: 3000 });
}

const clients: Redis[] = [];
function client(): Redis {
  const c = connect();
  clients.push(c);
  return c;
}

before(async () => {
  assert.equal(await client().ping(), 'PONG', `Redis at ${REDIS_URL} must be up (npm run stack up)`);
});

after(async () => {
  const admin = clients[0];
  if (admin !== undefined) {
    // Only this run's keys: SCAN by the unique prefix, never FLUSH a shared Redis.
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 500);
      if (keys.length > 0) await admin.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  }
  await Promise.all(clients.map((c) => c.quit()));
});

storeContract('redis (caller clock)', () => createRedisStore({ client: client(), keyPrefix: PREFIX, clock: 'caller' }));

describe('redis store', () => {
  const policy = { capacity: 5, refillPerSecond: 1 };

  it('keys expire when their bucket would be full again, and a full bucket leaves no key', async () => {
    const redis = client();
    const store = createRedisStore({ client: redis, keyPrefix: PREFIX });
    await store.take('ttl', 2, policy, Date.now());
    const ttl = await redis.pttl(`${PREFIX}ttl`);
    assert.ok(ttl > 1000 && ttl <= 2000, `pttl ${ttl}`);
    await store.take('ttl', -2, policy, Date.now());
    assert.equal(await redis.exists(`${PREFIX}ttl`), 0);
  });

  it('loads the script with EVAL when the server does not know it (NOSCRIPT)', async () => {
    const redis = client();
    const calls: string[] = [];
    const flaky: RedisEvalClient = {
      evalsha: (async (...args: Parameters<Redis['evalsha']>) => {
        calls.push('evalsha');
        if (calls.length === 1) throw new Error('NOSCRIPT No matching script. Please use EVAL.');
        return redis.evalsha(...args);
      }) as Redis['evalsha'],
      eval: (async (...args: Parameters<Redis['eval']>) => {
        calls.push('eval');
        return redis.eval(...args);
      }) as Redis['eval'],
    };
    const store = createRedisStore({ client: flaky, keyPrefix: PREFIX });
    assert.equal((await store.take('noscript', 1, policy, 0)).remaining, 4);
    assert.equal((await store.take('noscript', 1, policy, 0)).remaining, 3);
    assert.deepEqual(calls, ['evalsha', 'eval', 'evalsha']);
  });

  it('two limiter instances sharing Redis enforce one budget (server clock)', async () => {
    // Two edge instances: separate connections, separate stores, one Redis.
    const policies = {
      tenant: { capacity: 100, refillPerSecond: 100 },
      client: { capacity: 5, refillPerSecond: 0.001 },
      anonymous: { capacity: 5, refillPerSecond: 0.001 },
    };
    const edges = [0, 1].map(() =>
      createRateLimiter({ store: createRedisStore({ client: client(), keyPrefix: PREFIX }), policies }),
    );
    const caller = { tenant: 'acme', subject: `user-${Math.random().toString(36).slice(2)}`, cost: 1 };
    const decisions: RateLimitDecision[] = await Promise.all(
      Array.from({ length: 12 }, (_, i) => (edges[i % 2] as (typeof edges)[number]).check(caller)),
    );
    const allowed = decisions.filter((d) => d.allowed);
    const denied = decisions.filter((d) => !d.allowed);
    assert.equal(allowed.length, 5);
    assert.equal(denied.length, 7);
    for (const d of denied) {
      assert.equal(d.status, 429);
      assert.deepEqual(d.violated, ['client']);
      assert.match(d.headers['Retry-After'] ?? '', /^\d+$/);
      assert.ok(Number(d.headers['Retry-After']) >= 1);
      assert.match(d.headers.RateLimit ?? '', /^"client";r=0;t=\d+$/);
    }
    for (const d of decisions) {
      assert.equal(d.headers['RateLimit-Policy'], '"tenant";q=100;w=1, "client";q=5;w=5000');
      assert.equal(d.degraded, false);
    }
    // Denied requests gave their tenant tokens back or never spent them: the tenant paid for 5.
    const tenantLeft = await edges[0]?.check({ tenant: 'acme', subject: 'someone-else', cost: 0 });
    assert.ok((tenantLeft?.buckets[0]?.result.remaining ?? 0) >= 95);
  });

  it('an expensive operation spends its cost across instances', async () => {
    const policies = {
      tenant: { capacity: 1000, refillPerSecond: 1 },
      client: { capacity: 10, refillPerSecond: 0.001 },
      anonymous: { capacity: 10, refillPerSecond: 0.001 },
    };
    const [a, b] = [0, 1].map(() =>
      createRateLimiter({ store: createRedisStore({ client: client(), keyPrefix: PREFIX }), policies }),
    ) as [ReturnType<typeof createRateLimiter>, ReturnType<typeof createRateLimiter>];
    const caller = { tenant: 't-cost', subject: `u-${Math.random().toString(36).slice(2)}` };
    const first = await a.check({ ...caller, cost: 7 });
    assert.equal(first.allowed, true);
    assert.match(first.headers.RateLimit ?? '', /"client";r=3;/);
    const second = await b.check({ ...caller, cost: 4 });
    assert.equal(second.allowed, false);
    assert.equal(second.status, 429);
    assert.equal((await b.check({ ...caller, cost: 3 })).allowed, true);
  });
});
