/**
 * The MQTT → Kafka bridge against the real east broker, Kafka and Redis: devices with their own
 * credentials publish QoS 1 telemetry; what reaches Kafka is counted, deduplicated by event id
 * and checked for order per device; refused messages go to the dead-letter topic with the reason
 * and the device is told; a message is acknowledged to the broker only once Kafka has it.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { IOT_EVENTS, type TelemetryData } from '../../domains/iot/events.ts';
import { deviceGrants, mqttIdOf } from '../../domains/iot/topics.ts';
import { createKafka } from '../../infra/adapters/kafka.ts';
import { createRedis } from '../../infra/adapters/redis.ts';
import { closedPort, eventually } from '../../infra/adapters/testing.ts';
import { resolveEndpoints } from '../../infra/config/endpoints.ts';
import { LOCAL_MQTT_PASSWORD, MQTT_USERS, withCredentials, withoutCredentials } from '../../infra/config/mqtt-users.ts';
import { dlqTopic } from '../../infra/events/consumer.ts';
import { CONTENT_TYPE, fromKafkaMessage, kafkaHeader } from '../../infra/events/kafka-codec.ts';
import { type Tail, tail } from '../../infra/events/kafka-tail.testing.ts';
import { ensureTopics } from '../../infra/events/topics.ts';
import { type OpenBrokerAdmin, openBrokerAdmin } from '../../infra/iot/broker-admin.ts';
import { createDynsecDeviceAccess } from '../../infra/iot/device-access.dynsec.ts';
import { createDeviceClient, type DeviceClient } from '../../infra/iot/device-client.ts';
import { createRedisSequenceGate } from '../../infra/iot/sequence-gate.redis.ts';
import { createMqttBridge, type MqttBridge } from './bridge.ts';

const east = resolveEndpoints('east', process.env);
const kafka = createKafka({ brokers: east.kafkaBrokers, clientId: 'bridge-int-test' });
const redis = createRedis({ url: east.redisUrl });
const bridgeUrl = withCredentials(east.mqttUrl, MQTT_USERS.bridge, LOCAL_MQTT_PASSWORD);
const deviceUrl = withoutCredentials(east.mqttUrl);
const RAW = IOT_EVENTS.telemetryRaw;
let admin: OpenBrokerAdmin;
let access: ReturnType<typeof createDynsecDeviceAccess>;
let bridge: MqttBridge;
let records: Tail;
const granted: string[] = [];
const devices: DeviceClient[] = [];

function bridgeOf(
  instance: string,
  opts: { kafkaDown?: string; connections?: number; maxRequestBytes?: number; maxBatch?: number } = {},
) {
  return createMqttBridge(
    {
      region: 'east',
      mqttUrl: bridgeUrl,
      instance,
      connections: opts.connections ?? 4,
      // A test member that dies leaves its session (and its share of the group) for minutes, not a week.
      sessionExpirySeconds: 300,
      stopTimeoutMs: 2000,
      ...(opts.maxRequestBytes !== undefined ? { maxRequestBytes: opts.maxRequestBytes } : {}),
      ...(opts.maxBatch !== undefined ? { maxBatch: opts.maxBatch } : {}),
    },
    {
      kafka: opts.kafkaDown ? createKafka({ brokers: [opts.kafkaDown], clientId: 'bridge-int-down' }) : kafka,
      gate: createRedisSequenceGate(redis.client),
      log: process.env.BRIDGE_TEST_LOG ? console.log : undefined,
    },
  );
}

async function aDevice(tenant = `t-bridge-${randomUUID().slice(0, 8)}`, id = 'sensor-1'): Promise<DeviceClient> {
  const mqttId = mqttIdOf(tenant, id);
  await access.grant(mqttId, 'pw', deviceGrants(mqttId));
  granted.push(mqttId);
  const d = createDeviceClient({ url: deviceUrl, username: mqttId, password: 'pw' });
  await d.connect();
  devices.push(d);
  return d;
}

/** The device's telemetry in Kafka: first occurrence of each event id, in partition order. */
function telemetryOf(mqttId: string) {
  const seen = new Set<string>();
  const out: TelemetryData[] = [];
  for (const r of records.records) {
    if (r.topic !== RAW || r.key !== mqttId) continue;
    const e = fromKafkaMessage({ key: null, value: r.value, headers: r.headers });
    if (seen.has(e.id)) continue;
    seen.add(e.id);
    out.push(e.data as TelemetryData);
  }
  return out;
}

/** Waits until the device's telemetry in Kafka is `seqs`: each once, in this order. */
async function untilSeqs(mqttId: string, seqs: readonly number[]): Promise<void> {
  await eventually(
    () =>
      assert.deepEqual(
        telemetryOf(mqttId).map((t) => t.seq),
        seqs,
      ),
    { timeoutMs: 10_000 },
  );
}

