/**
 * IoT end to end in region east, everything real: devices registered through the region
 * gateway get their own MQTT credentials (dynamic security on both regions' brokers), publish
 * over MQTT through the bridge into Kafka, and show up in the graph and live on the hub; ACLs,
 * revocation and rotation at the broker; the same device id in two tenants; windows against a
 * recomputation from the raw topic; a firmware rollout that stops itself at the failure threshold.
 */
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { IOT_EVENTS, type TelemetryData } from '../domains/iot/events.ts';
import { computeWindows } from '../domains/iot/windows.ts';
import { createKafka } from '../infra/adapters/kafka.ts';
import { eventually } from '../infra/adapters/testing.ts';
import { resolveEndpoints } from '../infra/config/endpoints.ts';
import { withoutCredentials } from '../infra/config/mqtt-users.ts';
import { fromKafkaMessage } from '../infra/events/kafka-codec.ts';
import { createDeviceClient, type DeviceClient } from '../infra/iot/device-client.ts';
import { type Tail, tail } from '../infra/iot/kafka-tail.testing.ts';
import { DOMAINS } from '../regions/domains.ts';
import { east } from '../regions/east.ts';
import { type RunningRegion, startRegion } from '../regions/host/region-host.ts';
import { testIdentity, testRegionConfig } from '../regions/host/testing.ts';
import type { Identity } from '../regions/identity/identity.ts';
import { type IotHandle, iotModule } from '../regions/iot/module.ts';
import { mapLimit, type Registered, registerDevice, registerFleet, revokeDevices } from './devices/fleet.ts';
import { gql } from './support/graphql-client.ts';
import { openSse } from './support/sse-client.ts';

const endpoints = resolveEndpoints('east', process.env);
const kafka = createKafka({ brokers: endpoints.kafkaBrokers, clientId: 'iot-e2e' });
let region: RunningRegion;
let identity: Identity;
let graphql: string;
let hub: string;
let raw: Tail;
const cleanup: Array<() => Promise<unknown>> = [];
const RUN = randomUUID().slice(0, 6);

async function tokenFor(tenant: string, scopes = ['devices:read', 'devices:write', 'firmware:write'], sub = 'ops'): Promise<string> {
  const issued = await identity.issuer?.issue({ sub, tenant, scopes });
  assert.ok(issued, 'dev issuer is on');
  return issued.access_token;
}

function freshTenant(name: string): string {
  return `${name}-${RUN}-${randomUUID().slice(0, 4)}`;
}

/** Registers a device and remembers to revoke it. */
async function register(token: string, id: string, model = 'th-100'): Promise<Registered> {
  const r = await registerDevice(graphql, token, { id, name: `Device ${id}`, model, firmwareVersion: '1.0.0' });
  cleanup.push(() => revokeDevices(graphql, token, [r.id]));
  return r;
}

function clientFor(r: Registered, opts: Partial<Parameters<typeof createDeviceClient>[0]> = {}): DeviceClient {
  const d = createDeviceClient({ url: withoutCredentials(endpoints.mqttUrl), username: r.username, password: r.password, ...opts });
  cleanup.push(() => d.close().catch(() => {}));
  return d;
}

async function query<T>(token: string, q: string, variables: Record<string, unknown> = {}) {
  return gql<T>(graphql, q, variables, { authorization: `Bearer ${token}` });
}

const DEVICE_VIEW = `query($id: ID!) { device(id: $id) { id tenant state online lastSeenAt firmwareVersion
  latestReading { seq ts metrics { name value } } } }`;

interface DeviceView {
  device: {
    id: string;
    tenant: string;
    state: string;
    online: boolean;
    lastSeenAt: string | null;
    firmwareVersion: string;
    latestReading: { seq: number; metrics: Array<{ name: string; value: number }> } | null;
  } | null;
}

/** The device's raw telemetry in Kafka, first occurrence of each event id, in partition order. */
function rawOf(mqttId: string): Array<{ id: string; data: TelemetryData }> {
  const seen = new Set<string>();
  const out: Array<{ id: string; data: TelemetryData }> = [];
  for (const r of raw.records) {
    if (r.key !== mqttId || r.topic !== IOT_EVENTS.telemetryRaw) continue;
    const e = fromKafkaMessage({ key: null, value: r.value, headers: r.headers });
    if (seen.has(e.id)) continue;
    seen.add(e.id);
    out.push({ id: e.id, data: e.data as TelemetryData });
  }
  return out;
}

before(async () => {
  identity = testIdentity();
  const config = testRegionConfig(east, {
    ...process.env,
    MERIDIAN_EAST_IOT_BRIDGE_INSTANCE: 'e2e-iot',
    MERIDIAN_EAST_IOT_BRIDGE_CONNECTIONS: '2',
  });
  region = await startRegion(config, { identity, domains: DOMAINS });
  graphql = `http://127.0.0.1:${region.gatewayPort}/graphql`;
  hub = `http://127.0.0.1:${region.hubPort}/v1/stream`;
  raw = await tail(kafka, [IOT_EVENTS.telemetryRaw]);
});

after(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => {});
  await raw?.stop();
  await region?.stop();
  await kafka.close();
});

describe('IoT through the region gateway, the brokers and the bridge', () => {
  it('registration → connect → telemetry in Kafka, in the graph and live on the hub', async () => {
    const tenant = freshTenant('acme');
    const token = await tokenFor(tenant);
    const r = await register(token, 'sensor-1');
    assert.equal(r.mqttId, `${tenant}.sensor-1`);
    assert.equal(r.username, r.mqttId);
    assert.deepEqual(
      r.brokers.map((b) => b.region),
      ['east', 'west'],
    );
    // Stored only as a hash.
    const handle = region.domain<IotHandle>(iotModule);
    const stored = await handle.registry.credentialHash(tenant, 'sensor-1');
    assert.equal(stored, `sha256:${createHash('sha256').update(r.password).digest('hex')}`);

    const stream = await openSse(`${hub}?topics=device.sensor-1`, { authorization: `Bearer ${token}` });
    cleanup.push(async () => stream.close());
    assert.equal(stream.status, 200);
    const d = clientFor(r);
    await d.connect();
    for (let i = 0; i < 5; i++) await d.sendTelemetry({ temperature: 20 + i, humidity: 40 });

    await eventually(() => assert.deepEqual(rawOf(r.mqttId).map((e) => e.data.seq), [0, 1, 2, 3, 4]), { timeoutMs: 10_000 });
    const first = raw.records.find((x) => x.key === r.mqttId);
    const envelope = fromKafkaMessage({ key: null, value: first?.value ?? null, headers: first?.headers });
    assert.deepEqual([envelope.tenant, envelope.subject, envelope.source], [tenant, r.mqttId, '/regions/east/mqtt-bridge']);

    const live = await stream.next((f) => f.event === IOT_EVENTS.telemetryRaw && JSON.parse(f.data).seq === 4, 10_000);
    assert.deepEqual(JSON.parse(live.data).metrics, { temperature: 24, humidity: 40 });

    await eventually(
      async () => {
        const res = await query<DeviceView>(token, DEVICE_VIEW, { id: 'sensor-1' });
        const v = res.data?.device;
        assert.equal(v?.online, true, JSON.stringify(res));
        assert.equal(v?.latestReading?.seq, 4);
        assert.deepEqual(v?.latestReading?.metrics, [
          { name: 'humidity', value: 40 },
          { name: 'temperature', value: 24 },
        ]);
        assert.ok(v?.lastSeenAt);
      },
      { timeoutMs: 5000, intervalMs: 200 },
    );
  });
});
