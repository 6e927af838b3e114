import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IOT_EVENTS } from '../../domains/iot/events.ts';
import type { Envelope } from '../../infra/events/envelope.ts';
import { topicResolver } from '../hub/topics.ts';
import { iotChangedEntities } from './changes.ts';
import { deviceIdOfTopic, deviceTopic, iotHubFeed, iotHubTopics, rolloutTopic } from './hub.ts';

const ROLLOUT = '0b5d9c2e-3f5a-4a44-9d0e-6f1c2b3a4d5e';
const devices = new Set(['t1/sensor-1', 't1/Pump_7', 't2/sensor-1']);
const resolve = topicResolver(
  iotHubTopics({
    deviceExists: async (tenant, id) => devices.has(`${tenant}/${id}`),
    rolloutExists: async (tenant, id) => tenant === 't1' && id === ROLLOUT,
  }),
);
const actor = (tenant: string, scopes = ['devices:read']) => ({ subject: 'u', tenant, scopes });

function event(type: string, data: Record<string, unknown>, tenant = 't1'): Envelope {
  return {
    specversion: '1.0',
    id: '11111111-1111-4111-8111-111111111111',
    type,
    source: '/regions/east/mqtt-bridge',
    time: '2026-11-30T12:00:00.000Z',
    subject: `${tenant}.sensor-1`,
    tenant,
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    datacontenttype: 'application/json',
    data,
  };
}

describe('IoT hub topics', () => {
  it('a device topic names the device of the caller tenant, case-safe', () => {
    assert.equal(deviceTopic('sensor-1'), 'device.sensor-1');
    assert.equal(deviceTopic('Pump_7'), 'device.:50ump_7');
    assert.equal(deviceIdOfTopic('device.:50ump_7'), 'Pump_7');
    assert.equal(deviceIdOfTopic('device.:2f'), undefined, 'an escaped character no device id has');
    assert.equal(rolloutTopic(ROLLOUT.toUpperCase()), `rollout.${ROLLOUT}`);
  });

  it('follows need devices:read and a device (rollout) of the caller tenant; same id, other tenant, other key', async () => {
    assert.equal(await resolve(actor('t1'), 'device.sensor-1'), 't1/device.sensor-1');
    assert.equal(await resolve(actor('t2'), 'device.sensor-1'), 't2/device.sensor-1');
    assert.equal(await resolve(actor('t1'), 'device.:50ump_7'), 't1/device.:50ump_7');
    assert.equal(await resolve(actor('t3'), 'device.sensor-1'), undefined);
    assert.equal(await resolve(actor('t1', []), 'device.sensor-1'), undefined);
    assert.equal(await resolve(actor('t1'), 'device.nope'), undefined);
    assert.equal(await resolve(actor('t1'), `rollout.${ROLLOUT}`), `t1/rollout.${ROLLOUT}`);
    assert.equal(await resolve(actor('t2'), `rollout.${ROLLOUT}`), undefined);
  });

  it('feeds readings and status to the device, job updates to the device and the rollout', () => {
    const reading = iotHubFeed.publications(
      event(IOT_EVENTS.telemetryRaw, {
        deviceId: 'sensor-1',
        seq: 3,
        ts: 'x',
        metrics: { t: 1 },
        receivedAt: 'y',
        region: 'east',
      }),
    );
    assert.deepEqual(
      reading.map((p) => [p.topic, p.message.event, p.message.id]),
      [['device.sensor-1', IOT_EVENTS.telemetryRaw, '11111111-1111-4111-8111-111111111111']],
    );
    const job = iotHubFeed.publications(
      event(IOT_EVENTS.jobUpdated, { deviceId: 'sensor-1', rolloutId: ROLLOUT, status: 'SENT' }),
    );
    assert.deepEqual(
      job.map((p) => p.topic),
      ['device.sensor-1', `rollout.${ROLLOUT}`],
    );
    assert.deepEqual(iotHubFeed.publications(event(IOT_EVENTS.deviceRegistered, {})), []);
  });

  it('registry changes purge the device, hard; rollout changes softly; readings nothing', () => {
    assert.deepEqual(iotChangedEntities(event(IOT_EVENTS.deviceRevoked, { deviceId: 'sensor-1' })), {
      entities: [{ type: 'Device', id: 'sensor-1' }],
      soft: false,
    });
    assert.deepEqual(iotChangedEntities(event(IOT_EVENTS.rolloutFinished, { rolloutId: ROLLOUT })), {
      entities: [{ type: 'FirmwareRollout', id: ROLLOUT }],
      soft: true,
    });
    assert.equal(iotChangedEntities(event(IOT_EVENTS.telemetryRaw, { deviceId: 'sensor-1' })), undefined);
  });
});