before(async () => {
  await ensureTopics(kafka, Object.values(IOT_EVENTS), { peer: 'west' });
  admin = openBrokerAdmin(
    'east',
    withCredentials(east.mqttUrl, MQTT_USERS.admin, LOCAL_MQTT_PASSWORD),
    `bridge-test-admin-${randomUUID()}`,
  );
  access = createDynsecDeviceAccess([admin]);
  await eventually(() => assert.ok(admin.mqtt.client.connected), { timeoutMs: 5000 });
  records = await tail(kafka, [RAW, dlqTopic(RAW)]);
  bridge = bridgeOf('int-test');
  await bridge.start();
});

after(async () => {
  await Promise.allSettled(devices.map((d) => d.close()));
  await bridge?.stop();
  await Promise.allSettled(granted.map((id) => access.revoke(id)));
  await records?.stop();
  await admin?.close();
  await kafka.close();
  await redis.close();
});

describe('MQTT → Kafka bridge', () => {
  it('telemetry of several devices reaches Kafka exactly once (by event id), in seq order per device', async () => {
    const ds = await Promise.all([aDevice(), aDevice(), aDevice()]);
    const N = 150;
    await Promise.all(
      ds.map(async (d) => {
        const sends: Promise<number>[] = [];
        for (let i = 0; i < N; i++) sends.push(d.sendTelemetry({ temperature: 20 + (i % 10), i }));
        await Promise.all(sends);
      }),
    );
    await eventually(
      () => {
        for (const d of ds) assert.equal(telemetryOf(d.mqttId).length, N);
      },
      { timeoutMs: 20_000 },
    );
    for (const d of ds) {
      const seqs = telemetryOf(d.mqttId).map((t) => t.seq);
      assert.deepEqual(
        seqs,
        Array.from({ length: N }, (_, i) => i),
        `${d.mqttId} in order`,
      );
    }
    const one = records.records.find((r) => r.topic === RAW && r.key === ds[0]?.mqttId);
    // Structured mode: the envelope is the value; the record's headers are its content type and
    // its trace, nothing more (the id and type are read from the envelope).
    assert.ok(one);
    const envelope = fromKafkaMessage({ key: null, value: one.value, headers: one.headers });
    assert.equal(envelope.type, RAW);
    assert.deepEqual(Object.fromEntries(Object.entries(one.headers ?? {}).map(([k, v]) => [k, String(v)])), {
      'content-type': CONTENT_TYPE,
      traceparent: envelope.traceparent,
    });
  });

  it('refused messages go to the dead-letter topic with the reason, the device is told, and nothing blocks what follows', async () => {
    const d = await aDevice();
    const t0 = Date.now();
    const ts = new Date().toISOString();
    await d.sendTelemetry({ t: 1 }, { seq: 0 });
    assert.equal(await d.publishRaw(`devices/${d.mqttId}/telemetry`, '{"seq": 1, "ts": '), 0); // malformed JSON (was seq 1)
    await d.sendTelemetry({ t: 2 }, { seq: 2 });
    await d.publishRaw(`devices/${d.mqttId}/telemetry`, JSON.stringify({ seq: 3, ts, metrics: { t: 'hot' } }));
    await d.sendTelemetry({ t: 4 }, { seq: 4 });
    await d.publishRaw(
      `devices/${d.mqttId}/telemetry`,
      JSON.stringify({ seq: 5, ts, metrics: { t: 5 }, pad: 'x'.repeat(20_000) }),
    );
    await d.sendTelemetry({ t: 6 }, { seq: 6 });
    await d.sendTelemetry({ t: 99 }, { seq: 2 }); // backwards: 2 again, other content
    await d.sendTelemetry({ t: 7 }, { seq: 7 });
    await eventually(
      () => {
        assert.deepEqual(
          telemetryOf(d.mqttId).map((t) => t.seq),
          [0, 2, 4, 6, 7],
        );
        assert.equal(d.rejections.length, 4, JSON.stringify(d.rejections));
      },
      { timeoutMs: 10_000, intervalMs: 50 },
    );
    assert.ok(Date.now() - t0 < 4000, `took ${Date.now() - t0} ms: a refused message held the next ones`);
    const dead = records.records
      .filter((r) => r.topic === dlqTopic(RAW) && r.key === d.mqttId)
      .map((r) => kafkaHeader(r.headers, 'dlq-reason') ?? '');
    // Dead letters keep no order among themselves (a numbered one waits its turn, the others do not).
    assert.deepEqual(dead.map((reason) => reason.split(':')[0]).sort(), [
      'MALFORMED_JSON',
      'PAYLOAD_TOO_LARGE',
      'SCHEMA_VIOLATION',
      'SEQUENCE_BACKWARDS',
    ]);
    assert.ok(
      dead.some((reason) => /^SCHEMA_VIOLATION: .*metrics\/t must be number/.test(reason)),
      dead.join('\n'),
    );
    assert.deepEqual(d.rejections.map((n) => `${n.code} ${n.seq}`).sort(), [
      'MALFORMED_JSON null',
      'PAYLOAD_TOO_LARGE null',
      'SCHEMA_VIOLATION 3',
      'SEQUENCE_BACKWARDS 2',
    ]);
  });

  it('a cycle larger than one Kafka request goes in several, in order (Kafka refuses a batch above its size limit)', async () => {
    // A request limit of about four records: every cycle of this bridge is split.
    const small = bridgeOf('int-test-small-requests', { connections: 2, maxRequestBytes: 4000 });
    await small.start();
    await bridge.stop();
    try {
      const ds = await Promise.all([aDevice(), aDevice()]);
      const N = 120;
      await Promise.all(
        ds.map(async (d) => {
          const sends: Promise<number>[] = [];
          for (let i = 0; i < N; i++) sends.push(d.sendTelemetry({ temperature: i }));
          await Promise.all(sends);
        }),
      );
      await eventually(() => assert.equal(small.stats.acked, small.stats.received), { timeoutMs: 20_000 });
      await eventually(
        () => {
          for (const d of ds)
            assert.deepEqual(
              telemetryOf(d.mqttId).map((t) => t.seq),
              Array.from({ length: N }, (_, i) => i),
            );
        },
        { timeoutMs: 10_000 },
      );
      assert.ok(
        small.stats.requests > small.stats.batches,
        `${small.stats.batches} cycles, ${small.stats.requests} requests`,
      );
    } finally {
      await small.stop();
      bridge = bridgeOf('int-test');
      await bridge.start();
    }
  });

  it('a message is acknowledged to the broker only once Kafka has it: held while Kafka is away, then delivered', async () => {
    const instance = 'int-test-kafka-down';
    const down = bridgeOf(instance, { kafkaDown: `127.0.0.1:${await closedPort()}`, connections: 1 });
    await down.start();
    // The main test bridge shares the group: stop it so the message must go to the member without Kafka.
    await bridge.stop();
    try {
      const d = await aDevice();
      await d.sendTelemetry({ t: 1 }, { seq: 0 });
      // Its "online" status and the reading: both held.
      await eventually(() => assert.equal(down.stats.received, 2), { timeoutMs: 5000 });
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(down.stats.acked, 0);
      assert.equal(down.pending, 2);
      await down.stop(); // gives up after stopTimeoutMs: the session keeps the unacknowledged message
      assert.equal(telemetryOf(d.mqttId).length, 0);
      const back = bridgeOf(instance, { connections: 1 });
      await back.start();
      try {
        await untilSeqs(d.mqttId, [0]);
        assert.equal(back.stats.produced, 2);
      } finally {
        await back.stop();
      }
    } finally {
      bridge = bridgeOf('int-test');
      await bridge.start();
    }
  });

  it('takes from the broker only what it can work on (Mosquitto does not keep to Receive Maximum): with Kafka away the rest waits at the broker, then arrives once and in order', async () => {
    const instance = 'int-test-hold-back';
    // Cycles of 5: it holds back once 10 wait to be taken, beside the two cycles it works on.
    const down = bridgeOf(instance, { kafkaDown: `127.0.0.1:${await closedPort()}`, connections: 1, maxBatch: 5 });
    await down.start();
    await bridge.stop();
    let downStopped = false;
    try {
      const d = await aDevice();
      for (let seq = 0; seq < 100; seq++) await d.sendTelemetry({ t: seq }, { seq });
      await eventually(() => assert.ok(down.stats.received >= 10, `received ${down.stats.received}`), {
        timeoutMs: 5000,
      });
      await new Promise((r) => setTimeout(r, 1500));
      // At most two cycles of 5 and 10 waiting to be taken (one more may be on its way), of 101 messages.
      assert.ok(down.stats.received <= 21, `took ${down.stats.received} of 101 messages while Kafka was away`);
      assert.equal(down.stats.acked, 0);
      await down.stop(); // gives up: its session keeps what it took, the broker's queue the rest
      downStopped = true;
      // Back with Kafka, still in cycles of 5: it holds back and goes on again twenty times over.
      const back = bridgeOf(instance, { connections: 1, maxBatch: 5 });
      await back.start();
      try {
        await untilSeqs(
          d.mqttId,
          Array.from({ length: 100 }, (_, i) => i),
        );
      } finally {
        await back.stop();
      }
    } finally {
      if (!downStopped) await down.stop();
      bridge = bridgeOf('int-test');
      await bridge.start();
    }
  });
});
