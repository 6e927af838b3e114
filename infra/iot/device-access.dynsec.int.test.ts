/**
 * Device credentials and ACLs on both regions' real brokers: the DeviceAccess contract, and
 * what the broker then enforces — CONNACK and PUBACK/SUBACK reason codes (MQTT 5), the client id
 * bound to the device, revocation and rotation kicking a connected device within 2 s, all
 * without restarting the broker.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { deviceAccessContract } from '../../domains/iot/device-access.contract.test.ts';
import { deviceGrants, deviceTopics } from '../../domains/iot/topics.ts';
import { REGIONS, resolveEndpoints } from '../config/endpoints.ts';
import { LOCAL_MQTT_PASSWORD, MQTT_USERS, withCredentials, withoutCredentials } from '../config/mqtt-users.ts';
import { type OpenBrokerAdmin, openBrokerAdmin } from './broker-admin.ts';
import { createDynsecDeviceAccess } from './device-access.dynsec.ts';

const urls = REGIONS.map((r) => ({ region: r, url: resolveEndpoints(r, process.env).mqttUrl }));
let admins: OpenBrokerAdmin[];
let access: ReturnType<typeof createDynsecDeviceAccess>;

/** Connects as a device; resolves with the client, or the CONNACK reason code of a refusal. */
function connect(
  url: string,
  username: string,
  password: string,
  options: IClientOptions = {},
): Promise<{ client: MqttClient; refused?: number }> {
  const client = mqtt.connect(withoutCredentials(url), {
    username,
    password,
    clientId: username,
    protocolVersion: 5,
    reconnectPeriod: 0,
    connectTimeout: 3000,
    ...options,
  });
  return new Promise((resolve) => {
    client.once('connect', () => resolve({ client }));
    client.once('error', (err: Error & { code?: number }) => {
      client.end(true);
      resolve({ client, refused: err.code ?? -1 });
    });
  });
}

async function reasonCodes(client: MqttClient, publishes: string[]): Promise<number[]> {
  const codes: number[] = [];
  for (const topic of publishes) {
    const ack = new Promise<number>((resolve) => {
      // -1: no PUBACK at all (the broker dropped the connection), rather than a hanging test.
      const timer = setTimeout(() => resolve(-1), 3000);
      const on = (packet: { cmd: string; reasonCode?: number }) => {
        if (packet.cmd !== 'puback') return;
        clearTimeout(timer);
        client.off('packetreceive', on);
        resolve(packet.reasonCode ?? 0);
      };
      client.on('packetreceive', on);
    });
    client.publishAsync(topic, '{}', { qos: 1 }).catch(() => {});
    codes.push(await ack);
  }
  return codes;
}

before(async () => {
  admins = urls.map(({ region, url }) =>
    openBrokerAdmin(
      region,
      withCredentials(url, MQTT_USERS.admin, LOCAL_MQTT_PASSWORD),
      `iot-access-test-${region}-${randomUUID()}`,
    ),
  );
  access = createDynsecDeviceAccess(admins);
  await Promise.all(
    admins.map(
      (a) =>
        new Promise<void>((resolve) =>
          a.mqtt.client.connected ? resolve() : a.mqtt.client.once('connect', () => resolve()),
        ),
    ),
  );
});

after(async () => {
  await Promise.all(admins.map((a) => a.close()));
});

deviceAccessContract('dynamic security, both regions', () => ({
  access,
  async login(mqttId, password) {
    const results = await Promise.all(urls.map(({ url }) => connect(url, mqttId, password)));
    for (const r of results) r.client.end(true);
    const ok = results.map((r) => r.refused === undefined);
    assert.ok(
      ok.every((v) => v === ok[0]),
      `the brokers disagree: ${JSON.stringify(ok)}`,
    );
    return ok[0] as boolean;
  },
}));

