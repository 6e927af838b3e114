import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHybridClock, decodeHlc, encodeHlc, isHlc, nextHlc } from './hlc.ts';

describe('hybrid logical clock', () => {
  it('encodes so that string order is (wall, counter, region) order', () => {
    const stamps = [
      { wall: 5, counter: 0, region: 'west' },
      { wall: 5, counter: 0, region: 'east' },
      { wall: 10, counter: 0, region: 'east' },
      { wall: 5, counter: 2, region: 'east' },
      { wall: 5, counter: 10, region: 'east' },
      { wall: 1_764_500_000_000, counter: 0, region: 'east' },
      { wall: 5, counter: 0, region: 'us' },
      { wall: 5, counter: 0, region: 'useast' },
    ];
    const byTuple = [...stamps].sort(
      (a, b) => a.wall - b.wall || a.counter - b.counter || (a.region < b.region ? -1 : 1),
    );
    assert.deepEqual([...stamps.map(encodeHlc)].sort(), byTuple.map(encodeHlc));
    const one = encodeHlc(stamps[0] as (typeof stamps)[0]);
    assert.equal(one, '000000000000000005.000000.west');
    assert.deepEqual(decodeHlc(one), stamps[0]);
    assert.equal(isHlc(one), true);
    assert.equal(isHlc('5.0.west'), false);
    assert.throws(() => encodeHlc({ wall: -1, counter: 0, region: 'east' }), RangeError);
    assert.throws(() => encodeHlc({ wall: 1, counter: 0, region: 'East' }), RangeError);
  });

  it('follows the wall clock, and counts past a floor that is ahead of it', () => {
    assert.equal(nextHlc(100, 'east'), encodeHlc({ wall: 100, counter: 0, region: 'east' }));
    const floor = encodeHlc({ wall: 200, counter: 3, region: 'west' });
    assert.equal(
      nextHlc(100, 'east', floor),
      encodeHlc({ wall: 200, counter: 4, region: 'east' }),
      'a lagging clock still sorts after',
    );
    assert.equal(nextHlc(300, 'east', floor), encodeHlc({ wall: 300, counter: 0, region: 'east' }));
    const full = encodeHlc({ wall: 200, counter: 999_999, region: 'west' });
    assert.equal(nextHlc(100, 'east', full), encodeHlc({ wall: 201, counter: 0, region: 'east' }));
  });

  it('a clock never repeats or goes back, and sorts after what it observed', () => {
    let wall = 1000;
    const clock = createHybridClock('east', () => wall);
    const a = clock.next();
    const b = clock.next();
    wall = 900; // the machine's clock stepped back
    const c = clock.next();
    assert.ok(a < b && b < c);
    const remote = encodeHlc({ wall: 5000, counter: 7, region: 'west' });
    clock.observe(remote);
    clock.observe('garbage');
    const d = clock.next();
    assert.ok(d > remote);
    assert.deepEqual(decodeHlc(d), { wall: 5000, counter: 8, region: 'east' });
  });
});
