/**
 * Chat benchmark on the real stack. Both regions run as their own processes
 * (e2e/bench/chat-region.ts: the chat domain on a scratch database each), with the real Kafka
 * and MirrorMaker 2 between them.
 *
 * 1. Delivery latency, cross-region against intra-region in the same run: a sender in east
 *    posts over the hub's WebSocket; one member reads in east (outbox → Kafka east → hub), one
 *    in west (… → MirrorMaker 2 → Kafka west → hub). Same messages, same clock (this process).
 *    Design SLO p95 < 600 ms cross-region, < 150 ms intra-region; goal p95 < 300 ms.
 * 2. One hub (east) holding 10,000 concurrent WebSocket connections, opened by 4 generator
 *    processes (e2e/bench/chat-load.ts), every one subscribed to its room: messages to a
 *    1,000-member room, delivery p50/p95/p99 over all deliveries and the time until the last
 *    member had each message, against one subscriber of a one-member room on the same hub
 *    before the 10,000 connected (baseline, same run); the hub's resident memory per
 *    connection; hub and generator CPU.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT } from '../../infra/stack/paths.ts';
import { hubSocketUrl, live, liveClient } from '../../regions/hub/testing.ts';
import { createDevIssuer } from '../../regions/identity/dev-issuer.ts';
import { createRoom, gqlAs, waitForRoom } from '../support/chat.ts';
import { fmt, summarize } from './stats.ts';

const MESSAGES = Number(process.env.BENCH_CHAT_MESSAGES ?? 300);
const CONNECTIONS = Number(process.env.BENCH_CHAT_CONNECTIONS ?? 10_000);
const ROOM_MEMBERS = Number(process.env.BENCH_CHAT_ROOM_MEMBERS ?? 1000);
const FANOUT_MESSAGES = Number(process.env.BENCH_CHAT_FANOUT_MESSAGES ?? 20);
const GENERATORS = 4;

const wallNow = () => performance.timeOrigin + performance.now();
const keyFile = path.join(mkdtempSync(path.join(tmpdir(), 'meridian-chat-bench-')), 'dev-issuer.jwk.json');
const issuer = createDevIssuer({ keyFile });
await issuer.jwks();
const tenant = `bench-${randomUUID().slice(0, 8)}`;
const token = async (sub: string) => (await issuer.issue({ sub, tenant, scopes: [] })).access_token;

interface RegionChild {
  readonly child: ChildProcess;
  readonly gatewayPort: number;
  readonly hubPort: number;
  readonly pid: number;
}

function startRegion(name: 'east' | 'west'): Promise<RegionChild> {
  const child = spawn(
    process.execPath,
    ['--disable-warning=TimeoutNegativeWarning', path.join(REPO_ROOT, 'e2e/bench/chat-region.ts'), name, keyFile],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n').find((l) => l.startsWith('{"ready"'));
      if (line) resolve({ child, ...(JSON.parse(line) as Omit<RegionChild, 'child'>) });
    });
    child.once('exit', (code) => reject(new Error(`region ${name} exited (${code}) before it was ready`)));
  });
}

/** Resident memory (KiB → MiB) and CPU seconds of a process, from /proc. */
function procStats(pid: number): { rssMiB: number; cpuSeconds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14 and 15 of stat)
  return { rssMiB: rssKiB / 1024, cpuSeconds: ticks / 100 };
}

const gateway = (r: RegionChild) => `http://127.0.0.1:${r.gatewayPort}/graphql`;
const SEND = 'mutation($i: SendMessageInput!) { sendMessage(input: $i) { id } }';

