import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parkDelay } from './dispatcher.ts';

describe('parking a task for a busy endpoint', () => {
  it('comes back about when the tasks ahead are done at the endpoint’s pace', () => {
    // 40 ahead, 4 at a time, 100 ms each: ~1 s.
    assert.equal(parkDelay(40, 4, 100, 30_000), 1000);
    assert.equal(parkDelay(400, 16, 5, 30_000), 125);
  });

  it('never sooner than 50 ms nor later than the cap', () => {
    assert.equal(parkDelay(1, 16, 1, 30_000), 50);
    assert.equal(parkDelay(10_000, 2, 15_000, 30_000), 30_000);
    assert.equal(parkDelay(3, 4, 0, 30_000), 50, 'no measurement yet');
  });
});
