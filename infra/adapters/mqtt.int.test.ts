import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { IPublishPacket, Packet } from 'mqtt';
import { REGIONS, resolveEndpoints } from '../config/endpoints.ts';
import { connected, createMqtt, type MqttDependency } from './mqtt.ts';
import { closedPort, eventually, uniqueName } from './testing.ts';

for (const region of REGIONS) {
  describe(`mqtt adapter (${region})`, () => {
    const endpoints = resolveEndpoints(region, process.env);
    let subscriber: MqttDependency;
    let publisher: MqttDependency;

    before(async () => {
      subscriber = createMqtt({ url: endpoints.mqttUrl, clientId: uniqueName(`adapter-test-sub-${region}`) });
      publisher = createMqtt({ url: endpoints.mqttUrl, clientId: uniqueName(`adapter-test-pub-${region}`) });
      await Promise.all([connected(subscriber.client), connected(publisher.client)]);
    });

    after(async () => {
      await Promise.all([subscriber.close(), publisher.close()]);
    });

    it('ping returns the mosquitto version', async () => {
      assert.match(await subscriber.ping(), /^mosquitto version \d+\.\d+\.\d+$/);
    });

    it('delivers QoS 1 publishes to a QoS 1 subscriber, each acknowledged with PUBACK', async () => {
      const topic = `meridian/test/${region}/${randomUUID()}/telemetry`;
      const received: Array<{ payload: string; qos: number }> = [];
      subscriber.client.on('message', (t: string, payload: Buffer, packet: IPublishPacket) => {
        if (t === topic) received.push({ payload: payload.toString(), qos: packet.qos });
      });
      const pubacks: Packet[] = [];
      publisher.client.on('packetreceive', (packet: Packet) => {
        if (packet.cmd === 'puback') pubacks.push(packet);
      });

      const grants = await subscriber.client.subscribeAsync(topic, { qos: 1 });
      assert.deepEqual(
        grants.map((g) => ({ topic: g.topic, qos: g.qos })),
        [{ topic, qos: 1 }],
      );

      const payloads = [1, 2, 3].map((seq) => JSON.stringify({ device: `sensor-${region}`, seq, id: randomUUID() }));
      for (const payload of payloads) {
        // For QoS 1 the promise settles only when the broker's PUBACK for this packet id arrives.
        const sent = await publisher.client.publishAsync(topic, payload, { qos: 1 });
        assert.equal(sent?.cmd, 'publish');
        assert.equal(sent.qos, 1);
        const messageId = sent.messageId;
        assert.equal(typeof messageId, 'number');
        const puback = pubacks.find((p) => p.messageId === messageId);
        assert.ok(puback, `a PUBACK for packet ${messageId} was received before publishAsync resolved`);
        // 0 = Success; 16 would mean "No matching subscribers", i.e. our subscription was not matched.
        assert.equal(puback.cmd === 'puback' ? (puback.reasonCode ?? 0) : -1, 0);
      }

      await eventually(() => assert.equal(received.length, payloads.length), { timeoutMs: 5000 });
      assert.deepEqual(
        received,
        payloads.map((payload) => ({ payload, qos: 1 })),
      );
    });
  });
}

describe('mqtt adapter with the broker down', () => {
  it('ping rejects when not connected, and close still returns', async () => {
    const down = createMqtt({ url: `mqtt://127.0.0.1:${await closedPort()}`, clientId: uniqueName('adapter-test') });
    try {
      await assert.rejects(down.ping(), /not connected/);
      await assert.rejects(connected(down.client, 300), /timed out/);
    } finally {
      await down.close();
    }
  });
});
