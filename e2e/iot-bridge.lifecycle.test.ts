/**
 * Zero loss through the MQTT → Kafka bridge, counted: 50 simulated devices (registered through
 * the graph) publish 10,000 QoS 1 readings to east's broker while bridge processes are SIGKILLed
 * and restarted and east's Kafka is restarted (with the stack's own `down`/`up`). Every reading
 * the broker accepted (PUBACK to the device) must be in Kafka, exactly once after deduplication
 * by event id, in seq order per device.
 *
 * The region runs in-process on a database of its own, with no bridge of its own: the three
 * bridge processes are the whole shared-subscription group. Kafka is brought back in `after`
 * whatever happens.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { IOT_EVENTS } from '../domains/iot/events.ts';
import { createKafka } from '../infra/adapters/kafka.ts';
import { eventually } from '../infra/adapters/testing.ts';
import { resolveEndpoints } from '../infra/config/endpoints.ts';
import { markEnd, readSince } from '../infra/events/kafka-tail.testing.ts';
import { telemetryEventId } from '../infra/iot/event-id.ts';
import { type ScratchDatabase, scratchDatabase } from '../infra/postgres/scratch-database.testing.ts';
import { REPO_ROOT } from '../infra/stack/paths.ts';
import { DOMAINS } from '../regions/domains.ts';
import { east } from '../regions/east.ts';
import { type RunningRegion, startRegion } from '../regions/host/region-host.ts';
import { testIdentity, testRegionConfig } from '../regions/host/testing.ts';
import { type Fleet, registerFleet } from './devices/fleet.ts';
import { publishPaced } from './devices/publish.ts';
import { type BridgeProcess, startBridge } from './support/bridge-process.ts';

const exec = promisify(execFile);
const DEVICES = 50;
const PER_DEVICE = 200;
const RATE = 10; // readings per second per device: 500/s in all, ~20 s of publishing

const kafka = createKafka({ brokers: resolveEndpoints('east', process.env).kafkaBrokers, clientId: 'iot-crash-test' });
let db: ScratchDatabase;
let region: RunningRegion;
let fleet: Fleet | undefined;
let mark: Awaited<ReturnType<typeof markEnd>>;
const bridges: BridgeProcess[] = [];
let stopped = false;
const log = (line: string) => console.log(`# ${new Date().toISOString().slice(11, 23)} ${line}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The stack's own command for one service (`down`/`up kafka-east`). */
async function stack(command: 'up' | 'down', service: string): Promise<void> {
  const t0 = Date.now();
  await exec(
    process.execPath,
    ['--disable-warning=TimeoutNegativeWarning', path.join(REPO_ROOT, 'infra/stack/cli.ts'), command, service],
    {
      cwd: REPO_ROOT,
      timeout: 180_000,
    },
  );
  log(`stack ${command} ${service} in ${Date.now() - t0} ms`);
}

async function restart(i: number, pauseMs: number): Promise<void> {
  const b = bridges[i] as BridgeProcess;
  await b.kill();
  log(`SIGKILL bridge ${b.instance}`);
  await sleep(pauseMs);
  bridges[i] = await startBridge('east', b.instance);
  log(`restarted bridge ${b.instance}`);
}

before(async () => {
  db = await scratchDatabase('iot_crash');
  const identity = testIdentity();
  const config = testRegionConfig(east, {
    ...process.env,
    MERIDIAN_EAST_POSTGRES_URL: db.url,
    MERIDIAN_EAST_IOT_BRIDGE_CONNECTIONS: '0',
  });
  region = await startRegion(config, {
    identity,
    domains: DOMAINS,
    // Registration only: no consumer groups (none of other domains' region-wide work, no IoT backlog).
    processors: false,
    log: (line) => {
      if (stopped || /failed/.test(line)) log(line);
    },
  });
  const issued = await identity.issuer?.issue({
    sub: 'ops',
    tenant: `crash-${randomUUID().slice(0, 8)}`,
    scopes: ['devices:write'],
  });
  assert.ok(issued);
  fleet = await registerFleet({
    graphql: `http://127.0.0.1:${region.gatewayPort}/graphql`,
    token: issued.access_token,
    count: DEVICES,
    prefix: 'crash',
    region: 'east',
  });
  await fleet.connect();
  for (let i = 0; i < 3; i++) bridges.push(await startBridge('east', `crash-test-${i}`));
  mark = await markEnd(kafka, [IOT_EVENTS.telemetryRaw]);
});

