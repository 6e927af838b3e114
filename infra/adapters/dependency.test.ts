import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolvesWithin, withTimeout } from './dependency.ts';

const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
const after = (ms: number, value?: unknown) => new Promise((r) => setTimeout(() => r(value), ms));

describe('bounded waits', () => {
  it('resolvesWithin: true when the work resolves in time, false when it does not; no timer is left', async () => {
    const before = timers();
    assert.equal(await resolvesWithin(Promise.resolve('x'), 60_000), true);
    assert.equal(await resolvesWithin(after(5), 60_000), true);
    assert.equal(timers(), before, 'the 60 s timers were cleared (they would keep the process alive)');
    const slow = after(200);
    assert.equal(await resolvesWithin(slow, 10), false);
    await slow;
  });

  it('resolvesWithin: a rejection of the work is passed on', async () => {
    await assert.rejects(resolvesWithin(Promise.reject(new Error('boom')), 1000), /boom/);
  });

  it('withTimeout: the value in time, a named timeout error otherwise; no timer is left', async () => {
    const before = timers();
    assert.equal(await withTimeout(Promise.resolve(7), 60_000, 'quick'), 7);
    assert.equal(timers(), before);
    await assert.rejects(withTimeout(after(200), 10, 'slow thing'), /slow thing timed out after 10 ms/);
  });
});
