import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rejectsWith } from '../shared/testing.ts';
import { IOT_EVENTS } from './events.ts';
import {
  getDevice,
  listDevices,
  type RegistryDeps,
  registerDevice,
  revokeDevice,
  rotateCredentials,
} from './registry.ts';
import { anActor, counterIds, fixedClock, memoryAccess, memoryRegistry, plainMinter } from './testing.ts';
import { deviceGrants } from './topics.ts';

function setup(opts: { brokerDown?: () => boolean } = {}) {
  const reg = memoryRegistry();
  const access = memoryAccess({ failing: opts.brokerDown });
  const deps: RegistryDeps = {
    registry: reg.registry,
    access: access.access,
    minter: plainMinter,
    brokers: {
      brokers: () => [
        { region: 'east', url: 'mqtt://east' },
        { region: 'west', url: 'mqtt://west' },
      ],
    },
    clock: fixedClock,
    ids: counterIds(),
    region: 'east',
  };
  return { deps, reg, access };
}

const input = { id: 'sensor-1', name: 'Sensor 1', model: 'th-100', firmwareVersion: '1.0.0' };

describe('registerDevice', () => {
  it('returns the credentials once, stores only their hash, and grants the device its own topics at the broker', async () => {
    const { deps, reg, access } = setup();
    const { device, credentials } = await registerDevice(deps, anActor(), input);
    assert.deepEqual([device.id, device.tenant, device.state, device.version], ['sensor-1', 't1', 'ACTIVE', 1]);
    assert.equal(credentials.username, 't1.sensor-1');
    assert.equal(credentials.clientId, 't1.sensor-1');
    assert.equal(credentials.topics.telemetry, 'devices/t1.sensor-1/telemetry');
    assert.deepEqual(
      credentials.brokers.map((b) => b.region),
      ['east', 'west'],
    );
    assert.equal(reg.registry.hashOf('t1', 'sensor-1'), `hash(${credentials.password})`);
    assert.ok(access.login('t1.sensor-1', credentials.password));
    assert.deepEqual(access.grantsOf('t1.sensor-1'), deviceGrants('t1.sensor-1'));
    assert.deepEqual(
      reg.outbox.map((e) => [e.type, e.subject, e.tenant]),
      [[IOT_EVENTS.deviceRegistered, 't1.sensor-1', 't1']],
    );
    assert.ok(!JSON.stringify(reg.outbox).includes(credentials.password), 'the event carries no credential');
  });

  it('generates an id when none is given', async () => {
    const { deps } = setup();
    const { device } = await registerDevice(deps, anActor(), { ...input, id: null });
    assert.match(device.id, /^00000000-0000-4000-8000-\d{12}$/);
  });

  it('refuses a taken id, bad input and a missing scope, changing nothing', async () => {
    const { deps, reg, access } = setup();
    await registerDevice(deps, anActor(), input);
    const before = JSON.stringify(reg.outbox);
    await assert.rejects(
      registerDevice(deps, anActor(), input),
      rejectsWith('DEVICE_ALREADY_EXISTS', { deviceId: 'sensor-1' }),
    );
    await assert.rejects(
      registerDevice(deps, anActor(), { ...input, id: 'a b' }),
      rejectsWith('BAD_USER_INPUT', { field: 'id' }),
    );
    await assert.rejects(
      registerDevice(deps, anActor(), { ...input, id: 'x', model: '' }),
      rejectsWith('BAD_USER_INPUT', { field: 'model' }),
    );
    await assert.rejects(
      registerDevice(deps, anActor({ scopes: ['devices:read'] }), { ...input, id: 'y' }),
      rejectsWith('FORBIDDEN'),
    );
    assert.equal(JSON.stringify(reg.outbox), before);
    assert.equal(access.grantsOf('t1.x'), undefined);
    assert.equal(access.grantsOf('t1.y'), undefined);
  });

  it('a broker failure releases the reservation: nothing is registered and the id can be tried again', async () => {
    let down = true;
    const { deps, reg } = setup({ brokerDown: () => down });
    await assert.rejects(registerDevice(deps, anActor(), input), rejectsWith('DEPENDENCY_UNAVAILABLE'));
    assert.equal(await reg.registry.get('t1', 'sensor-1'), undefined);
    assert.deepEqual(reg.outbox, []);
    down = false;
    assert.equal((await registerDevice(deps, anActor(), input)).device.id, 'sensor-1');
  });

  it('the same id in two tenants is two devices with two identities at the broker', async () => {
    const { deps, access } = setup();
    const a = await registerDevice(deps, anActor({ tenant: 'alpha' }), input);
    const b = await registerDevice(deps, anActor({ tenant: 'beta' }), input);
    assert.deepEqual([a.credentials.username, b.credentials.username], ['alpha.sensor-1', 'beta.sensor-1']);
    assert.ok(!access.login('beta.sensor-1', a.credentials.password));
    assert.equal((await getDevice(deps, anActor({ tenant: 'alpha' }), 'sensor-1'))?.tenant, 'alpha');
    assert.equal(await getDevice(deps, anActor({ tenant: 'gamma' }), 'sensor-1'), null);
    assert.deepEqual(
      (await listDevices(deps, anActor({ tenant: 'beta' }), 10, null)).map((d) => d.tenant),
      ['beta'],
    );
  });
});

