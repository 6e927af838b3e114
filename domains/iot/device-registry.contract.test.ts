/**
 * The DeviceRegistry, DeviceActivity and DeviceReplica contract (ports.ts), run by every
 * adapter's tests: memory (unit) and PostgreSQL (integration). Every test uses tenants of its
 * own, so the real store can be shared between tests and runs.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { DomainEvent } from '../shared/events.ts';
import type { Device } from './device.ts';
import { IOT_EVENTS } from './events.ts';
import type { DeviceActivity, DeviceRegistry, DeviceReplica } from './ports.ts';
import { deviceRecord } from './registry.ts';
import { aDevice, aReading } from './testing.ts';

export interface DeviceRegistryFixture {
  readonly registry: DeviceRegistry;
  readonly activity: DeviceActivity;
  readonly replica: DeviceReplica;
  /** Types of the events committed for the device (subject = its MQTT id), oldest first. */
  eventTypes(mqttId: string): Promise<string[]>;
  /** The stored credential hash. */
  hashOf(tenant: string, id: string): Promise<string | undefined>;
}

const fresh = (prefix: string) => `${prefix}-${randomUUID().replaceAll('-', '').slice(0, 12)}`;
const NOW = '2026-11-30T12:00:00.000Z';
const LATER = '2026-11-30T12:05:00.000Z';

function registered(d: Device): DomainEvent {
  return { type: IOT_EVENTS.deviceRegistered, subject: `${d.tenant}.${d.id}`, tenant: d.tenant, data: deviceRecord(d) };
}

async function aRegistered(f: DeviceRegistryFixture, overrides: Partial<Device> = {}): Promise<Device> {
  const d = aDevice({ tenant: fresh('t'), id: fresh('d'), ...overrides });
  assert.equal(await f.registry.reserve(d.tenant, d.id, NOW), true);
  await f.registry.activate(d, 'hash-1', [registered(d)]);
  return d;
}

