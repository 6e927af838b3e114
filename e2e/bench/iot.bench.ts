/**
 * IoT ingest benchmark (east): QoS 1 telemetry through the broker and the MQTT bridge into Kafka,
 * acknowledged, in msg/s, with 100 and 1,000 simulated devices; baseline in the same run: the
 * same devices publishing to a plain subscriber on the same broker (same shared group, as many
 * connections, acknowledging at once). Then publish → Kafka latency at a fixed, moderate rate, and
 * the bridge's resident memory.
 *
 * Devices are registered through the graph (a region on a database of its own, without a bridge);
 * the load comes from a separate generator process (e2e/bench/iot-load.ts) whose CPU is reported
 * beside the bridges' and the broker's. Throughput counts what reached its sink: records in Kafka
 * (read back afterwards) or messages at the plain subscriber, from the first publish to the last
 * arrival, so a sink that falls behind is measured, not hidden by the broker's fast PUBACKs.
 *
 * BENCH_IOT_SIZES (100,1000 devices), BENCH_IOT_DURATION_MS (15000), BENCH_IOT_BRIDGES (1
 * process, as each region process runs its bridge; more split the load but order each device's
 * readings across processes through the gate), BENCH_IOT_CONNECTIONS (4 per process),
 * BENCH_IOT_LATENCY_RATE (2000 msg/s), BENCH_IOT_BROKER_PID (the broker's CPU when the east MQTT
 * URL points at a broker the stack did not start).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { IOT_EVENTS } from '../../domains/iot/events.ts';
import { createKafka } from '../../infra/adapters/kafka.ts';
import { resolveEndpoints } from '../../infra/config/endpoints.ts';
import { LOCAL_MQTT_PASSWORD, MQTT_USERS, withCredentials } from '../../infra/config/mqtt-users.ts';
import { countSince, markEnd, readSince } from '../../infra/events/kafka-tail.testing.ts';
import { scratchDatabase } from '../../infra/postgres/scratch-database.testing.ts';
import { REPO_ROOT } from '../../infra/stack/paths.ts';
import { readTracked, startTimeOf } from '../../infra/stack/process.ts';
import { DOMAINS } from '../../regions/domains.ts';
import { east } from '../../regions/east.ts';
import { startRegion } from '../../regions/host/region-host.ts';
import { testIdentity, testRegionConfig } from '../../regions/host/testing.ts';
import { mapLimit, registerDevice, revokeDevices } from '../devices/fleet.ts';
import { type BridgeProcess, cpuMsOf, discardBridgeSessions, startBridge } from '../support/bridge-process.ts';
import { fmt, type Summary, summarize } from './stats.ts';

const DURATION = Number(process.env.BENCH_IOT_DURATION_MS ?? 15_000);
const BRIDGES = Number(process.env.BENCH_IOT_BRIDGES ?? 1);
const CONNECTIONS = Number(process.env.BENCH_IOT_CONNECTIONS ?? 4);
const LATENCY_RATE = Number(process.env.BENCH_IOT_LATENCY_RATE ?? 2000);
const SIZES = (process.env.BENCH_IOT_SIZES ?? '100,1000').split(',').map(Number);

const endpoints = resolveEndpoints('east', process.env);
const kafka = createKafka({ brokers: endpoints.kafkaBrokers, clientId: 'bench-iot' });
const node = process.execPath;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tenant = `bench-${randomUUID().slice(0, 6)}`;

/**
 * One IoT benchmark at a time: every run's bridges, plain subscribers and forwarders join the east
 * broker's one shared group, so a second run's members would take the first's readings (and a
 * member that stops leaves the broker dropping what it still routes to it: eclipse-mosquitto#2662).
 */
const lockFile = path.join(REPO_ROOT, '.stack', 'iot-bench.pid');
// The pid with its kernel start time, as the stack tracks its services: a recycled pid is no run.
const lock = JSON.stringify({ pid: process.pid, startTime: startTimeOf(process.pid) });
try {
  const other = JSON.parse(readFileSync(lockFile, 'utf8')) as { pid: number; startTime: string };
  if (other.pid !== process.pid && startTimeOf(other.pid) === other.startTime) {
    console.error(`another IoT benchmark is running (pid ${other.pid}, ${lockFile}): one at a time`);
    process.exit(2);
  }
} catch {
  // No lock (or an unreadable one): nobody else is running.
}
writeFileSync(lockFile, lock);
process.on('exit', () => {
  try {
    if (readFileSync(lockFile, 'utf8') === lock) unlinkSync(lockFile);
  } catch {
    // Already gone.
  }
});

