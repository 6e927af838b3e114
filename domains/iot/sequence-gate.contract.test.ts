/**
 * The SequenceGate contract (ports.ts, rules in sequence.ts), run by the reference gate (unit)
 * and the Redis gate (integration). Each test uses devices of its own.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { SequenceGate } from './ports.ts';
import { FIRST_SIGHT_GRACE_MS, FIRST_SIGHT_WAIT_MS, HASH_WINDOW, type SequenceItem } from './sequence.ts';

const fresh = () => `t.dev-${randomUUID().slice(0, 8)}`;
const item = (key: string, seq: number, over: Partial<SequenceItem> = {}): SequenceItem => ({
  key,
  seq,
  hash: `h${seq}`,
  redelivered: false,
  ...over,
});

/** `make(now)` builds a gate reading the time from `now()` (ms). */
export function sequenceGateContract(name: string, make: (now: () => number) => SequenceGate): void {
  describe(`SequenceGate contract (${name})`, () => {
    let t = 1_000_000;
    const now = () => t;
    const late = () => {
      t += FIRST_SIGHT_GRACE_MS + 1;
    };

    it('the next number goes; a gap waits until its predecessor settles', async () => {
      const gate = make(now);
      const d = fresh();
      assert.deepEqual(await gate.decide([item(d, 0), item(d, 1), item(d, 2), item(d, 3), item(d, 4)]), [
        'go',
        'go',
        'go',
        'go',
        'go',
      ]);
      await gate.settle([0, 1, 2, 3, 4].map((n) => item(d, n)));
      assert.deepEqual(await gate.decide([item(d, 5)]), ['go']);
      assert.deepEqual(await gate.decide([item(d, 7)]), ['wait']);
      assert.deepEqual(await gate.decide([item(d, 6)]), ['wait'], 'not before 5 is settled');
      await gate.settle([item(d, 5)]);
      assert.deepEqual(await gate.decide([item(d, 7), item(d, 6)]), ['wait', 'go']);
      await gate.settle([item(d, 6)]);
      assert.deepEqual(await gate.decide([item(d, 7)]), ['go']);
    });

    it('a batch of many numbers of a few devices: all go, and the last HASH_WINDOW payloads are known', async () => {
      const gate = make(now);
      const [a, b] = [fresh(), fresh()];
      const n = HASH_WINDOW + 172;
      const numbers = Array.from({ length: n }, (_, i) => i);
      // Interleaved devices, as a bridge's batch has them.
      const batch = numbers.flatMap((i) => [item(a, i), item(b, i)]);
      assert.deepEqual(new Set(await gate.decide(batch)), new Set(['go']));
      await gate.settle(batch);
      late();
      const first = n - HASH_WINDOW;
      assert.deepEqual(
        await gate.decide([item(a, n - 1), item(a, first), item(a, first - 1), item(b, n), item(b, n + 1)]),
        ['duplicate', 'duplicate', 'backwards', 'go', 'go'],
        'the newest HASH_WINDOW hashes kept, older ones dropped, the next numbers go',
      );
    });

    it('a late number settling after newer ones leaves their payloads known', async () => {
      const gate = make(now);
      const d = fresh();
      await gate.decide([item(d, 0)]);
      await gate.settle([item(d, 0), item(d, 1)]);
      late();
      await gate.skipTo(d, 4);
      const newer = Array.from({ length: HASH_WINDOW }, (_, i) => item(d, 4 + i));
      assert.deepEqual(new Set(await gate.decide(newer)), new Set(['go']));
      await gate.settle(newer);
      assert.deepEqual(await gate.decide([item(d, 3)]), ['late']);
      await gate.settle([item(d, 3)]);
      const newest = 3 + HASH_WINDOW;
      assert.deepEqual(
        await gate.decide([item(d, newest), item(d, newest, { hash: 'other' }), item(d, newest + 1)]),
        ['duplicate', 'backwards', 'go'],
        `${newest}'s payload still known after 3 came late`,
      );
    });

    it('consecutive numbers in one batch all go, devices independently', async () => {
      const gate = make(now);
      const [a, b] = [fresh(), fresh()];
      assert.deepEqual(await gate.decide([item(a, 0), item(b, 0)]), ['go', 'go']);
      await gate.settle([item(a, 0), item(b, 0)]);
      assert.deepEqual(await gate.decide([item(a, 1), item(b, 1), item(a, 2), item(a, 4), item(b, 2)]), [
        'go',
        'go',
        'go',
        'wait',
        'go',
      ]);
    });

    it('a repeat is a duplicate (redelivered, or the same payload); other content is backwards', async () => {
      const gate = make(now);
      const d = fresh();
      await gate.decide([item(d, 0)]);
      await gate.settle([item(d, 0), item(d, 1), item(d, 2), item(d, 3)]);
      late();
      assert.deepEqual(
        await gate.decide([
          item(d, 2),
          item(d, 2, { hash: 'other', redelivered: true }),
          item(d, 2, { hash: 'other' }),
          item(d, 0, { hash: 'other' }),
        ]),
        ['duplicate', 'duplicate', 'backwards', 'backwards'],
      );
      assert.deepEqual(await gate.decide([item(d, 4), item(d, 4)]), ['go', 'duplicate'], 'a repeat within one batch');
    });

    it('a new device starts at 0: its first messages keep their order even when they cross', async () => {
      const gate = make(now);
      const d = fresh();
      assert.deepEqual(await gate.decide([item(d, 1)]), ['wait']);
      assert.deepEqual(await gate.decide([item(d, 0)]), ['go']);
      await gate.settle([item(d, 0)]);
      assert.deepEqual(await gate.decide([item(d, 1)]), ['go']);
    });

    it('a device new here above 0 (failed over) waits a moment for lower numbers, then starts; they come late', async () => {
      const gate = make(now);
      const d = fresh();
      assert.deepEqual(await gate.decide([item(d, 5000)]), ['wait']);
      t += FIRST_SIGHT_WAIT_MS;
      assert.deepEqual(await gate.decide([item(d, 5000)]), ['go']);
      await gate.settle([item(d, 5000)]);
      assert.deepEqual(await gate.decide([item(d, 4999), item(d, 5001)]), ['late', 'go']);
    });

    it('given up numbers come late; the waiting one then goes', async () => {
      const gate = make(now);
      const d = fresh();
      await gate.decide([item(d, 0)]);
      await gate.settle([item(d, 0), item(d, 1)]);
      late();
      assert.deepEqual(await gate.decide([item(d, 4)]), ['wait']);
      await gate.skipTo(d, 4);
      assert.deepEqual(await gate.decide([item(d, 4)]), ['go']);
      await gate.settle([item(d, 4)]);
      assert.deepEqual(await gate.decide([item(d, 2), item(d, 3, { redelivered: true })]), ['late', 'late']);
      await gate.settle([item(d, 2)]);
      assert.deepEqual(await gate.decide([item(d, 2, { hash: 'x' })]), ['backwards'], 'late only once');
    });

    it('a refused message without a number fills one gap', async () => {
      const gate = make(now);
      const d = fresh();
      await gate.decide([item(d, 0)]);
      await gate.settle([item(d, 0), item(d, 1)]);
      assert.deepEqual(await gate.decide([item(d, 3)]), ['wait']);
      await gate.hole(d);
      assert.deepEqual(await gate.decide([item(d, 3)]), ['go']);
      await gate.settle([item(d, 3)]);
      assert.deepEqual(await gate.decide([item(d, 5)]), ['wait'], 'a hole fills one gap only');
      late();
      assert.deepEqual(
        await gate.decide([item(d, 2)]),
        ['late'],
        'should the number a hole stood for come, it is late',
      );
    });

    it('numbers in flight count as settled for the next batch, and change nothing until they settle', async () => {
      const gate = make(now);
      const [a, b] = [fresh(), fresh()];
      await gate.decide([item(a, 0), item(b, 0)]);
      await gate.settle([item(a, 0), item(b, 0)]);
      late();
      assert.deepEqual(await gate.decide([item(a, 1), item(a, 2)]), ['go', 'go']);
      // 1 and 2 are being produced: the next batch follows them.
      const flying = [item(a, 1), item(a, 2)];
      assert.deepEqual(
        await gate.decide(
          [
            item(a, 1),
            item(a, 2, { hash: 'other' }),
            item(a, 2, { redelivered: true }),
            item(a, 3),
            item(a, 4),
            item(a, 6),
            item(b, 1),
          ],
          flying,
        ),
        ['duplicate', 'backwards', 'duplicate', 'go', 'go', 'wait', 'go'],
      );
      await gate.hole(a);
      assert.deepEqual(
        await gate.decide([item(a, 4)], flying),
        ['wait'],
        'a gap a hole could fill waits while its device has numbers in flight (filling it would write)',
      );
      assert.deepEqual(await gate.decide([item(a, 3)]), ['wait'], 'without them, 3 still waits: nothing was recorded');
      await gate.settle(flying);
      assert.deepEqual(await gate.decide([item(a, 3), item(a, 5)]), ['go', 'go'], 'settled: the hole fills 4');
    });

    it('a device new here with numbers in flight is not recorded by the batch after them', async () => {
      const gate = make(now);
      const d = fresh();
      assert.deepEqual(await gate.decide([item(d, 0)]), ['go']);
      assert.deepEqual(await gate.decide([item(d, 1), item(d, 3)], [item(d, 0)]), ['go', 'wait']);
      t += FIRST_SIGHT_WAIT_MS;
      assert.deepEqual(
        await gate.decide([item(d, 3)], [item(d, 0), item(d, 1)]),
        ['wait'],
        'a first sight starts only from what is settled',
      );
      assert.deepEqual(await gate.decide([item(d, 0)]), ['go'], 'the gate still expects 0: nothing was recorded');
    });

    it('the same device id in two tenants is two devices, in one batch and with numbers in flight', async () => {
      const gate = make(now);
      const id = `pump-${randomUUID().slice(0, 8)}`;
      const [acme, globex] = [`acme.${id}`, `globex.${id}`];
      assert.deepEqual(await gate.decide([item(acme, 0), item(acme, 1), item(globex, 0)]), ['go', 'go', 'go']);
      // acme's 0 and 1 are being produced; globex's 0 is settled: neither counts for the other.
      await gate.settle([item(globex, 0)]);
      late();
      assert.deepEqual(
        await gate.decide(
          [item(acme, 2), item(globex, 1), item(globex, 2, { hash: 'other' }), item(globex, 4)],
          [item(acme, 0), item(acme, 1)],
        ),
        ['go', 'go', 'go', 'wait'],
      );
      assert.deepEqual(
        await gate.decide([item(globex, 0, { hash: 'other' }), item(acme, 0)], [item(acme, 0), item(acme, 1)]),
        ['backwards', 'duplicate'],
        "a repeat is judged against its own tenant's device",
      );
    });
  });
}