export function deviceRegistryContract(name: string, make: () => DeviceRegistryFixture): void {
  describe(`DeviceRegistry contract (${name})`, () => {
    it('a reserved id is not a device, cannot be reserved again, and becomes one on activate', async () => {
      const f = make();
      const d = aDevice({ tenant: fresh('t'), id: 'sensor-1' });
      assert.equal(await f.registry.reserve(d.tenant, d.id, NOW), true);
      assert.equal(await f.registry.get(d.tenant, d.id), undefined);
      assert.deepEqual(await f.registry.list(d.tenant, 10), []);
      assert.equal(await f.registry.reserve(d.tenant, d.id, NOW), false);
      await f.registry.activate(d, 'hash-1', [registered(d)]);
      assert.deepEqual(await f.registry.get(d.tenant, d.id), d);
      assert.equal(await f.registry.reserve(d.tenant, d.id, LATER), false, 'a device is never reserved again');
      assert.deepEqual(await f.eventTypes(`${d.tenant}.${d.id}`), [IOT_EVENTS.deviceRegistered]);
      assert.equal(await f.hashOf(d.tenant, d.id), 'hash-1');
    });

    it('a released reservation frees the id; a stale one (a dead registrar) may be taken over', async () => {
      const f = make();
      const tenant = fresh('t');
      assert.equal(await f.registry.reserve(tenant, 'a', NOW), true);
      await f.registry.release(tenant, 'a');
      assert.equal(await f.registry.reserve(tenant, 'a', NOW), true);
      assert.equal(await f.registry.reserve(tenant, 'a', '2026-11-30T12:00:30.000Z'), false);
      assert.equal(await f.registry.reserve(tenant, 'a', '2026-11-30T12:01:01.000Z'), true);
    });

    it('release never removes a device', async () => {
      const f = make();
      const d = await aRegistered(f);
      await f.registry.release(d.tenant, d.id);
      assert.deepEqual(await f.registry.get(d.tenant, d.id), d);
    });

    it('the same id in two tenants is two devices', async () => {
      const f = make();
      const [t1, t2] = [fresh('t'), fresh('t')];
      const a = aDevice({ tenant: t1, id: 'shared-id', name: 'A' });
      const b = aDevice({ tenant: t2, id: 'shared-id', name: 'B' });
      for (const d of [a, b]) {
        assert.equal(await f.registry.reserve(d.tenant, d.id, NOW), true);
        await f.registry.activate(d, `hash-${d.name}`, [registered(d)]);
      }
      assert.equal((await f.registry.get(t1, 'shared-id'))?.name, 'A');
      assert.equal((await f.registry.get(t2, 'shared-id'))?.name, 'B');
      assert.deepEqual(
        (await f.registry.list(t1, 10)).map((d) => d.name),
        ['A'],
      );
      await f.registry.update(t2, 'shared-id', (d) => ({ value: { ...d, state: 'REVOKED', version: 2 }, events: [] }));
      assert.equal((await f.registry.get(t1, 'shared-id'))?.state, 'ACTIVE');
      assert.equal(await f.hashOf(t1, 'shared-id'), 'hash-A');
    });

    it('lists in id order, pages after a cursor, and finds active devices by model', async () => {
      const f = make();
      const tenant = fresh('t');
      for (const [id, model] of [
        ['c', 'm1'],
        ['a', 'm1'],
        ['b', 'm2'],
        ['d', 'm1'],
      ] as const) {
        await f.registry.reserve(tenant, id, NOW);
        await f.registry.activate(aDevice({ tenant, id, model }), 'h', []);
      }
      await f.registry.update(tenant, 'd', (d) => ({ value: { ...d, state: 'REVOKED', version: 2 }, events: [] }));
      assert.deepEqual(
        (await f.registry.list(tenant, 2)).map((d) => d.id),
        ['a', 'b'],
      );
      assert.deepEqual(
        (await f.registry.list(tenant, 10, 'b')).map((d) => d.id),
        ['c', 'd'],
      );
      assert.deepEqual(
        (await f.registry.listByModel(tenant, 'm1', 10)).map((d) => d.id),
        ['a', 'c'],
      );
    });

    it('update commits the new state, the new hash and the events together; undefined changes nothing', async () => {
      const f = make();
      const d = await aRegistered(f);
      const out = await f.registry.update(d.tenant, d.id, (cur) => {
        const next = { ...cur, credentialVersion: 2, version: 2 };
        const data = deviceRecord(next);
        return {
          value: next,
          credentialHash: 'hash-2',
          events: [{ type: IOT_EVENTS.credentialsRotated, subject: `${d.tenant}.${d.id}`, tenant: d.tenant, data }],
        };
      });
      assert.equal(out?.credentialVersion, 2);
      assert.equal((await f.registry.get(d.tenant, d.id))?.credentialVersion, 2);
      assert.equal(await f.hashOf(d.tenant, d.id), 'hash-2');
      assert.deepEqual(await f.eventTypes(`${d.tenant}.${d.id}`), [
        IOT_EVENTS.deviceRegistered,
        IOT_EVENTS.credentialsRotated,
      ]);
      const same = await f.registry.update(d.tenant, d.id, () => undefined);
      assert.equal(same?.version, 2);
      assert.equal(await f.registry.update(d.tenant, 'nope', () => undefined), undefined);
    });

    it('a change that throws commits nothing', async () => {
      const f = make();
      const d = await aRegistered(f);
      await assert.rejects(
        f.registry.update(d.tenant, d.id, () => {
          throw new Error('boom');
        }),
      );
      assert.deepEqual(await f.registry.get(d.tenant, d.id), d);
    });

    it('activity: last seen only moves forward, the latest reading is the highest seq, status by time', async () => {
      const f = make();
      const d = await aRegistered(f);
      const r2 = aReading({ seq: 2, receivedAt: '2026-11-30T12:00:02.000Z' });
      const r1 = aReading({ seq: 1, receivedAt: '2026-11-30T12:00:03.000Z' });
      await f.activity.recordReading(d.tenant, d.id, r2);
      await f.activity.recordReading(d.tenant, d.id, r1);
      await f.activity.recordReading(d.tenant, d.id, r2);
      let now = await f.registry.get(d.tenant, d.id);
      assert.equal(now?.latestReading?.seq, 2);
      assert.deepEqual(now?.latestReading, r2);
      assert.equal(now?.lastSeenAt, '2026-11-30T12:00:03.000Z');
      await f.activity.recordStatus(d.tenant, d.id, true, '2026-11-30T12:00:04.000Z');
      await f.activity.recordStatus(d.tenant, d.id, false, '2026-11-30T12:00:06.000Z');
      await f.activity.recordStatus(d.tenant, d.id, true, '2026-11-30T12:00:05.000Z');
      now = await f.registry.get(d.tenant, d.id);
      assert.equal(now?.online, false, 'an older report does not undo a newer one');
      assert.equal(now?.lastSeenAt, '2026-11-30T12:00:06.000Z');
      await f.activity.recordStatus(d.tenant, 'unknown', true, NOW);
      await f.activity.recordReading(d.tenant, 'unknown', r1);
      assert.equal(await f.registry.get(d.tenant, 'unknown'), undefined);
    });

    it('activity in bulk: the same outcome as one by one, for several devices at once', async () => {
      const f = make();
      const a = await aRegistered(f);
      const b = await aRegistered(f);
      const r = (seq: number, at: string) => aReading({ seq, receivedAt: at });
      await f.activity.recordReadings([
        { tenant: a.tenant, id: a.id, reading: r(5, '2026-11-30T12:00:05.000Z') },
        { tenant: b.tenant, id: b.id, reading: r(1, '2026-11-30T12:00:09.000Z') },
        { tenant: a.tenant, id: a.id, reading: r(4, '2026-11-30T12:00:07.000Z') },
        { tenant: a.tenant, id: 'unknown', reading: r(9, '2026-11-30T12:00:09.000Z') },
      ]);
      await f.activity.recordReadings([{ tenant: a.tenant, id: a.id, reading: r(3, '2026-11-30T12:00:01.000Z') }]);
      const [da, db] = [await f.registry.get(a.tenant, a.id), await f.registry.get(b.tenant, b.id)];
      assert.deepEqual([da?.latestReading?.seq, da?.lastSeenAt], [5, '2026-11-30T12:00:07.000Z']);
      assert.deepEqual([db?.latestReading?.seq, db?.lastSeenAt], [1, '2026-11-30T12:00:09.000Z']);
    });

    it('replica: a newer version wins, an older one or a repeat changes nothing', async () => {
      const f = make();
      const tenant = fresh('t');
      const v1 = aDevice({ tenant, id: 'mirrored', version: 1 });
      const { online: _o, lastSeenAt: _l, latestReading: _r, updatedAt: _u, ...record } = v1;
      await f.replica.apply(tenant, record);
      assert.equal((await f.registry.get(tenant, 'mirrored'))?.state, 'ACTIVE');
      await f.replica.apply(tenant, { ...record, state: 'REVOKED', revokedAt: LATER, version: 3 });
      await f.replica.apply(tenant, { ...record, credentialVersion: 2, version: 2 });
      await f.replica.apply(tenant, record);
      const d = await f.registry.get(tenant, 'mirrored');
      assert.deepEqual([d?.state, d?.version, d?.credentialVersion], ['REVOKED', 3, 1]);
      await f.replica.setFirmware(tenant, 'mirrored', '2.0.0');
      assert.equal((await f.registry.get(tenant, 'mirrored'))?.firmwareVersion, '2.0.0');
    });
  });
}