const work = mkdtempSync(path.join(tmpdir(), 'meridian-iot-bench-'));
const credsFile = path.join(work, 'creds.json');

interface LoadReport {
  devices: number;
  sent: number;
  acked: number;
  failed: number;
  firstAt: number;
  lastAckAt: number;
  puback: Summary;
  cpuMs: number;
}

/** Runs a child to completion, resolving with its last JSON line. */
function runJson<T>(args: string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(node, ['--disable-warning=TimeoutNegativeWarning', ...args], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.on('exit', (code) => {
      const line = out
        .trim()
        .split('\n')
        .reverse()
        .find((l) => l.startsWith('{'));
      if (code !== 0 || !line) reject(new Error(`${args.join(' ')} exited ${code}: ${out}`));
      else resolve(JSON.parse(line) as T);
    });
  });
}

function load(count: number, opts: { rate?: number; durationMs?: number } = {}) {
  return runJson<LoadReport>([
    'e2e/bench/iot-load.ts',
    '--creds',
    credsFile,
    '--count',
    String(count),
    '--duration-ms',
    String(opts.durationMs ?? DURATION),
    '--rate',
    String(opts.rate ?? 0),
  ]);
}

/**
 * A sink of the benchmark's own (a script under e2e/bench): started, ready once it prints
 * {"ready":true}, later stopped with SIGTERM for the report it prints last (one JSON line).
 */
async function startSink<R>(script: string, args: string[]): Promise<{ stop(): Promise<R> }> {
  const child: ChildProcess = spawn(node, ['--disable-warning=TimeoutNegativeWarning', script, ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  while (!out.includes('"ready":true')) {
    if (child.exitCode !== null) throw new Error(`${script} exited: ${out}`);
    await sleep(50);
  }
  return {
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      return JSON.parse(out.trim().split('\n').pop() as string) as R;
    },
  };
}

/** The broker's URL with the bridge's credentials (the sinks take the bridge's subscriptions). */
const bridgeMqttUrl = () => withCredentials(endpoints.mqttUrl, MQTT_USERS.bridge, LOCAL_MQTT_PASSWORD);

/** The plain subscriber (iot-plain-subscriber.ts). */
const plainSubscriber = () =>
  startSink<{ received: number; lastAt: number; cpuMs: number }>('e2e/bench/iot-plain-subscriber.ts', [
    '--url',
    bridgeMqttUrl(),
    '--connections',
    String(BRIDGES * CONNECTIONS),
    '--tenant',
    tenant,
  ]);

/** Where the library floor forwards (a topic of its own, replicated west like every topic). */
const FLOOR_TOPIC = 'bench.iot-floor';

/** The library floor (iot-floor-forwarder.ts). */
const floorForwarder = (instance: string) =>
  startSink<{ forwarded: number; acked: number; cpuMs: number }>('e2e/bench/iot-floor-forwarder.ts', [
    '--url',
    bridgeMqttUrl(),
    '--connections',
    String(BRIDGES * CONNECTIONS),
    '--brokers',
    endpoints.kafkaBrokers.join(','),
    '--topic',
    FLOOR_TOPIC,
    '--instance',
    instance,
  ]);

/** The floor's topic, with as many partitions as the telemetry topic, kept an hour. */
async function ensureFloorTopic(): Promise<void> {
  const admin = await kafka.admin();
  const meta = await admin.fetchTopicMetadata({ topics: [IOT_EVENTS.telemetryRaw] });
  const partitions = meta.topics[0]?.partitions.length ?? 1;
  if (!(await admin.listTopics()).includes(FLOOR_TOPIC))
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        {
          topic: FLOOR_TOPIC,
          numPartitions: partitions,
          replicationFactor: 1,
          configEntries: [{ name: 'retention.ms', value: String(3_600_000) }],
        },
      ],
    });
}

const stackCpu = (id: string) => {
  // BENCH_IOT_BROKER_PID: the broker's process when it is not the stack's (an external MQTT URL).
  const pid = (id.startsWith('mosquitto') && Number(process.env.BENCH_IOT_BROKER_PID)) || readTracked(id)?.pid;
  return pid ? cpuMsOf(pid) : 0;
};
/**
 * Each phase's bridges under instance names of their own (this run's tenant and the phase): a
 * bridge resumes its sessions, and a phase must not inherit what an earlier one left queued.
 */
async function startBridges(phase: string): Promise<BridgeProcess[]> {
  const bridges: BridgeProcess[] = [];
  for (let b = 0; b < BRIDGES; b++)
    // A crashed run's members must not keep taking their share of the group for a week.
    bridges.push(
      await startBridge('east', `${tenant}-${phase}-${b}`, { connections: CONNECTIONS, sessionExpirySeconds: 300 }),
    );
  return bridges;
}

