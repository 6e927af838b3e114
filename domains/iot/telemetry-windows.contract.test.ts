/**
 * The TelemetryWindows contract (ports.ts), run by every adapter's tests: memory (unit) and
 * PostgreSQL (integration). Each test uses a tenant of its own.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Reading } from './device.ts';
import type { TelemetryWindows } from './ports.ts';
import { aReading } from './testing.ts';
import { computeWindows, windowPoints } from './windows.ts';

const fresh = (prefix: string) => `${prefix}-${randomUUID().replaceAll('-', '').slice(0, 12)}`;

function readings(n: number): Reading[] {
  // Three minutes of readings, two metrics, values that make min/max/avg/last distinct.
  return Array.from({ length: n }, (_, i) => {
    const ts = new Date(Date.parse('2026-11-30T12:00:00.000Z') + i * 7_000).toISOString();
    return aReading({
      seq: i,
      ts,
      receivedAt: ts,
      metrics: { temperature: 20 + ((i * 37) % 11) / 2, humidity: 40 + (i % 5) },
    });
  });
}

export function telemetryWindowsContract(name: string, make: () => TelemetryWindows): void {
  describe(`TelemetryWindows contract (${name})`, () => {
    it('applies each event once and agrees with a recomputation, in any order', async () => {
      const store = make();
      const tenant = fresh('t');
      const consumer = fresh('c');
      const all = readings(30);
      const shuffled = [...all].sort((a, b) => ((a.seq * 7919) % 31) - ((b.seq * 7919) % 31));
      for (const r of shuffled) {
        assert.equal(await store.addOnce(consumer, eventId(tenant, r), tenant, 'd1', windowPoints(r)), true);
      }
      for (const r of all.slice(0, 5)) {
        assert.equal(await store.addOnce(consumer, eventId(tenant, r), tenant, 'd1', windowPoints(r)), false);
      }
      const expected = [...computeWindows(all).values()].filter((w) => w.metric === 'temperature');
      const got = await store.query(
        tenant,
        'd1',
        'temperature',
        '2026-11-30T11:00:00.000Z',
        '2026-11-30T13:00:00.000Z',
      );
      assert.equal(got.length, 4);
      assert.deepEqual(
        got.map((w) => [w.start, w.count, w.min, w.max, Number(w.sum.toFixed(6)), w.last, w.lastSeq]),
        expected
          .sort((a, b) => (a.start < b.start ? -1 : 1))
          .map((w) => [w.start, w.count, w.min, w.max, Number(w.sum.toFixed(6)), w.last, w.lastSeq]),
      );
    });

    it('many events in one call: each once (a repeat in the call or from before is skipped), same windows', async () => {
      const store = make();
      const tenant = fresh('t');
      const all = readings(30);
      const item = (r: Reading) => ({ eventId: eventId(tenant, r), tenant, deviceId: 'd1', points: windowPoints(r) });
      assert.equal(
        await store.addOnce('c', eventId(tenant, all[0] as Reading), tenant, 'd1', windowPoints(all[0] as Reading)),
        true,
      );
      const added = await store.addManyOnce('c', [...all.slice(0, 20), ...all.slice(5, 30)].map(item));
      assert.equal(added, 29);
      const expected = [...computeWindows(all).values()].filter((w) => w.metric === 'humidity');
      const got = await store.query(tenant, 'd1', 'humidity', '2026-11-30T11:00:00.000Z', '2026-11-30T13:00:00.000Z');
      assert.deepEqual(
        got.map((w) => [w.start, w.count, w.min, w.max, w.sum, w.last, w.lastSeq]),
        expected
          .sort((a, b) => (a.start < b.start ? -1 : 1))
          .map((w) => [w.start, w.count, w.min, w.max, w.sum, w.last, w.lastSeq]),
      );
      assert.equal(await store.addManyOnce('c', all.map(item)), 0);
    });

    it('ranges are [from, to) and per metric', async () => {
      const store = make();
      const tenant = fresh('t');
      const r = readings(1)[0] as Reading;
      assert.equal(await store.addOnce('a', eventId(tenant, r), tenant, 'd1', windowPoints(r)), true);
      const w = await store.query(tenant, 'd1', 'temperature', '2026-11-30T12:00:00.000Z', '2026-11-30T12:01:00.000Z');
      assert.equal(w.length, 1);
      assert.deepEqual(
        await store.query(tenant, 'd1', 'temperature', '2026-11-30T12:00:00.001Z', '2026-11-30T12:01:00.000Z'),
        [],
      );
      assert.deepEqual(
        await store.query(tenant, 'd1', 'pressure', '2026-11-30T11:00:00.000Z', '2026-11-30T13:00:00.000Z'),
        [],
      );
    });

    it('keeps devices and tenants apart: the same device id in two tenants', async () => {
      const store = make();
      const [t1, t2] = [fresh('t'), fresh('t')];
      const r = aReading({ ts: '2026-11-30T12:00:01.000Z', receivedAt: '2026-11-30T12:00:01.000Z', metrics: { x: 1 } });
      await store.addOnce('c', eventId(t1, r), t1, 'same', windowPoints(r));
      await store.addOnce('c', eventId(t2, r), t2, 'same', windowPoints({ ...r, metrics: { x: 5 } }));
      const a = await store.query(t1, 'same', 'x', '2026-11-30T12:00:00.000Z', '2026-11-30T12:01:00.000Z');
      const b = await store.query(t2, 'same', 'x', '2026-11-30T12:00:00.000Z', '2026-11-30T12:01:00.000Z');
      assert.deepEqual([a[0]?.max, b[0]?.max], [1, 5]);
    });
  });
}

function eventId(tenant: string, r: Reading): string {
  // Unique per (tenant, seq) in these tests: any UUID-shaped id will do.
  const hex = Buffer.from(`${tenant}:${r.seq}`).toString('hex').padEnd(32, '0').slice(-32);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
