import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_PAYLOAD_BYTES, readDeviceMessage, tooLarge } from './telemetry.ts';
import { DEVICE_ID, deviceGrants, mqttIdOf, parseDeviceTopic, parseMqttId } from './topics.ts';

const arrival = {
  deviceId: 'sensor-1',
  kind: 'telemetry' as const,
  receivedAt: '2026-11-30T12:00:00.000Z',
  region: 'east',
};

describe('device messages', () => {
  it('reads telemetry with its seq; the platform fields win over the device', () => {
    const r = readDeviceMessage('{"seq":7,"ts":"2026-11-30T11:59:59Z","metrics":{"t":1},"region":"moon"}', arrival);
    assert.ok(r.ok);
    assert.equal(r.seq, 7);
    assert.deepEqual(r.data, {
      seq: 7,
      ts: '2026-11-30T11:59:59Z',
      metrics: { t: 1 },
      deviceId: 'sensor-1',
      receivedAt: arrival.receivedAt,
      region: 'east',
    });
  });

  it('refuses malformed JSON, a non-object and a missing or bad seq, with a code', () => {
    const code = (text: string) => {
      const r = readDeviceMessage(text, arrival);
      return r.ok ? 'ok' : r.code;
    };
    assert.equal(code('{"seq": 1,'), 'MALFORMED_JSON');
    assert.equal(code('[1,2]'), 'SCHEMA_VIOLATION');
    assert.equal(code('{"ts":"x"}'), 'SCHEMA_VIOLATION');
    assert.equal(code('{"seq":-1}'), 'SCHEMA_VIOLATION');
    assert.equal(code('{"seq":1.5}'), 'SCHEMA_VIOLATION');
    assert.equal(tooLarge(MAX_PAYLOAD_BYTES)?.code, undefined);
    assert.equal(tooLarge(MAX_PAYLOAD_BYTES + 1)?.code, 'PAYLOAD_TOO_LARGE');
  });

  it('progress reports carry the job id from the topic', () => {
    const r = readDeviceMessage('{"status":"IN_PROGRESS","progress":10}', { ...arrival, kind: 'progress', jobId: 'j' });
    assert.ok(r.ok);
    assert.equal(r.data.jobId, 'j');
  });
});

describe('device identity and topics', () => {
  it('a device is <tenant>.<id> on the broker, and only a well-formed one parses', () => {
    assert.equal(mqttIdOf('acme', 'Sensor_1'), 'acme.Sensor_1');
    assert.deepEqual(parseMqttId('acme.Sensor_1'), { tenant: 'acme', deviceId: 'Sensor_1' });
    assert.equal(parseMqttId('acme'), undefined);
    assert.equal(parseMqttId('ACME.x'), undefined);
    assert.equal(parseMqttId('acme.x.y'), undefined, 'device ids have no dot: no id of one tenant names another');
    assert.throws(() => mqttIdOf('acme', 'a/b'));
    assert.ok(!DEVICE_ID.test('+') && !DEVICE_ID.test('#'));
  });

  it('parses the three device topics the bridge reads, nothing else', () => {
    const job = '0b5d9c2e-3f5a-4a44-9d0e-6f1c2b3a4d5e';
    assert.deepEqual(parseDeviceTopic('devices/acme.s1/telemetry'), {
      mqttId: 'acme.s1',
      tenant: 'acme',
      deviceId: 's1',
      kind: 'telemetry',
    });
    assert.equal(parseDeviceTopic('devices/acme.s1/status')?.kind, 'status');
    assert.equal(parseDeviceTopic(`devices/acme.s1/jobs/${job}/progress`)?.jobId, job);
    for (const t of [
      'devices/acme.s1/telemetry/x',
      'devices/acme/telemetry',
      'things/acme.s1/telemetry',
      'devices/acme.s1/jobs/x/progress',
    ]) {
      assert.equal(parseDeviceTopic(t), undefined, t);
    }
  });

  it('a device may publish its three topics and follow its commands, nothing else', () => {
    assert.deepEqual(deviceGrants('acme.s1'), [
      { action: 'publish', filter: 'devices/acme.s1/telemetry' },
      { action: 'publish', filter: 'devices/acme.s1/status' },
      { action: 'publish', filter: 'devices/acme.s1/jobs/+/progress' },
      { action: 'subscribe', filter: 'devices/acme.s1/commands/#' },
      { action: 'receive', filter: 'devices/acme.s1/commands/#' },
    ]);
  });
});
