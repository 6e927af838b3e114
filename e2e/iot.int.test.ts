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
import { type Tail, tail } from '../infra/events/kafka-tail.testing.ts';
import { createDeviceClient, type DeviceClient } from '../infra/iot/device-client.ts';
import { type ScratchDatabase, scratchDatabase } from '../infra/postgres/scratch-database.testing.ts';
import { DOMAINS } from '../regions/domains.ts';
import { east } from '../regions/east.ts';
import { type RunningRegion, startRegion } from '../regions/host/region-host.ts';
import { testIdentity, testRegionConfig } from '../regions/host/testing.ts';
import type { Identity } from '../regions/identity/identity.ts';
import { type IotHandle, iotModule } from '../regions/iot/module.ts';
import { mapLimit, type Registered, registerDevice, registerFleet, revokeDevices } from './devices/fleet.ts';
import { gql } from './support/graphql-client.ts';
import { IOT_PROCESSOR_SERVICES, skipIotBacklog } from './support/iot-groups.ts';
import { openSse } from './support/sse-client.ts';

const endpoints = resolveEndpoints('east', process.env);
const kafka = createKafka({ brokers: endpoints.kafkaBrokers, clientId: 'iot-e2e' });
let region: RunningRegion;
let identity: Identity;
let graphql: string;
let hub: string;
let raw: Tail;
let db: ScratchDatabase;
const cleanup: Array<() => Promise<unknown>> = [];
const RUN = randomUUID().slice(0, 6);

async function tokenFor(
  tenant: string,
  scopes = ['devices:read', 'devices:write', 'firmware:write'],
  sub = 'ops',
): Promise<string> {
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
  const d = createDeviceClient({
    url: withoutCredentials(endpoints.mqttUrl),
    username: r.username,
    password: r.password,
    ...opts,
  });
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
  // A database of its own: only this region's relay publishes its outbox (a region of other code
  // relaying the shared database could not publish these events), and it migrates it itself.
  db = await scratchDatabase('iot_e2e');
  await skipIotBacklog(kafka, 'east', 'west');
  const config = testRegionConfig(east, {
    ...process.env,
    MERIDIAN_EAST_POSTGRES_URL: db.url,
    MERIDIAN_EAST_IOT_BRIDGE_INSTANCE: 'e2e-iot',
    MERIDIAN_EAST_IOT_BRIDGE_CONNECTIONS: '2',
  });
  region = await startRegion(config, {
    identity,
    // Every domain (the gateway serves the whole supergraph), but only IoT's consumer groups: this
    // process takes no share of other domains' region-wide work.
    domains: DOMAINS,
    processors: IOT_PROCESSOR_SERVICES,
    ...(process.env.IOT_TEST_LOG ? { log: (line: string) => console.log(line) } : {}),
  });
  graphql = `http://127.0.0.1:${region.gatewayPort}/graphql`;
  hub = `http://127.0.0.1:${region.hubPort}/v1/stream`;
  raw = await tail(kafka, [IOT_EVENTS.telemetryRaw]);
});

