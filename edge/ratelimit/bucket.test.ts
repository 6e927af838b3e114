import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertPolicy, type BucketState, msUntilFull, takeFromBucket, tokensAt } from './bucket.ts';

const policy = { capacity: 10, refillPerSecond: 2 };

/** A fake clock and the bucket state threaded through takes. */
function bucket() {
  let state: BucketState | undefined;
  let now = 0;
  return {
    take(cost = 1) {
      const out = takeFromBucket(state, policy, cost, now);
      state = out.state;
      return out.result;
    },
    advance(ms: number) {
      now += ms;
    },
  };
}

describe('token bucket math', () => {
  it('starts full and spends per take', () => {
    const b = bucket();
    assert.deepEqual(b.take(), { allowed: true, remaining: 9, resetSeconds: 1, retryAfterSeconds: 0 });
    assert.deepEqual(b.take(4), { allowed: true, remaining: 5, resetSeconds: 3, retryAfterSeconds: 0 });
  });

  it('denies when empty, with Retry-After = time for the missing tokens', () => {
    const b = bucket();
    b.take(10);
    assert.deepEqual(b.take(), { allowed: false, remaining: 0, resetSeconds: 5, retryAfterSeconds: 1 });
    assert.deepEqual(b.take(5), { allowed: false, remaining: 0, resetSeconds: 5, retryAfterSeconds: 3 });
  });

  it('refills continuously and never beyond capacity', () => {
    const b = bucket();
    b.take(10);
    b.advance(250);
    assert.equal(b.take().allowed, false, 'half a token is not a token');
    b.advance(250);
    assert.deepEqual(b.take(), { allowed: true, remaining: 0, resetSeconds: 5, retryAfterSeconds: 0 });
    b.advance(3_600_000);
    assert.equal(b.take().remaining, 9);
  });

  it('a denied take leaves the bucket as it was (retrying does not push recovery out)', () => {
    const b = bucket();
    b.take(10);
    for (let i = 0; i < 100; i++) b.take();
    b.advance(500);
    assert.equal(b.take().allowed, true);
  });

  it('a cost above capacity is never allowed; Retry-After is the time to a full bucket', () => {
    const b = bucket();
    b.take(4);
    assert.deepEqual(b.take(11), { allowed: false, remaining: 6, resetSeconds: 2, retryAfterSeconds: 2 });
    assert.deepEqual(bucket().take(11), { allowed: false, remaining: 10, resetSeconds: 0, retryAfterSeconds: 1 });
  });

  it('negative cost refunds up to capacity; cost 0 only reads', () => {
    const b = bucket();
    b.take(6);
    assert.equal(b.take(-2).remaining, 6);
    assert.equal(b.take(0).remaining, 6);
    assert.equal(b.take(-100).remaining, 10);
  });

  it('a clock going backwards adds nothing', () => {
    const state = { tokens: 1, updatedAtMs: 10_000 };
    assert.equal(tokensAt(state, policy, 5_000), 1);
    assert.equal(tokensAt(undefined, policy, 0), 10);
  });

  it('float noise does not add a second: 0.1-per-second refill of 0.3 tokens takes 3 s', () => {
    const slow = { capacity: 1, refillPerSecond: 0.1 };
    const { result } = takeFromBucket({ tokens: 0, updatedAtMs: 0 }, slow, 0.3, 0);
    assert.equal(result.retryAfterSeconds, 3);
  });

  it('msUntilFull says when a state can be forgotten', () => {
    assert.equal(msUntilFull(10, policy), 0);
    assert.equal(msUntilFull(9, policy), 500);
    assert.equal(msUntilFull(0, policy), 5000);
  });

  it('rejects policies that never refill or hold nothing', () => {
    assert.throws(() => assertPolicy({ capacity: 0, refillPerSecond: 1 }, 'tenant'), /tenant.capacity/);
    assert.throws(() => assertPolicy({ capacity: 1, refillPerSecond: 0 }), /refillPerSecond/);
    assert.throws(() => assertPolicy({ capacity: Number.NaN, refillPerSecond: 1 }), /capacity/);
  });
});