/** A cleanup step that may not hang the file. */
async function bounded(what: string, work: () => Promise<unknown>, ms = 30_000): Promise<void> {
  const t0 = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => (timer = setTimeout(() => resolve('timed out'), ms)));
  const outcome = await Promise.race([
    work().then(
      () => 'done',
      (err) => `failed: ${err}`,
    ),
    timeout,
  ]);
  clearTimeout(timer);
  log(`cleanup ${what}: ${outcome} (${Date.now() - t0} ms)`);
}

after(async () => {
  stopped = true;
  // Kafka first: whatever failed, east's Kafka must be running when this file ends.
  await bounded('kafka-east up', () => stack('up', 'kafka-east'), 180_000);
  for (const b of bridges) {
    const notes = b
      .output()
      .split('\n')
      .filter((l) => /waited|late|failed|stopped with/.test(l));
    if (notes.length) log(`bridge ${b.instance} said:\n${notes.slice(-20).join('\n')}`);
  }
  await bounded('bridges', () => Promise.allSettled(bridges.map((b) => b.stop())));
  await bounded('devices', async () => fleet?.close());
  await bounded('revoke', async () => fleet?.revoke());
  await bounded('region', async () => region?.stop());
  await bounded('database', async () => db?.drop());
  await bounded('kafka client', () => kafka.close());
});

describe('MQTT bridge under SIGKILL and a Kafka restart', () => {
  it('10,000 QoS 1 readings from 50 devices: every accepted one in Kafka, once after dedup by id, in order per device', async () => {
    const devices = fleet?.devices ?? [];
    const t0 = Date.now();
    const publishing = publishPaced(devices, { perDevice: PER_DEVICE, rate: RATE, stop: () => stopped });
    const chaos = (async () => {
      await sleep(3000);
      await restart(0, 1000);
      await sleep(2000);
      await Promise.all([restart(1, 1500), restart(2, 1500)]);
      await sleep(1500);
      const kafkaDown = stack('down', 'kafka-east');
      await sleep(1000);
      await restart(0, 1000); // killed while Kafka is going away: what it held stays with its sessions
      await kafkaDown;
      await stack('up', 'kafka-east');
    })();
    const [accepted] = await Promise.all([publishing, chaos]);
    log(`published for ${Date.now() - t0} ms; device retries ${accepted.retries}`);

    const expected = new Map<string, number[]>(accepted.byDevice);
    const total = [...expected.values()].reduce((n, seqs) => n + seqs.length, 0);
    assert.equal(total, DEVICES * PER_DEVICE, 'every reading was eventually accepted by the broker');

    // Read back after the fact, from where the topic ended before the run: a live consumer would
    // itself be disturbed by the Kafka restart this test causes.
    let records: Awaited<ReturnType<typeof readSince>> = [];
    const firsts = () => {
      const seen = new Set<string>();
      const byDevice = new Map<string, number[]>();
      for (const r of records) {
        if (!r.key || !expected.has(r.key)) continue;
        const { id, data } = JSON.parse(r.value?.toString() ?? '{}') as { id: string; data: { seq: number } };
        if (seen.has(id)) continue;
        seen.add(id);
        const seq = data.seq;
        assert.equal(id, telemetryEventId(r.key, seq), 'the event id is derived from the device and seq');
        const list = byDevice.get(r.key) ?? [];
        list.push(seq);
        byDevice.set(r.key, list);
      }
      return { byDevice, distinct: seen.size };
    };
    await eventually(
      async () => {
        records = await readSince(kafka, mark);
        assert.equal(firsts().distinct, total);
      },
      { timeoutMs: 180_000, intervalMs: 2000 },
    );
    const { byDevice, distinct } = firsts();
    const copies = records.filter((r) => r.key && expected.has(r.key)).length;
    log(
      `Kafka holds ${copies} records for ${distinct} distinct readings (${copies - distinct} duplicates absorbed by id)`,
    );
    for (const [device, seqs] of expected) {
      // Exactly the accepted readings, none missing, none extra, first occurrences in seq order.
      assert.deepEqual(
        byDevice.get(device),
        [...seqs].sort((a, b) => a - b),
        `${device}: complete and in order`,
      );
    }
  });
});