after(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => {});
  await raw?.stop();
  await region?.stop();
  await db?.drop();
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

    await eventually(
      () =>
        assert.deepEqual(
          rawOf(r.mqttId).map((e) => e.data.seq),
          [0, 1, 2, 3, 4],
        ),
      { timeoutMs: 10_000 },
    );
    const first = raw.records.find((x) => x.key === r.mqttId);
    const envelope = fromKafkaMessage({ key: null, value: first?.value ?? null, headers: first?.headers });
    assert.deepEqual(
      [envelope.tenant, envelope.subject, envelope.source],
      [tenant, r.mqttId, '/regions/east/mqtt-bridge'],
    );

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

  it('online and offline show within 5 s: the device says online, its will says it is gone', async () => {
    const tenant = freshTenant('acme');
    const token = await tokenFor(tenant);
    const r = await register(token, 'pump-7');
    const stream = await openSse(`${hub}?topics=device.pump-7`, { authorization: `Bearer ${token}` });
    cleanup.push(async () => stream.close());
    const d = clientFor(r, { keepaliveSeconds: 2 });
    await d.connect();
    const online = await stream.next((f) => f.event === IOT_EVENTS.statusReported, 5000);
    assert.equal(JSON.parse(online.data).online, true);
    await eventually(
      async () =>
        assert.equal((await query<DeviceView>(token, DEVICE_VIEW, { id: 'pump-7' })).data?.device?.online, true),
      {
        timeoutMs: 5000,
        intervalMs: 100,
      },
    );
    const t0 = Date.now();
    d.kill(); // no DISCONNECT: the broker publishes the will
    const offline = await stream.next(
      (f) => f.event === IOT_EVENTS.statusReported && JSON.parse(f.data).online === false,
      5000,
    );
    assert.ok(offline);
    await eventually(
      async () =>
        assert.equal((await query<DeviceView>(token, DEVICE_VIEW, { id: 'pump-7' })).data?.device?.online, false),
      {
        timeoutMs: 5000,
        intervalMs: 100,
      },
    );
    assert.ok(Date.now() - t0 < 5000, `offline after ${Date.now() - t0} ms`);
  });

  it('the same device id in two tenants: separate credentials, topics, graph and hub', async () => {
    const [ta, tb] = [freshTenant('alpha'), freshTenant('beta')];
    const [tokA, tokB] = [await tokenFor(ta), await tokenFor(tb)];
    const a = await register(tokA, 'same-id');
    const b = await register(tokB, 'same-id');
    assert.notEqual(a.mqttId, b.mqttId);
    const streamB = await openSse(`${hub}?topics=device.same-id`, { authorization: `Bearer ${tokB}` });
    cleanup.push(async () => streamB.close());
    // A's password is not B's; A may not publish on B's topic.
    const wrong = createDeviceClient({
      url: withoutCredentials(endpoints.mqttUrl),
      username: b.username,
      password: a.password,
    });
    await assert.rejects(wrong.connect(), (err: { reasonCode?: number }) => err.reasonCode === 0x87);
    const da = clientFor(a);
    const db = clientFor(b);
    await Promise.all([da.connect(), db.connect()]);
    assert.equal(
      await da.publishRaw(
        `devices/${b.mqttId}/telemetry`,
        JSON.stringify({ seq: 0, ts: new Date().toISOString(), metrics: { x: 666 } }),
      ),
      0x87,
    );
    await da.sendTelemetry({ x: 1 });
    await db.sendTelemetry({ x: 2 });
    await eventually(
      async () => {
        const ra = await query<DeviceView>(tokA, DEVICE_VIEW, { id: 'same-id' });
        const rb = await query<DeviceView>(tokB, DEVICE_VIEW, { id: 'same-id' });
        assert.deepEqual(ra.data?.device?.latestReading?.metrics, [{ name: 'x', value: 1 }]);
        assert.deepEqual(rb.data?.device?.latestReading?.metrics, [{ name: 'x', value: 2 }]);
        assert.deepEqual([ra.data?.device?.tenant, rb.data?.device?.tenant], [ta, tb]);
      },
      { timeoutMs: 10_000, intervalMs: 200 },
    );
    const frame = await streamB.next((f) => f.event === IOT_EVENTS.telemetryRaw, 5000);
    assert.deepEqual(JSON.parse(frame.data).metrics, { x: 2 });
    await assert.rejects(
      streamB.next((f) => f.event === IOT_EVENTS.telemetryRaw && JSON.parse(f.data).metrics.x !== 2, 1000),
    );
    // The one graph: the same user id ("ops") in both tenants; `me` comes from commerce, its
    // devices from IoT (the federated User entity), each in the token's tenant only.
    const me = async (token: string) =>
      (
        await query<{ me: { id: string; devices: Array<{ id: string; tenant: string }> } }>(
          token,
          '{ me { id devices { id tenant } } }',
        )
      ).data?.me;
    assert.deepEqual(await me(tokA), { id: 'ops', devices: [{ id: 'same-id', tenant: ta }] });
    assert.deepEqual(await me(tokB), { id: 'ops', devices: [{ id: 'same-id', tenant: tb }] });
    // Nobody follows another tenant's device: a topic names a device of the caller's tenant only.
    const tokC = await tokenFor(freshTenant('gamma'));
    const denied = await openSse(`${hub}?topics=device.same-id`, { authorization: `Bearer ${tokC}` });
    assert.equal(denied.status, 403);
    denied.close();
    const noScope = await openSse(`${hub}?topics=device.same-id`, {
      authorization: `Bearer ${await tokenFor(ta, [])}`,
    });
    assert.equal(noScope.status, 403);
    noScope.close();
    assert.equal((await query<DeviceView>(tokC, DEVICE_VIEW, { id: 'same-id' })).data?.device, null);
  });

  it('bad input gets a clear error code and changes nothing', async () => {
    const tenant = freshTenant('acme');
    const token = await tokenFor(tenant);
    const reg = (input: Record<string, unknown>, tok: string | null = token) =>
      gql<{ registerDevice: unknown }>(
        graphql,
        'mutation($input: RegisterDeviceInput!) { registerDevice(input: $input) { device { id } } }',
        { input },
        tok ? { authorization: `Bearer ${tok}` } : {},
      );
    const ok = { name: 'n', model: 'm-1', firmwareVersion: '1.0.0' };
    const cases: Array<[Record<string, unknown>, string | null, string]> = [
      [{ ...ok, id: 'bad id!' }, token, 'BAD_USER_INPUT'],
      [{ ...ok, id: 'dot.ted' }, token, 'BAD_USER_INPUT'],
      [{ ...ok, id: 'x', model: '' }, token, 'BAD_USER_INPUT'],
      [{ ...ok, id: 'x', firmwareVersion: 'v 1' }, token, 'BAD_USER_INPUT'],
      [{ ...ok, id: 'x', name: 'a'.repeat(101) }, token, 'BAD_USER_INPUT'],
      [{ ...ok, id: 'x' }, await tokenFor(tenant, ['devices:read']), 'FORBIDDEN'],
      [{ ...ok, id: 'x' }, null, 'UNAUTHENTICATED'],
    ];
    for (const [input, tok, code] of cases) {
      const res = await reg(input, tok);
      assert.equal(res.errors?.[0]?.extensions?.code, code, JSON.stringify([input, res.errors]));
    }
    const listed = await query<{ devices: unknown[] }>(token, '{ devices { id } }');
    assert.deepEqual(listed.data?.devices, [], 'nothing was registered');
    await register(token, 'dup');
    assert.equal((await reg({ ...ok, id: 'dup' })).errors?.[0]?.extensions?.code, 'DEVICE_ALREADY_EXISTS');
    for (const m of ['revokeDevice', 'rotateDeviceCredentials']) {
      const res = await query(token, `mutation { ${m}(id: "nope") { __typename } }`);
      assert.equal(res.errors?.[0]?.extensions?.code, 'DEVICE_NOT_FOUND', m);
    }
    const bad = await query(
      token,
      `{ device(id: "dup") { telemetry(metric: "t", from: "yesterday", to: "now") { count } } }`,
    );
    assert.equal(bad.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
  });

  it('revocation disconnects within 2 s and refuses the next CONNECT, in both regions; rotation needs no broker restart', async () => {
    const tenant = freshTenant('acme');
    const token = await tokenFor(tenant);
    const r = await register(token, 'gate-1');
    const d = clientFor(r, { mqtt: { reconnectPeriod: 0 } });
    await d.connect();
    const rotated = await query<{
      rotateDeviceCredentials: { credentials: { password: string; credentialVersion: number } };
    }>(token, 'mutation { rotateDeviceCredentials(id: "gate-1") { credentials { password credentialVersion } } }');
    const fresh = rotated.data?.rotateDeviceCredentials.credentials;
    assert.equal(fresh?.credentialVersion, 2);
    for (const url of [endpoints.mqttUrl, resolveEndpoints('west', process.env).mqttUrl]) {
      const old = createDeviceClient({ url: withoutCredentials(url), username: r.username, password: r.password });
      await assert.rejects(old.connect(), (err: { reasonCode?: number }) => err.reasonCode === 0x87);
    }
    const d2 = clientFor({ ...r, password: fresh?.password as string }, { mqtt: { reconnectPeriod: 0 } });
    await d2.connect();
    const closed = new Promise<number>((resolve) => d2.client.once('close', () => resolve(Date.now())));
    const t0 = Date.now();
    const revoked = await query<{ revokeDevice: { state: string } }>(
      token,
      'mutation { revokeDevice(id: "gate-1") { state } }',
    );
    assert.equal(revoked.data?.revokeDevice.state, 'REVOKED');
    const at = await closed;
    assert.ok(at - t0 < 2000, `disconnected after ${at - t0} ms`);
    for (const url of [endpoints.mqttUrl, resolveEndpoints('west', process.env).mqttUrl]) {
      const again = createDeviceClient({
        url: withoutCredentials(url),
        username: r.username,
        password: fresh?.password as string,
      });
      await assert.rejects(again.connect(), (err: { reasonCode?: number }) => err.reasonCode === 0x87);
    }
    const after = await query<{ rotateDeviceCredentials: unknown }>(
      token,
      'mutation { rotateDeviceCredentials(id: "gate-1") { device { id } } }',
    );
    assert.equal(after.errors?.[0]?.extensions?.code, 'DEVICE_REVOKED');
  });

  it('one-minute windows equal a recomputation from the raw topic (late readings left out by both)', async () => {
    const tenant = freshTenant('acme');
    const token = await tokenFor(tenant);
    const r = await register(token, 'meter-1');
    const d = clientFor(r);
    await d.connect();
    const now = Date.now();
    // 150 readings over the last ~2 minutes (device time), plus two from 10 minutes ago (late).
    for (let i = 0; i < 150; i++) {
      const ts = new Date(now - 115_000 + i * 750).toISOString();
      await d.sendTelemetry({ power: Math.round(1000 * Math.sin(i / 7)) / 10, volts: 230 + (i % 3) }, { ts });
    }
    await d.sendTelemetry({ power: 9999 }, { ts: new Date(now - 600_000).toISOString() });
    await d.sendTelemetry({ power: -9999 }, { ts: new Date(now - 601_000).toISOString() });
    await eventually(() => assert.equal(rawOf(r.mqttId).length, 152), { timeoutMs: 10_000 });
    const readings = rawOf(r.mqttId).map(({ data }) => ({
      seq: data.seq,
      ts: data.ts,
      receivedAt: data.receivedAt,
      metrics: data.metrics,
    }));
    const expected = [...computeWindows(readings).values()]
      .filter((w) => w.metric === 'power')
      .sort((a, b) => (a.start < b.start ? -1 : 1))
      .map((w) => ({ start: w.start, count: w.count, min: w.min, max: w.max, avg: w.sum / w.count, last: w.last }));
    assert.ok(expected.length >= 2 && expected.every((w) => w.max < 9999), JSON.stringify(expected));
    const from = new Date(now - 3_600_000).toISOString();
    const to = new Date(now + 60_000).toISOString();
    await eventually(
      async () => {
        const res = await query<{
          device: {
            telemetry: Array<{ start: string; count: number; min: number; max: number; avg: number; last: number }>;
          };
        }>(
          token,
          'query($from: String!, $to: String!) { device(id: "meter-1") { telemetry(metric: "power", from: $from, to: $to) { start count min max avg last } } }',
          { from, to },
        );
        const got = res.data?.device.telemetry.map((w) => ({ ...w, avg: Number(w.avg.toFixed(9)) }));
        assert.deepEqual(
          got,
          expected.map((w) => ({ ...w, avg: Number(w.avg.toFixed(9)) })),
          JSON.stringify(res.errors),
        );
      },
      { timeoutMs: 20_000, intervalMs: 250 },
    );
  });

  it('a firmware rollout to 20 devices with 2 failing stops itself at the threshold, within its concurrency cap', async () => {
    const tenant = freshTenant('fleet');
    const token = await tokenFor(tenant);
    const model = `fw-${RUN}`;
    const fleet = await registerFleet({
      graphql,
      token,
      count: 20,
      prefix: 'fw',
      model,
      region: 'east',
      client: (i) => ({ firmware: { fail: i < 2, stepMs: 40 } }),
    });
    cleanup.push(
      () => fleet.revoke(),
      () => fleet.close(),
    );
    await fleet.connect();
    const started = await query<{ startFirmwareRollout: { id: string; status: string; counts: { queued: number } } }>(
      token,
      `mutation($input: StartFirmwareRolloutInput!) { startFirmwareRollout(input: $input) { id status counts { queued } } }`,
      {
        input: {
          model,
          version: '2.0.0',
          url: 'https://firmware.example/th/2.0.0.bin',
          checksum: `sha256:${'ab'.repeat(32)}`,
          maxConcurrent: 2,
          failureThresholdPercent: 20,
          minExecuted: 5,
          jobTimeoutSeconds: 30,
        },
      },
    );
    const id = started.data?.startFirmwareRollout.id as string;
    assert.ok(id, JSON.stringify(started.errors));
    const stream = await openSse(`${hub}?topics=rollout.${id}`, { authorization: `Bearer ${token}` });
    cleanup.push(async () => stream.close());
    type Counts = Record<'queued' | 'sent' | 'inProgress' | 'succeeded' | 'failed' | 'timedOut' | 'canceled', number>;
    type View = {
      firmwareRollout: {
        status: string;
        reason: string | null;
        counts: Counts;
        jobs: Array<{ deviceId: string; status: string; reason: string | null }>;
      };
    };
    let busiest = 0;
    const view = await eventually(
      async () => {
        const res = await query<View>(
          token,
          `query($id: ID!) { firmwareRollout(id: $id) { status reason counts { queued sent inProgress succeeded failed timedOut canceled }
             jobs { deviceId status reason } } }`,
          { id },
        );
        const r = res.data?.firmwareRollout;
        assert.ok(r, JSON.stringify(res.errors));
        busiest = Math.max(busiest, r.counts.sent + r.counts.inProgress);
        assert.equal(r.status, 'ABORTED');
        assert.equal(r.counts.sent + r.counts.inProgress, 0, 'jobs already on devices finish');
        return r;
      },
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    assert.ok(busiest <= 2, `at most 2 jobs at once, saw ${busiest}`);
    const c = view.counts;
    assert.equal(c.failed, 2);
    assert.ok(c.succeeded >= 3 && c.succeeded <= 4, JSON.stringify(c));
    assert.equal(c.canceled, 20 - 2 - c.succeeded);
    assert.equal(c.queued + c.timedOut, 0);
    assert.match(view.reason ?? '', /2 of [56] finished jobs failed .* threshold 20%/);
    const byDevice = new Map(view.jobs.map((j) => [j.deviceId, j]));
    assert.deepEqual(
      ['fw-00', 'fw-01'].map((dv) => [byDevice.get(dv)?.status, byDevice.get(dv)?.reason]),
      [
        ['FAILED', 'checksum mismatch after download'],
        ['FAILED', 'checksum mismatch after download'],
      ],
    );
    // Canceled jobs were never sent; succeeded devices run the new firmware, failed ones the old.
    fleet.registered.forEach((r, i) => {
      const job = byDevice.get(r.id);
      if (job?.status === 'CANCELED') assert.equal(fleet.devices[i]?.firmwareCommands.length, 0, r.id);
      else assert.equal(fleet.devices[i]?.firmwareCommands[0]?.version, '2.0.0', r.id);
    });
    await eventually(
      async () => {
        const versions = await mapLimit(fleet.registered, 8, async (r) => {
          const res = await query<DeviceView>(token, DEVICE_VIEW, { id: r.id });
          return [r.id, res.data?.device?.firmwareVersion];
        });
        for (const [dv, version] of versions) {
          assert.equal(version, byDevice.get(dv as string)?.status === 'SUCCEEDED' ? '2.0.0' : '1.0.0', dv as string);
        }
      },
      { timeoutMs: 10_000, intervalMs: 200 },
    );
    const finished = await stream.next((f) => f.event === IOT_EVENTS.rolloutFinished, 5000);
    assert.equal(JSON.parse(finished.data).status, 'ABORTED');
  });

  it('an offline device gets its job when it reconnects; a silent one times out', async () => {
    const tenant = freshTenant('fleet');
    const token = await tokenFor(tenant);
    const sleeper = await register(token, 'sleeper');
    const silent = await register(token, 'silent');
    const first = clientFor(sleeper);
    await first.connect(); // a session with its subscription, kept while it is away
    await first.close();
    const quiet = clientFor(silent, { firmware: { silent: true } });
    await quiet.connect();
    const started = await query<{ startFirmwareRollout: { id: string } }>(
      token,
      `mutation($input: StartFirmwareRolloutInput!) { startFirmwareRollout(input: $input) { id } }`,
      {
        input: {
          deviceIds: ['sleeper', 'silent'],
          version: '1.1.0',
          url: 'https://firmware.example/1.1.0.bin',
          checksum: `sha256:${'cd'.repeat(32)}`,
          jobTimeoutSeconds: 3,
        },
      },
    );
    const id = started.data?.startFirmwareRollout.id as string;
    assert.ok(id, JSON.stringify(started.errors));
    const jobsOf = async () =>
      (
        await query<{ firmwareRollout: { status: string; jobs: Array<{ deviceId: string; status: string }> } }>(
          token,
          'query($id: ID!) { firmwareRollout(id: $id) { status jobs { deviceId status } } }',
          { id },
        )
      ).data?.firmwareRollout;
    await eventually(
      async () => assert.equal((await jobsOf())?.jobs.find((j) => j.deviceId === 'sleeper')?.status, 'SENT'),
      {
        timeoutMs: 5000,
        intervalMs: 100,
      },
    );
    const back = clientFor(sleeper);
    await back.connect();
    const done = await eventually(
      async () => {
        const r = await jobsOf();
        assert.equal(r?.status, 'COMPLETED_WITH_FAILURES');
        return r;
      },
      { timeoutMs: 15_000, intervalMs: 200 },
    );
    assert.deepEqual(done?.jobs.map((j) => [j.deviceId, j.status]).sort(), [
      ['silent', 'TIMED_OUT'],
      ['sleeper', 'SUCCEEDED'],
    ]);
    assert.equal(back.firmwareCommands[0]?.version, '1.1.0');
    const jobs = await query<{ device: { firmwareJobs: Array<{ status: string; rolloutId: string }> } }>(
      token,
      '{ device(id: "silent") { firmwareJobs { status rolloutId } } }',
    );
    assert.deepEqual(jobs.data?.device.firmwareJobs, [{ status: 'TIMED_OUT', rolloutId: id }]);
  });
});
