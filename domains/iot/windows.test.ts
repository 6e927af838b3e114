import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rejectsWith } from '../shared/testing.ts';
import { aReading } from './testing.ts';
import { computeWindows, GRACE_MS, isLate, telemetryRange, windowPoints, windowStart } from './windows.ts';

describe('one-minute windows', () => {
  it('a reading falls in the minute of its device time', () => {
    assert.equal(windowStart('2026-11-30T12:03:59.999Z'), '2026-11-30T12:03:00.000Z');
    assert.equal(windowStart('2026-11-30T12:04:00.000Z'), '2026-11-30T12:04:00.000Z');
    assert.equal(windowStart('2026-11-30T13:04:30+01:00'), '2026-11-30T12:04:00.000Z');
  });

  it('counts a reading that arrives within the grace period after its window closed, not later', () => {
    const ts = '2026-11-30T12:00:30.000Z';
    const end = Date.parse('2026-11-30T12:01:00.000Z');
    assert.equal(isLate({ ts, receivedAt: new Date(end + GRACE_MS).toISOString() }), false);
    assert.equal(isLate({ ts, receivedAt: new Date(end + GRACE_MS + 1).toISOString() }), true);
    assert.deepEqual(windowPoints(aReading({ ts, receivedAt: new Date(end + GRACE_MS + 1).toISOString() })), []);
  });

  it('count, min, max, sum and last (latest device time, then seq) do not depend on the order', () => {
    const readings = [
      aReading({ seq: 1, ts: '2026-11-30T12:00:01.000Z', receivedAt: '2026-11-30T12:00:02.000Z', metrics: { t: 5 } }),
      aReading({ seq: 2, ts: '2026-11-30T12:00:40.000Z', receivedAt: '2026-11-30T12:00:41.000Z', metrics: { t: -3 } }),
      aReading({ seq: 3, ts: '2026-11-30T12:00:40.000Z', receivedAt: '2026-11-30T12:00:42.000Z', metrics: { t: 9 } }),
      aReading({ seq: 4, ts: '2026-11-30T12:01:10.000Z', receivedAt: '2026-11-30T12:01:11.000Z', metrics: { t: 1 } }),
    ];
    const forward = [...computeWindows(readings).values()];
    const backward = [...computeWindows([...readings].reverse()).values()];
    const key = (w: (typeof forward)[number]) => `${w.start}`;
    assert.deepEqual(
      forward.sort((a, b) => key(a).localeCompare(key(b))),
      backward.sort((a, b) => key(a).localeCompare(key(b))),
    );
    const first = forward[0];
    assert.deepEqual(
      [first?.start, first?.count, first?.min, first?.max, first?.sum, first?.last, first?.lastSeq],
      ['2026-11-30T12:00:00.000Z', 3, -3, 9, 11, 9, 3],
    );
  });

  it('checks a query: metric, ISO times, from before to, at most a day', () => {
    assert.deepEqual(telemetryRange('t', '2026-11-30T12:00:00Z', '2026-11-30T13:00:00Z'), {
      metric: 't',
      from: '2026-11-30T12:00:00.000Z',
      to: '2026-11-30T13:00:00.000Z',
    });
    const cases: Array<[string, string, string, string]> = [
      ['9t', '2026-11-30T12:00:00Z', '2026-11-30T13:00:00Z', 'metric'],
      ['t', 'noon', '2026-11-30T13:00:00Z', 'from'],
      ['t', '2026-11-30T12:00:00Z', '2026-11-30T12:00:00Z', 'to'],
      ['t', '2026-11-28T12:00:00Z', '2026-11-30T12:00:00Z', 'to'],
    ];
    for (const [m, f, t, field] of cases)
      assert.throws(() => telemetryRange(m, f, t), rejectsWith('BAD_USER_INPUT', { field }));
  });
});
