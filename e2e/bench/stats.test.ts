import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { percentile, summarize } from './stats.ts';

describe('bench stats', () => {
  it('nearest-rank percentiles', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentile(xs, 50), 50);
    assert.equal(percentile(xs, 95), 95);
    assert.equal(percentile(xs, 99), 99);
    assert.equal(percentile(xs, 100), 100);
    assert.equal(percentile([7], 99), 7);
  });

  it('summarize sorts and reports n, mean and max', () => {
    const s = summarize([5, 1, 3]);
    assert.deepEqual([s.n, s.mean, s.p50, s.max], [3, 3, 3, 5]);
  });
});
