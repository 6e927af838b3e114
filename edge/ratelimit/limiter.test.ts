import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BucketResult } from './bucket.ts';
import { createRateLimiter, quotaExceededProblem, type RateLimiterOptions } from './limiter.ts';
import { createMemoryStore } from './memory-store.ts';
import type { RateLimitStore } from './store.ts';

const policies = {
  tenant: { capacity: 10, refillPerSecond: 1 },
  client: { capacity: 4, refillPerSecond: 1 },
  anonymous: { capacity: 2, refillPerSecond: 0.5 },
};

/** A limiter on a memory store with a fake clock. */
function limiter(extra: Partial<RateLimiterOptions> = {}) {
  const clock = { now: 1_000_000 };
  const rl = createRateLimiter({ store: createMemoryStore(), policies, now: () => clock.now, ...extra });
  return { rl, clock };
}

const alice = { tenant: 'acme', subject: 'alice' };

describe('rate limiter', () => {
  it('an authenticated caller spends from its client and its tenant bucket; headers on every decision', async () => {
    const { rl } = limiter();
    const d = await rl.check({ ...alice, ip: '203.0.113.1', cost: 1 });
    assert.equal(d.allowed, true);
    assert.equal(d.status, 200);
    assert.deepEqual(d.headers, {
      'RateLimit-Policy': '"tenant";q=10;w=10, "client";q=4;w=4',
      RateLimit: '"tenant";r=9;t=1, "client";r=3;t=1',
    });
    assert.deepEqual(d.violated, []);
    assert.equal(d.retryAfterSeconds, 0);
  });

  it('anonymous callers are limited per address, with the anonymous policy only', async () => {
    const { rl } = limiter();
    const a = await rl.check({ ip: '198.51.100.9', cost: 1 });
    assert.deepEqual(a.headers, { 'RateLimit-Policy': '"anonymous";q=2;w=4', RateLimit: '"anonymous";r=1;t=2' });
    await rl.check({ ip: '198.51.100.9', cost: 1 });
    const denied = await rl.check({ ip: '198.51.100.9', cost: 1 });
    assert.deepEqual([denied.allowed, denied.status, denied.headers['Retry-After']], [false, 429, '2']);
    assert.equal((await rl.check({ ip: '198.51.100.10', cost: 1 })).allowed, true, 'another address');
  });

  it('IPv6 callers in one /64 share a bucket', async () => {
    const { rl } = limiter();
    await rl.check({ ip: '2001:db8:1:2::a', cost: 1 });
    await rl.check({ ip: '2001:db8:1:2::b', cost: 1 });
    assert.equal((await rl.check({ ip: '2001:db8:1:2:ffff::c', cost: 1 })).allowed, false);
    assert.equal((await rl.check({ ip: '2001:db8:1:3::a', cost: 1 })).allowed, true);
  });

  it('a client that spends its bucket is denied without draining its tenant', async () => {
    const { rl } = limiter();
    for (let i = 0; i < 4; i++) assert.equal((await rl.check({ ...alice, cost: 1 })).allowed, true);
    for (let i = 0; i < 20; i++) {
      const d = await rl.check({ ...alice, cost: 1 });
      assert.equal(d.allowed, false);
      assert.deepEqual(d.violated, ['client']);
      assert.deepEqual(d.headers, {
        'RateLimit-Policy': '"tenant";q=10;w=10, "client";q=4;w=4',
        RateLimit: '"client";r=0;t=1',
        'Retry-After': '1',
      });
    }
    const bob = await rl.check({ tenant: 'acme', subject: 'bob', cost: 1 });
    assert.equal(bob.allowed, true);
    assert.match(bob.headers.RateLimit ?? '', /^"tenant";r=5;/, "tenant paid for alice's 4 and bob's 1 only");
  });

  it('when the tenant denies, the client is refunded and Retry-After follows the tenant', async () => {
    const { rl } = limiter();
    const users = ['u1', 'u2', 'u3', 'u4', 'u5'];
    for (const subject of users.slice(0, 3)) await rl.check({ tenant: 'acme', subject, cost: 3 });
    const d = await rl.check({ tenant: 'acme', subject: 'u4', cost: 3 });
    assert.equal(d.allowed, false);
    assert.deepEqual(d.violated, ['tenant']);
    assert.equal(d.retryAfterSeconds, 2);
    assert.deepEqual(d.headers, {
      'RateLimit-Policy': '"tenant";q=10;w=10, "client";q=4;w=4',
      RateLimit: '"tenant";r=1;t=2, "client";r=4;t=0',
      'Retry-After': '2',
    });
  });

  it('the same subject in two tenants, and tenant/subject pairs that read alike, spend separate buckets', async () => {
    const { rl } = limiter();
    for (let i = 0; i < 4; i++) await rl.check({ tenant: 'acme', subject: 'alice', cost: 1 });
    assert.equal((await rl.check({ tenant: 'acme', subject: 'alice', cost: 1 })).allowed, false);
    const other = await rl.check({ tenant: 'globex', subject: 'alice', cost: 1 });
    assert.equal(other.allowed, true, "globex's alice has a bucket of her own");
    assert.equal(other.headers.RateLimit, '"tenant";r=9;t=1, "client";r=3;t=1');
    // "a:b" + "c" and "a" + "b:c" must not meet in one key.
    for (let i = 0; i < 4; i++) await rl.check({ tenant: 'a:b', subject: 'c', cost: 1 });
    assert.equal((await rl.check({ tenant: 'a', subject: 'b:c', cost: 1 })).allowed, true);
  });

  it('cost > 1 spends more; an operation costing more than is left is denied, a cheaper one passes', async () => {
    const { rl, clock } = limiter();
    const big = await rl.check({ ...alice, cost: 3 });
    assert.match(big.headers.RateLimit ?? '', /"client";r=1;t=3$/);
    const denied = await rl.check({ ...alice, cost: 2 });
    assert.deepEqual([denied.allowed, denied.headers['Retry-After']], [false, '1']);
    assert.equal((await rl.check({ ...alice, cost: 1 })).allowed, true);
    clock.now += 4000;
    assert.equal((await rl.check({ ...alice, cost: 4 })).allowed, true, 'refilled');
  });

  it('cost 0 reads without spending', async () => {
    const { rl } = limiter();
    await rl.check({ ...alice, cost: 0 });
    assert.match((await rl.check({ ...alice, cost: 0 })).headers.RateLimit ?? '', /"client";r=4;t=0$/);
  });

  it('quotaExceededProblem is the draft §5.1 problem type', async () => {
    const { rl } = limiter();
    await rl.check({ ip: '192.0.2.1', cost: 2 });
    const d = await rl.check({ ip: '192.0.2.1', cost: 1 });
    assert.deepEqual(quotaExceededProblem(d), {
      type: 'https://iana.org/assignments/http-problem-types#quota-exceeded',
      title: 'Request cannot be satisfied as assigned quota has been exceeded',
      status: 429,
      detail: 'rate limit exceeded for anonymous; retry after 2 s',
      'violated-policies': ['anonymous'],
    });
  });

  it('a failing store falls back to the local store and reports the error', async () => {
    const errors: unknown[] = [];
    const broken: RateLimitStore = { take: () => Promise.reject(new Error('ECONNREFUSED')) };
    const { rl } = limiter({ store: broken, fallback: createMemoryStore(), onStoreError: (e) => errors.push(e) });
    const d = await rl.check({ ...alice, cost: 1 });
    assert.deepEqual([d.allowed, d.degraded], [true, true]);
    assert.equal(d.headers.RateLimit, '"tenant";r=9;t=1, "client";r=3;t=1');
    assert.equal(errors.length, 1, 'one failure per request: the second take goes straight to the fallback');
  });

  it('without a fallback a failing store lets the request through with the policy header only', async () => {
    const broken: RateLimitStore = { take: () => Promise.reject(new Error('down')) };
    const { rl } = limiter({ store: broken });
    const d = await rl.check({ ...alice, cost: 1 });
    assert.deepEqual(
      [d.allowed, d.degraded, d.headers],
      [true, true, { 'RateLimit-Policy': '"tenant";q=10;w=10, "client";q=4;w=4' }],
    );
  });

  it('a hung store times out instead of stalling the request', async () => {
    const hung: RateLimitStore = { take: () => new Promise<BucketResult>(() => {}) };
    const errors: unknown[] = [];
    const { rl } = limiter({ store: hung, storeTimeoutMs: 20, onStoreError: (e) => errors.push(e) });
    const started = Date.now();
    const d = await rl.check({ ip: '192.0.2.7', cost: 1 });
    assert.equal(d.allowed, true);
    assert.ok(Date.now() - started < 1000);
    assert.match(String(errors[0]), /no answer within 20 ms/);
  });

  it('rejects a bad cost and bad policies', async () => {
    const { rl } = limiter();
    await assert.rejects(rl.check({ ip: '192.0.2.1', cost: -1 }), RangeError);
    await assert.rejects(rl.check({ ip: '192.0.2.1', cost: Number.NaN }), RangeError);
    assert.throws(
      () =>
        createRateLimiter({
          store: createMemoryStore(),
          policies: { ...policies, client: { capacity: 1, refillPerSecond: 0 } },
        }),
      /policies.client.refillPerSecond/,
    );
  });

  it('policyHeader describes the policies a caller of a kind is under', () => {
    const { rl } = limiter();
    assert.equal(rl.policyHeader({}), '"anonymous";q=2;w=4');
    assert.equal(rl.policyHeader(alice), '"tenant";q=10;w=10, "client";q=4;w=4');
  });
});