/** Stops the bridges and drops whatever their sessions still queue. */
async function stopBridges(bridges: readonly BridgeProcess[]): Promise<void> {
  await Promise.all(bridges.map((b) => b.stop()));
  // What the bridges logged (waits given up, Kafka retries) explains a slow run.
  for (const b of bridges) {
    const out = b.output().split('\n');
    const lines = out.filter((l) => l && !l.startsWith('{'));
    if (lines.length > CONNECTIONS + 1)
      console.log(`bridge ${b.instance} logged ${lines.length} lines, the first:\n  ${lines.slice(0, 8).join('\n  ')}`);
    const stopped = out.find((l) => l.startsWith('{"stopped"'));
    const st = stopped && (JSON.parse(stopped).stats as Record<string, number>);
    if (st)
      console.log(
        `  bridge ${b.instance}: ${st.batches} cycles, ${((st.acked ?? 0) / Math.max(1, st.batches ?? 0)).toFixed(0)} messages each; ` +
          `gate ${(st.gateMs ?? 0).toFixed(0)} ms, produce ${(st.produceMs ?? 0).toFixed(0)} ms of ${(st.cycleMs ?? 0).toFixed(0)} ms in cycles`,
      );
  }
  await Promise.all(bridges.map((b) => discardBridgeSessions('east', b.instance, CONNECTIONS)));
}

const pct = (ms: number, wallMs: number) => `${((100 * ms) / wallMs).toFixed(0)}%`;

/** The stack's processes a reading costs CPU in, besides the generator, the broker and the sink. */
const DOWNSTREAM = {
  'Kafka east': 'kafka-east',
  'MirrorMaker 2': 'mirrormaker',
  'Kafka west': 'kafka-west',
  'Redis east': 'redis-east',
};
const MQTT_BROKER = 'mosquitto-east';
/**
 * The CPU the broker and the stack's Kafka-side processes use from now on: call the result for
 * what each used since (ms).
 */
function stackCpuFromNow(): () => { broker: number; downstream: Record<string, number> } {
  const ids = [MQTT_BROKER, ...Object.values(DOWNSTREAM)];
  const before = ids.map(stackCpu);
  return () => {
    const used = ids.map((id, i) => stackCpu(id) - (before[i] as number));
    return {
      broker: used[0] as number,
      downstream: Object.fromEntries(Object.keys(DOWNSTREAM).map((name, i) => [name, used[i + 1] as number])),
    };
  };
}

/**
 * Waits until Kafka holds `acked` records past `mark` (at most 3 minutes): its offsets only, since
 * reading back hundreds of thousands of records every second took CPU from the sink it measures.
 */
async function untilInKafka(mark: Awaited<ReturnType<typeof markEnd>>, acked: number): Promise<void> {
  const deadline = Date.now() + 180_000;
  while ((await countSince(kafka, mark)) < acked && Date.now() < deadline) await sleep(500);
}

/** The whole machine's CPU time (all cores, ms), busy and in all, from /proc/stat. */
function machineCpu(): { busy: number; all: number } {
  const [user, nice, system, idle, iowait, irq, softirq, steal] = (
    readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? ''
  )
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number) as number[];
  const busy = (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0);
  return { busy: busy * 10, all: (busy + (idle ?? 0) + (iowait ?? 0)) * 10 };
}
/** CPU per reading by process (µs), its sum, and the rate the whole machine could sustain at that cost. */
function budget(
  parts: Record<string, number>,
  readings: number,
  before: { busy: number; all: number },
  now = machineCpu(),
): string {
  const cores = availableParallelism();
  const us = (ms: number) => (1000 * ms) / readings;
  const total = Object.values(parts).reduce((a, b) => a + b, 0);
  const shown = Object.entries(parts).map(([name, ms]) => `${name} ${us(ms).toFixed(0)}`);
  return (
    `CPU per reading (µs): ${shown.join(', ')}; sum ${us(total).toFixed(0)}: ${cores} cores at that cost carry ` +
    `${((cores * 1e6) / us(total)).toFixed(0)} msg/s (machine busy ${((100 * (now.busy - before.busy)) / (now.all - before.all)).toFixed(0)}% meanwhile)`
  );
}

