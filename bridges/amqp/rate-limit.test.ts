import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tokenBucket } from './rate-limit.ts';

describe('token bucket', () => {
  it('lets a burst of one second’s worth through at once, then paces at the rate', async () => {
    const bucket = tokenBucket(50);
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 50 }, () => bucket.take()));
    assert.ok(performance.now() - t0 < 50, 'the burst is immediate');
    const t1 = performance.now();
    await Promise.all(Array.from({ length: 25 }, () => bucket.take()));
    const took = performance.now() - t1;
    assert.ok(took >= 450 && took < 900, `25 more at 50/s take ~0.5 s, took ${took.toFixed(0)} ms`);
  });

  it('answers in call order', async () => {
    const bucket = tokenBucket(1000);
    const order: number[] = [];
    await Promise.all(Array.from({ length: 1200 }, (_, i) => bucket.take().then(() => order.push(i))));
    assert.deepEqual(
      order,
      Array.from({ length: 1200 }, (_, i) => i),
    );
  });
});