const [east, west] = await Promise.all([startRegion('east'), startRegion('west')]);
const generators: ChildProcess[] = [];
try {
  // ── 1. cross-region against intra-region delivery ──────────────────────────────────────
  const [alice, carol, bob] = await Promise.all(['alice', 'carol', 'bob'].map(token));
  const roomId = await createRoom(gateway(east), alice as string, 'latency', ['carol', 'bob']);
  await waitForRoom(gateway(west), bob as string, roomId, 120_000);
  const sender = liveClient(hubSocketUrl(east.hubPort), alice as string);
  const intra = liveClient(hubSocketUrl(east.hubPort), carol as string);
  const cross = liveClient(hubSocketUrl(west.hubPort), bob as string);
  const query = 'subscription($r: ID!) { messageAdded(roomId: $r) { body } }';
  const atIntra = live(intra, { query, variables: { r: roomId } });
  const atCross = live(cross, { query, variables: { r: roomId } });
  await sleep(500);
  const post = (body: string) =>
    live(sender, { query: SEND, variables: { i: { roomId, clientMessageId: `cm-${randomUUID()}`, body } } }).next(
      10_000,
    );
  // Warm up: MirrorMaker 2 may still be picking the topics up on a fresh stack.
  const t0 = Date.now();
  for (;;) {
    await post(`warmup ${Date.now()}`);
    try {
      await atCross.next(2000);
      break;
    } catch {
      if (Date.now() - t0 > 120_000) throw new Error('nothing reached west in 120 s');
    }
  }
  await sleep(2000);
  atIntra.drain();
  atCross.drain();
  const receive = (sub: typeof atIntra, into: Map<number, number>) =>
    (async () => {
      while (into.size < MESSAGES) {
        const r = await sub.next(30_000);
        const m = /^bench (\S+) (\d+)/.exec((r.data?.messageAdded as { body?: string } | undefined)?.body ?? '');
        if (m) into.set(Number(m[2]), wallNow() - Number(m[1]));
      }
    })();
  const intraLat = new Map<number, number>();
  const crossLat = new Map<number, number>();
  const receiving = Promise.all([receive(atIntra, intraLat), receive(atCross, crossLat)]);
  for (let i = 0; i < MESSAGES; i++) {
    await post(`bench ${wallNow()} ${i}`);
    await sleep(55); // under the hub's per-user budget of 20 operations a second
  }
  await receiving;
  const intraSummary = summarize([...intraLat.values()]);
  const crossSummary = summarize([...crossLat.values()]);
  console.log(`chat delivery, ${MESSAGES} messages sent over the east hub's WebSocket`);
  console.log(`  intra-region (east → east)               ${fmt(intraSummary)}`);
  console.log(`  cross-region (east → MM2 → west)         ${fmt(crossSummary)}`);
  console.log(
    `  ratio cross/intra: p50 ${(crossSummary.p50 / intraSummary.p50).toFixed(2)}x, p95 ${(crossSummary.p95 / intraSummary.p95).toFixed(2)}x, p99 ${(crossSummary.p99 / intraSummary.p99).toFixed(2)}x`,
  );
  console.log(
    `  SLO p95: cross ${crossSummary.p95.toFixed(0)} ms (< 600 ${crossSummary.p95 < 600 ? 'met' : 'MISSED'}; goal < 300 ${crossSummary.p95 < 300 ? 'met' : 'missed'}), intra ${intraSummary.p95.toFixed(0)} ms (< 150 ${intraSummary.p95 < 150 ? 'met' : 'MISSED'})`,
  );
  await Promise.all([sender.dispose(), intra.dispose(), cross.dispose()]);

  // ── 2. one hub, 10,000 connections, a 1,000-member room ─────────────────────────────────
  const owner = await token('owner');
  const users = Array.from({ length: CONNECTIONS }, (_, i) => `u${i}`);
  const rooms: string[] = [];
  for (let from = 0; from < CONNECTIONS; from += ROOM_MEMBERS) {
    rooms.push(await createRoom(gateway(east), owner, `fan-out ${from}`, users.slice(from, from + ROOM_MEMBERS)));
  }
  const big = rooms[0] as string;
  const soloRoom = await createRoom(gateway(east), owner, 'solo', ['solo']);
  const send = (room: string, i: number) =>
    gqlAs(gateway(east), owner, SEND, {
      i: { roomId: room, clientMessageId: `cm-${randomUUID()}`, body: `bench ${wallNow()} ${i} fan-out` },
    });

  for (let g = 0; g < GENERATORS; g++) {
    generators.push(
      fork(path.join(REPO_ROOT, 'e2e/bench/chat-load.ts'), [], {
        execArgv: ['--disable-warning=TimeoutNegativeWarning'],
      }),
    );
  }
  type Reply = {
    type: string;
    open?: number;
    latencies?: Array<[number, number]>;
    cpuPercent?: number;
    rssMiB?: number;
    closeCodes?: Record<string, number>;
  };
  const ask = (g: ChildProcess, cmd: unknown, type: string) =>
    new Promise<Reply>((resolve) => {
      const on = (m: Reply) => {
        if (m.type !== type) return;
        g.off('message', on);
        resolve(m);
      };
      g.on('message', on);
      g.send(cmd as never);
    });
  const url = hubSocketUrl(east.hubPort);
  const collectAll = async () => Promise.all(generators.map((g) => ask(g, { type: 'collect' }, 'collected')));

  // Baseline: the quiet hub, one subscriber of a one-member room.
  await ask(
    generators[0] as ChildProcess,
    { type: 'open', url, keyFile, tenant, specs: [{ user: 'solo', roomId: soloRoom }], parallel: 1 },
    'opened',
  );
  await sleep(500);
  await send(soloRoom, -1);
  await sleep(1000);
  await collectAll();
  for (let i = 0; i < FANOUT_MESSAGES; i++) {
    await send(soloRoom, i);
    await sleep(250);
  }
  await sleep(1500);
  const baseline = summarize((await collectAll()).flatMap((r) => (r.latencies ?? []).map(([, ms]) => ms)));

  const before = procStats(east.pid);
  const opening = performance.now();
  const opened = await Promise.all(
    generators.map((g, n) => {
      const specs = users
        .map((user, i) => ({ user, roomId: rooms[Math.floor(i / ROOM_MEMBERS)] as string }))
        .filter((_, i) => i % GENERATORS === n);
      return ask(g, { type: 'open', url, keyFile, tenant, specs, parallel: 50 }, 'opened');
    }),
  );
  const connected = opened.reduce((n, r) => n + (r.open ?? 0), 0) - 1;
  const openSeconds = (performance.now() - opening) / 1000;
  await sleep(5000);
  const held = procStats(east.pid);
  // Warm the fan-out path, then measure.
  await send(big, -1);
  await sleep(3000);
  await collectAll();
  const cpu0 = procStats(east.pid).cpuSeconds;
  const measuring = performance.now();
  for (let i = 0; i < FANOUT_MESSAGES; i++) {
    await send(big, i);
    await sleep(1000);
  }
  await sleep(3000);
  const replies = await collectAll();
  const hubCpu = ((procStats(east.pid).cpuSeconds - cpu0) / ((performance.now() - measuring) / 1000)) * 100;
  const deliveries = replies.flatMap((r) => r.latencies ?? []);
  const fanout = summarize(deliveries.map(([, ms]) => ms));
  const lastMember = new Map<number, number>();
  for (const [i, ms] of deliveries) lastMember.set(i, Math.max(lastMember.get(i) ?? 0, ms));
  const complete = summarize([...lastMember.values()]);
  const perConnKiB = ((held.rssMiB - before.rssMiB) * 1024) / Math.max(connected, 1);
  console.log(
    `one hub, ${connected} concurrent WebSocket connections (opened in ${openSeconds.toFixed(1)} s by ${GENERATORS} generator processes)`,
  );
  console.log(`  baseline: 1 subscriber, quiet hub       ${fmt(baseline)}`);
  console.log(
    `  ${ROOM_MEMBERS}-member room, ${FANOUT_MESSAGES} messages, ${deliveries.length}/${FANOUT_MESSAGES * ROOM_MEMBERS} deliveries  ${fmt(fanout)}`,
  );
  console.log(`  until the last member had it            ${fmt(complete)}`);
  console.log(
    `  ratio fan-out/baseline: p50 ${(fanout.p50 / baseline.p50).toFixed(1)}x, p99 ${(fanout.p99 / baseline.p99).toFixed(1)}x`,
  );
  console.log(
    `  hub resident memory ${before.rssMiB.toFixed(0)} → ${held.rssMiB.toFixed(0)} MiB: ${perConnKiB.toFixed(1)} KiB per connection`,
  );
  console.log(
    `  CPU while fanning out: hub ${hubCpu.toFixed(0)}%, generators ${replies.map((r) => `${(r.cpuPercent ?? 0).toFixed(0)}%`).join(' ')} (${replies.map((r) => `${(r.rssMiB ?? 0).toFixed(0)} MiB`).join(' ')})`,
  );
  const closes = replies.map((r) => r.closeCodes ?? {}).filter((c) => Object.keys(c).length > 0);
  if (closes.length) console.log(`  connections closed during the run: ${JSON.stringify(closes)}`);
} finally {
  for (const g of generators) g.send({ type: 'close' });
  for (const r of [east, west]) r.child.stdin?.end();
  await Promise.all(
    [east, west].map(
      (r) => new Promise((resolve) => (r.child.exitCode !== null ? resolve(undefined) : r.child.once('exit', resolve))),
    ),
  );
}
process.exit(0);