async function main() {
  const db = await scratchDatabase('iot_bench');
  const identity = testIdentity();
  const region = await startRegion(
    testRegionConfig(east, {
      ...process.env,
      MERIDIAN_EAST_POSTGRES_URL: db.url,
      MERIDIAN_EAST_IOT_BRIDGE_CONNECTIONS: '0',
    }),
    // Registration only: no consumer groups (none of other domains' region-wide work, no IoT
    // backlog), and no live feeds: its IoT feed would read every reading the bridge produces, taking
    // the machine's CPU from what is measured (about half a core while the bridge drained, 2 Dec).
    { identity, domains: DOMAINS, processors: false, liveFeeds: false },
  );
  const graphql = `http://127.0.0.1:${region.gatewayPort}/graphql`;
  const issued = await identity.issuer?.issue({ sub: 'bench', tenant, scopes: ['devices:write'] });
  const token = issued?.access_token as string;
  const ids: string[] = [];
  try {
    const max = Math.max(...SIZES);
    const t0 = Date.now();
    const creds = await mapLimit(
      Array.from({ length: max }, (_, i) => i),
      16,
      async (i) => {
        const r = await registerDevice(graphql, token, {
          id: `b-${String(i).padStart(4, '0')}`,
          name: `bench ${i}`,
          model: 'bench',
          firmwareVersion: '1.0.0',
        });
        ids.push(r.id);
        return {
          url: (r.brokers.find((b) => b.region === 'east') ?? r.brokers[0])?.url,
          username: r.username,
          password: r.password,
          nextSeq: 0,
        };
      },
    );
    writeFileSync(credsFile, JSON.stringify(creds));
    console.log(
      `registered ${max} devices through the graph in ${((Date.now() - t0) / 1000).toFixed(1)} s (${tenant})`,
    );

    const results: string[] = [];
    for (const size of SIZES) {
      // Baseline: the same devices, a plain subscriber (acknowledges at once, no Kafka). Their
      // numbering is put back afterwards: the bridge's ordering gate never sees these readings, and
      // a device whose next reading at the bridge skipped numbers would wait (gapWaitMs) for them.
      const numbering = readFileSync(credsFile);
      const plain = await plainSubscriber();
      const baseStack = stackCpuFromNow();
      const machineBase0 = machineCpu();
      const base = await load(size);
      const machineBase1 = machineCpu();
      await sleep(2000); // whatever the broker still queued for the subscriber arrives
      const got = await plain.stop();
      writeFileSync(credsFile, numbering);
      const baseWall = Math.max(got.lastAt, base.lastAckAt) - base.firstAt;
      const baseRate = got.received / (baseWall / 1000);
      const brokerBase = baseStack().broker;
      const baseBudget = budget(
        { generator: base.cpuMs, broker: brokerBase, subscriber: got.cpuMs },
        got.received,
        machineBase0,
        machineBase1,
      );

      // The library floor: the bridge's MQTT layer and kafkajs with nothing else
      // (iot-floor-forwarder.ts), into a topic of its own. The numbering is put back here too.
      await ensureFloorTopic();
      const floorMark = await markEnd(kafka, [FLOOR_TOPIC]);
      const floor = await floorForwarder(`${tenant}-${size}`);
      const floorStack = stackCpuFromNow();
      const floorMachine0 = machineCpu();
      const floorRun = await load(size);
      await untilInKafka(floorMark, floorRun.acked);
      const floorMachine1 = machineCpu();
      const floorUsed = floorStack();
      const floorGot = await floor.stop();
      writeFileSync(credsFile, numbering);
      const floorMine = (await readSince(kafka, floorMark)).filter((r) => r.key?.startsWith(`${tenant}.`));
      const floorWall = floorMine.reduce((m, r) => Math.max(m, r.timestamp), 0) - floorRun.firstAt;
      const floorRate = floorMine.length / (floorWall / 1000);
      const floorBudget = budget(
        {
          generator: floorRun.cpuMs,
          broker: floorUsed.broker,
          forwarder: floorGot.cpuMs,
          ...floorUsed.downstream,
        },
        floorMine.length,
        floorMachine0,
        floorMachine1,
      );

      // The bridge: processes of their own, into Kafka (read back afterwards).
      const mark = await markEnd(kafka, [IOT_EVENTS.telemetryRaw]);
      const bridges = await startBridges(`${size}`);
      const cpuBridges0 = bridges.map((b) => b.cpuMs());
      const runStack = stackCpuFromNow();
      const machine0 = machineCpu();
      let rss = 0;
      const sampler = setInterval(() => {
        rss = Math.max(
          rss,
          bridges.reduce((n, b) => n + b.rssKiB(), 0),
        );
      }, 250);
      const run = await load(size);
      await untilInKafka(mark, run.acked);
      clearInterval(sampler);
      // CPU up to here: reading the records back below costs Kafka east (and this process) more.
      const bridgeCpu = bridges.reduce((n, b, i) => n + b.cpuMs() - (cpuBridges0[i] as number), 0);
      const { broker: brokerCpu, downstream: downstreamCpu } = runStack();
      const kafkaCpu = downstreamCpu['Kafka east'] as number;
      const machine1 = machineCpu();
      const inKafka = (await readSince(kafka, mark)).filter((r) => r.key?.startsWith(`${tenant}.`));
      const distinct = new Set(inKafka.map((r) => (JSON.parse(String(r.value)) as { id: string }).id)).size;
      const lastIn = inKafka.reduce((m, r) => Math.max(m, r.timestamp), 0);
      const wall = lastIn - run.firstAt;
      const rate = distinct / (wall / 1000);
      const runBudget = budget(
        {
          generator: run.cpuMs,
          broker: brokerCpu,
          bridges: bridgeCpu,
          ...downstreamCpu,
        },
        distinct,
        machine0,
        machine1,
      );
      const latency = summarize(
        inKafka.map((r) => r.timestamp - Date.parse(JSON.parse(r.value?.toString() ?? '{}').data.ts)),
      );
      await stopBridges(bridges);

      results.push(
        `${size} devices: bridge → Kafka ${rate.toFixed(0)} msg/s (${distinct} of ${run.acked} acknowledged in ${(wall / 1000).toFixed(1)} s; ` +
          `${inKafka.length - distinct} duplicates) vs plain subscriber ${baseRate.toFixed(0)} msg/s (${got.received}/${base.acked}); ` +
          `ratio ${(rate / baseRate).toFixed(2)}x`,
        `  CPU over the run: generator ${pct(run.cpuMs, DURATION)}, bridges ${pct(bridgeCpu, wall)}, broker ${pct(brokerCpu, wall)} ` +
          `(baseline: generator ${pct(base.cpuMs, DURATION)}, broker ${pct(brokerBase, baseWall)}), Kafka ${pct(kafkaCpu, wall)}`,
        `  bridge run: ${runBudget}`,
        `  baseline:   ${baseBudget}`,
        `  publish → Kafka at full load ${fmt(latency)}; device PUBACK ${fmt(run.puback)}`,
        `  bridge resident memory (${BRIDGES} processes, peak): ${(rss / 1024).toFixed(0)} MiB`,
        `  library floor (the bridge's MQTT layer and kafkajs, nothing else): ${floorRate.toFixed(0)} msg/s ` +
          `(${floorMine.length} of ${floorRun.acked} acknowledged in ${(floorWall / 1000).toFixed(1)} s); ` +
          `${(floorRate / baseRate).toFixed(2)}x the plain subscriber; the bridge ${(rate / floorRate).toFixed(2)}x the floor`,
        `  floor run:  ${floorBudget}`,
      );
      console.log(results.slice(-8).join('\n'));
    }

    // Latency at a moderate rate (the broker's queue empty): 1,000 devices, LATENCY_RATE msg/s.
    const mark = await markEnd(kafka, [IOT_EVENTS.telemetryRaw]);
    const bridges = await startBridges('paced');
    const idle = bridges.reduce((n, b) => n + b.rssKiB(), 0);
    let rss = 0;
    const sampler = setInterval(() => {
      rss = Math.max(
        rss,
        bridges.reduce((n, b) => n + b.rssKiB(), 0),
      );
    }, 250);
    const run = await load(max, { rate: LATENCY_RATE });
    await sleep(3000);
    clearInterval(sampler);
    const records = (await readSince(kafka, mark)).filter((r) => r.key?.startsWith(`${tenant}.`));
    const latency = summarize(
      records.map((r) => r.timestamp - Date.parse(JSON.parse(r.value?.toString() ?? '{}').data.ts)),
    );
    await stopBridges(bridges);
    const lines = [
      `publish → Kafka at ${LATENCY_RATE} msg/s from ${max} devices: ${fmt(latency)} (${records.length} of ${run.acked})`,
      `bridge resident memory: idle ${(idle / 1024).toFixed(0)} MiB, with ${max} devices at ${LATENCY_RATE} msg/s ${(rss / 1024).toFixed(0)} MiB ` +
        `(${BRIDGES} processes × ${CONNECTIONS} connections): ${((rss - idle) / 1024).toFixed(0)} MiB per 1,000 devices above idle`,
    ];
    console.log(lines.join('\n'));
    console.log(`\nsummary\n${[...results, ...lines].join('\n')}`);
  } finally {
    await revokeDevices(graphql, token, ids);
    await region.stop();
    await db.drop();
    await kafka.close();
  }
}

await main();
process.exit(0);
