/**
 * The RateLimitStore contract, run by every adapter's tests (memory and real Redis). Not a
 * test file by itself: it exports the suite; the `.test.ts` suffix marks it as test-only code.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BucketPolicy } from './bucket.ts';
import type { RateLimitStore } from './store.ts';

const POLICY: BucketPolicy = { capacity: 5, refillPerSecond: 1 };
const T0 = 1_800_000_000_000;

let counter = 0;
/** A key no other test (or earlier run against the same Redis) has used. */
function freshKey(): string {
  counter += 1;
  return `contract:${Date.now().toString(36)}:${Math.random().toString(36).slice(2)}:${counter}`;
}

/** Registers the contract suite for one adapter; `store()` is called once per test. */
export function storeContract(name: string, store: () => RateLimitStore): void {
  describe(`RateLimitStore contract: ${name}`, () => {
    it('a new key is a full bucket', async () => {
      const result = await store().take(freshKey(), 1, POLICY, T0);
      assert.deepEqual(result, { allowed: true, remaining: 4, resetSeconds: 1, retryAfterSeconds: 0 });
    });

    it('allows exactly capacity unit takes, then denies with the wait for one token', async () => {
      const s = store();
      const key = freshKey();
      for (let i = 4; i >= 0; i--) assert.equal((await s.take(key, 1, POLICY, T0)).remaining, i);
      assert.deepEqual(await s.take(key, 1, POLICY, T0), {
        allowed: false,
        remaining: 0,
        resetSeconds: 5,
        retryAfterSeconds: 1,
      });
    });

    it('a denied take spends nothing, and tokens refill with time', async () => {
      const s = store();
      const key = freshKey();
      assert.equal((await s.take(key, 5, POLICY, T0)).allowed, true);
      for (let i = 0; i < 3; i++) assert.equal((await s.take(key, 1, POLICY, T0 + 500)).allowed, false);
      const later = await s.take(key, 1, POLICY, T0 + 1000);
      assert.deepEqual([later.allowed, later.remaining], [true, 0]);
      assert.equal((await s.take(key, 2, POLICY, T0 + 3000)).allowed, true);
    });

    it('refill stops at capacity', async () => {
      const s = store();
      const key = freshKey();
      await s.take(key, 5, POLICY, T0);
      const result = await s.take(key, 1, POLICY, T0 + 3_600_000);
      assert.deepEqual([result.allowed, result.remaining], [true, 4]);
    });

    it('cost > 1 spends more; a cost above what is left is denied while a cheaper one passes', async () => {
      const s = store();
      const key = freshKey();
      assert.equal((await s.take(key, 3, POLICY, T0)).remaining, 2);
      const denied = await s.take(key, 3, POLICY, T0);
      assert.deepEqual([denied.allowed, denied.remaining, denied.retryAfterSeconds], [false, 2, 1]);
      assert.equal((await s.take(key, 2, POLICY, T0)).allowed, true);
    });

    it('a negative cost gives tokens back, capped at capacity', async () => {
      const s = store();
      const key = freshKey();
      await s.take(key, 4, POLICY, T0);
      assert.equal((await s.take(key, -2, POLICY, T0)).remaining, 3);
      assert.equal((await s.take(key, -10, POLICY, T0)).remaining, 5);
    });

    it('a clock going backwards adds no tokens', async () => {
      const s = store();
      const key = freshKey();
      await s.take(key, 5, POLICY, T0);
      assert.equal((await s.take(key, 1, POLICY, T0 - 60_000)).allowed, false);
    });

    it('keys are independent', async () => {
      const s = store();
      const [a, b] = [freshKey(), freshKey()];
      await s.take(a, 5, POLICY, T0);
      assert.equal((await s.take(b, 1, POLICY, T0)).remaining, 4);
    });

    it('concurrent takes on one key never spend the same token', async () => {
      const s = store();
      const key = freshKey();
      const results = await Promise.all(Array.from({ length: 20 }, () => s.take(key, 1, POLICY, T0)));
      assert.equal(results.filter((r) => r.allowed).length, 5);
    });

    it('fractional refill rates and costs', async () => {
      const s = store();
      const key = freshKey();
      const slow: BucketPolicy = { capacity: 2, refillPerSecond: 0.1 };
      await s.take(key, 2, slow, T0);
      const denied = await s.take(key, 0.5, slow, T0 + 1000);
      assert.deepEqual([denied.allowed, denied.retryAfterSeconds, denied.resetSeconds], [false, 4, 19]);
      assert.equal((await s.take(key, 0.5, slow, T0 + 5000)).allowed, true);
    });
  });
}