describe('rotateCredentials and revokeDevice', () => {
  it('rotation: a new password at the broker (the old one stops, the device is disconnected), version up, an event', async () => {
    const { deps, reg, access } = setup();
    const first = await registerDevice(deps, anActor(), input);
    const second = await rotateCredentials(deps, anActor(), 'sensor-1');
    assert.equal(second.credentials.credentialVersion, 2);
    assert.ok(!access.login('t1.sensor-1', first.credentials.password));
    assert.ok(access.login('t1.sensor-1', second.credentials.password));
    assert.deepEqual(access.kicked, ['t1.sensor-1']);
    assert.equal(reg.registry.hashOf('t1', 'sensor-1'), `hash(${second.credentials.password})`);
    assert.deepEqual(
      reg.outbox.map((e) => e.type),
      [IOT_EVENTS.deviceRegistered, IOT_EVENTS.credentialsRotated],
    );
  });

  it('revocation: recorded once, the device removed at the broker; again is harmless; rotation then refused', async () => {
    const { deps, reg, access } = setup();
    const { credentials } = await registerDevice(deps, anActor(), input);
    const revoked = await revokeDevice(deps, anActor(), 'sensor-1');
    assert.deepEqual([revoked.state, revoked.online, revoked.revokedAt], ['REVOKED', false, fixedClock.now()]);
    assert.ok(!access.login('t1.sensor-1', credentials.password));
    await revokeDevice(deps, anActor(), 'sensor-1');
    assert.deepEqual(
      reg.outbox.map((e) => e.type),
      [IOT_EVENTS.deviceRegistered, IOT_EVENTS.deviceRevoked],
    );
    await assert.rejects(
      rotateCredentials(deps, anActor(), 'sensor-1'),
      rejectsWith('DEVICE_REVOKED', { deviceId: 'sensor-1' }),
    );
  });

  it('revocation is recorded even with a broker down (the revocation processor finishes it)', async () => {
    let down = false;
    const { deps, reg } = setup({ brokerDown: () => down });
    await registerDevice(deps, anActor(), input);
    down = true;
    assert.equal((await revokeDevice(deps, anActor(), 'sensor-1')).state, 'REVOKED');
    assert.equal(reg.outbox.at(-1)?.type, IOT_EVENTS.deviceRevoked);
  });

  it('another tenant sees no device to rotate or revoke', async () => {
    const { deps } = setup();
    await registerDevice(deps, anActor(), input);
    for (const op of [rotateCredentials, revokeDevice]) {
      await assert.rejects(
        op(deps, anActor({ tenant: 't2' }), 'sensor-1'),
        rejectsWith('DEVICE_NOT_FOUND', { deviceId: 'sensor-1' }),
      );
    }
  });
});
