/**
 * A region broker as the stack configures it (its own instance, on a free port): anonymous
 * access is off, a wrong password is refused, and each platform user logs in with its own
 * credentials and gets only its own rights. MQTT 5 CONNACK reason code 0x87 "Not authorized":
 * Mosquitto 2.0's dynamic security answers it for a missing, unknown or wrong login alike (it
 * does not tell a prober which usernames exist).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt, { type IClientOptions } from 'mqtt';
import { uniqueName } from '../adapters/testing.ts';
import { LOCAL_MQTT_PASSWORD, MQTT_USERS } from '../config/mqtt-users.ts';
import { type PrivateMosquitto, startPrivateMosquitto } from './private-mosquitto.testing.ts';

let broker: PrivateMosquitto;

/** Resolves with 0 on CONNACK success, or the refusal's reason code. */
function connackOf(url: string, options: IClientOptions): Promise<{ code: number; client: mqtt.MqttClient }> {
  const client = mqtt.connect(url, {
    clientId: uniqueName('mosq-sec'),
    protocolVersion: 5,
    reconnectPeriod: 0,
    connectTimeout: 3000,
    ...options,
  });
  return new Promise((resolve) => {
    client.once('connect', () => resolve({ code: 0, client }));
    client.once('error', (err: Error & { code?: number }) => {
      client.end(true);
      resolve({ code: err.code ?? -1, client });
    });
  });
}

before(async () => {
  broker = await startPrivateMosquitto();
});

after(async () => {
  await broker?.stop();
});

describe('a region broker as the stack configures it', () => {
  it('refuses anonymous clients and wrong passwords', async () => {
    const anonymous = await connackOf(broker.url, {});
    assert.equal(anonymous.code, 0x87);
    const wrong = await connackOf(broker.url, { username: MQTT_USERS.bridge, password: 'not-the-password' });
    assert.equal(wrong.code, 0x87);
    const unknown = await connackOf(broker.url, { username: 'nobody', password: LOCAL_MQTT_PASSWORD });
    assert.equal(unknown.code, 0x87);
  });

  it('lets each platform user in with its own credentials, with only its own rights', async () => {
    for (const username of [MQTT_USERS.platform, MQTT_USERS.bridge, MQTT_USERS.commands, MQTT_USERS.admin]) {
      const r = await connackOf(broker.url, { username, password: LOCAL_MQTT_PASSWORD });
      assert.equal(r.code, 0, username);
      r.client.end(true);
    }
    // The health-check user may not read device telemetry; the bridge may (its shared subscription).
    const platform = await connackOf(broker.url, { username: MQTT_USERS.platform, password: LOCAL_MQTT_PASSWORD });
    const bridge = await connackOf(broker.url, { username: MQTT_USERS.bridge, password: LOCAL_MQTT_PASSWORD });
    try {
      await assert.rejects(platform.client.subscribeAsync('devices/+/telemetry', { qos: 1 }), /Not authorized/);
      const granted = await bridge.client.subscribeAsync('$share/meridian-bridge/devices/+/telemetry', { qos: 1 });
      assert.equal(granted[0]?.qos, 1);
    } finally {
      platform.client.end(true);
      bridge.client.end(true);
    }
  });
});