describe('what the brokers enforce for a device', () => {
  const east = urls[0]?.url as string;

  it('a wrong password or an unknown device is refused with CONNACK 0x87 (Not authorized)', async () => {
    const d = `t-acl.dev-${randomUUID().slice(0, 8)}`;
    await access.grant(d, 'right', deviceGrants(d));
    try {
      assert.equal((await connect(east, d, 'wrong')).refused, 0x87);
      assert.equal((await connect(east, `t-acl.nobody-${randomUUID().slice(0, 8)}`, 'x')).refused, 0x87);
    } finally {
      await access.revoke(d);
    }
  });

  it('publishing to another device topic gets PUBACK 0x87; subscribing beyond its commands gets SUBACK 0x87', async () => {
    const a = `t-acl.a-${randomUUID().slice(0, 8)}`;
    const b = `t-acl.b-${randomUUID().slice(0, 8)}`;
    await access.grant(a, 'pa', deviceGrants(a));
    await access.grant(b, 'pb', deviceGrants(b));
    const { client } = await connect(east, a, 'pa');
    try {
      const mine = deviceTopics(a);
      const theirs = deviceTopics(b);
      // 0x10: accepted, no subscriber matched (nobody listens in this test); 0x87: not authorized.
      assert.deepEqual(
        (await reasonCodes(client, [mine.telemetry, mine.status, mine.jobProgress(randomUUID())])).map(
          (c) => c === 0x87,
        ),
        [false, false, false],
      );
      assert.deepEqual(
        await reasonCodes(client, [theirs.telemetry, theirs.status, mine.firmwareCommand, 'devices/other/telemetry']),
        [0x87, 0x87, 0x87, 0x87],
      );
      const granted = await client
        .subscribeAsync([mine.commands, theirs.commands, 'devices/#', mine.telemetry], { qos: 1 })
        .catch((err: { packet?: { granted: number[] } }) => err.packet?.granted.map((qos) => ({ qos })));
      assert.deepEqual(
        granted?.map((g) => g.qos),
        [1, 0x87, 0x87, 0x87],
      );
    } finally {
      client.end(true);
      await access.revoke(a);
      await access.revoke(b);
    }
  });

  it('the device may use its own client id only, so it can never take over another device session', async () => {
    const a = `t-acl.a-${randomUUID().slice(0, 8)}`;
    const b = `t-acl.b-${randomUUID().slice(0, 8)}`;
    await access.grant(a, 'pa', deviceGrants(a));
    await access.grant(b, 'pb', deviceGrants(b));
    try {
      assert.equal((await connect(east, a, 'pa', { clientId: b })).refused, 0x87);
      assert.equal((await connect(east, a, 'pa', { clientId: `${a}-2` })).refused, 0x87);
    } finally {
      await access.revoke(a);
      await access.revoke(b);
    }
  });

  for (const { region, url } of urls) {
    it(`revoking disconnects a connected device within 2 s and refuses its next CONNECT (${region})`, async () => {
      const d = `t-acl.rev-${randomUUID().slice(0, 8)}`;
      await access.grant(d, 'pw', deviceGrants(d));
      const { client } = await connect(url, d, 'pw');
      const closed = new Promise<number>((resolve) => client.once('close', () => resolve(Date.now())));
      const disconnect = new Promise<number | undefined>((resolve) =>
        client.once('disconnect', (p: { reasonCode?: number }) => resolve(p.reasonCode)),
      );
      const t0 = Date.now();
      await access.revoke(d);
      const at = await closed;
      assert.ok(at - t0 < 2000, `kicked after ${at - t0} ms`);
      assert.equal(await disconnect, 0x98, 'DISCONNECT 0x98: administrative action');
      assert.equal((await connect(url, d, 'pw')).refused, 0x87);
    });
  }

  it('rotation works without restarting the broker: the old password stops at once, the session is kicked', async () => {
    const d = `t-acl.rot-${randomUUID().slice(0, 8)}`;
    await access.grant(d, 'old', deviceGrants(d));
    const { client } = await connect(east, d, 'old');
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    try {
      await access.setPassword(d, 'new');
      await closed;
      assert.equal((await connect(east, d, 'old')).refused, 0x87);
      const again = await connect(east, d, 'new');
      assert.equal(again.refused, undefined);
      again.client.end(true);
    } finally {
      await access.revoke(d);
    }
  });
});
