/**
 * Social benchmarks on the real stack: two regions, each its own process on a database of its
 * own (e2e/bench/social-region.ts), the edge as its own process (Deno, as `npm start` runs it),
 * and read load from `wrk` (e2e/bench/wrk.ts):
 * 1. post → visible in a follower's feed, in the same region (east) and in the other (west),
 *    over BENCH_POSTS posts by an author with 100 followers; baseline: the createPost round trip.
 *    Visibility is polled through each region's gateway (a feed read, then 10 ms, again), so it
 *    includes up to one read and one pause. Goal: cross-region p95 < 500 ms (design SLO 2 s).
 * 2. feed reads (`feed(first: 20)`, 50 users in turn) through the edge against straight at the
 *    region gateway, in BENCH_ROUNDS (3) interleaved rounds: throughput and percentiles, with
 *    wrk's CPU beside the servers' (regions and edge), so a saturated generator shows.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createMongo } from '../../infra/adapters/mongo.ts';
import { createRedis } from '../../infra/adapters/redis.ts';
import { resolveEndpoints } from '../../infra/config/endpoints.ts';
import { deleteTenant, seedFollowers } from '../../infra/social/seed.testing.ts';
import { REPO_ROOT } from '../../infra/stack/paths.ts';
import { startEdge } from '../support/edge-process.ts';
import { FEED_QUERY, socialClient } from '../support/social-client.ts';
import { type Case, runRounds } from './rounds.ts';
import { fmt, summarize } from './stats.ts';
import { haveWrk, type WrkLoad, type WrkRequest } from './wrk.ts';

const POSTS = Number(process.env.BENCH_POSTS ?? 200);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const READERS = 50;
const FOLLOWERS = 100;
const tenant = `bench-${randomUUID().slice(0, 8)}`;
if (!(await haveWrk())) throw new Error('wrk is not installed: run `npm run stack -- up` (it installs Debian wrk)');

/** A region as its own process; resolves with its ports and pid once it is ready. */
async function regionProcess(region: 'east' | 'west', keyFile: string) {
  const child = spawn(
    process.execPath,
    ['--disable-warning=TimeoutNegativeWarning', path.join(REPO_ROOT, 'e2e/bench/social-region.ts'), region, keyFile],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  let out = '';
  const [gatewayPort, hubPort] = await new Promise<number[]>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /READY (\d+) (\d+)/.exec(out);
      if (m) resolve([Number(m[1]), Number(m[2])]);
    });
    child.once('exit', (code) => reject(new Error(`region ${region} exited (${code}): ${out}`)));
  });
  return {
    gatewayPort: gatewayPort as number,
    hubPort: hubPort as number,
    pid: child.pid as number,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.stdin.end(); // its signal to stop (see social-region.ts)
      }),
  };
}

const keyFile = path.join(mkdtempSync(path.join(tmpdir(), 'social-bench-')), 'dev-issuer.jwk.json');
const [re, rw] = await Promise.all([regionProcess('east', keyFile), regionProcess('west', keyFile)]);
const stores = (['east', 'west'] as const).map((r) => createMongo({ url: resolveEndpoints(r, process.env).mongoUrl }));
const redises = (['east', 'west'] as const).map((r) => createRedis({ url: resolveEndpoints(r, process.env).redisUrl }));
const gatewayOf = (port: number) => `http://127.0.0.1:${port}/graphql`;
async function token(sub: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${re.gatewayPort}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sub, tenant, scopes: [] }),
  });
  return ((await res.json()) as { access_token: string }).access_token;
}

try {
  // ── set-up: an author, a follower reading in both regions, and 100 more followers ──────────
  const eastUrl = gatewayOf(re.gatewayPort);
  const ann = socialClient(eastUrl, await token('ann'));
  await ann.setProfile('Ann');
  const bobToken = await token('bob');
  await socialClient(eastUrl, bobToken).setProfile('Bob');
  await socialClient(eastUrl, bobToken).follow('ann');
  const readers = Array.from({ length: FOLLOWERS }, (_, i) => `reader${String(i).padStart(3, '0')}`);
  // The same audience in both regions' stores (each region fans out from its own copy).
  for (const m of stores) await seedFollowers(m.db, tenant, 'ann', readers);
  const bobEast = socialClient(eastUrl, bobToken);
  const bobWest = socialClient(gatewayOf(rw.gatewayPort), bobToken);
  // Wait for the follow to reach west before measuring.
  await ann.post('warm-up');
  for (let i = 0; i < 300 && (await bobWest.feed(1)).posts.length === 0; i++)
    await new Promise((r) => setTimeout(r, 100));

  // ── 1. post → visible in a follower's feed ───────────────────────────────────────────────
  const rtt: number[] = [];
  const same: number[] = [];
  const cross: number[] = [];
  let missed = 0;
  const visible = async (reader: typeof bobEast, id: string, t0: number): Promise<number | undefined> => {
    while (performance.now() - t0 < 10_000) {
      if ((await reader.feed(1)).posts[0]?.id === id) return performance.now() - t0;
      // A short pause between reads: polling flat out would load the region it measures.
      await new Promise((r) => setTimeout(r, 10));
    }
    return undefined;
  };
  for (let i = 0; i < POSTS; i++) {
    const t0 = performance.now();
    const { id } = await ann.post(`bench post ${i}`);
    rtt.push(performance.now() - t0);
    const [e, w] = await Promise.all([visible(bobEast, id, t0), visible(bobWest, id, t0)]);
    if (e === undefined || w === undefined) missed++;
    if (e !== undefined) same.push(e);
    if (w !== undefined) cross.push(w);
  }
  const sRtt = summarize(rtt);
  const sSame = summarize(same);
  const sCross = summarize(cross);
  console.log(`createPost round trip (baseline)        ${fmt(sRtt)}`);
  console.log(`post → follower's feed, same region     ${fmt(sSame)}`);
  console.log(`post → follower's feed, other region    ${fmt(sCross)}  (goal p95 < 500 ms; design SLO 2000 ms)`);
  console.log(
    `ratios: same-region/RTT p50 ${(sSame.p50 / sRtt.p50).toFixed(1)}x; cross/same p50 ${(sCross.p50 / sSame.p50).toFixed(2)}x, p95 ${(sCross.p95 / sSame.p95).toFixed(2)}x; not visible within 10 s: ${missed}`,
  );

  // ── 2. feed reads: through the edge versus straight at the region gateway ─────────────────
  const edge = await startEdge('deno', {
    MERIDIAN_EDGE_EAST_GATEWAY_URL: `http://127.0.0.1:${re.gatewayPort}`,
    MERIDIAN_EDGE_EAST_HUB_URL: `http://127.0.0.1:${re.hubPort}`,
    MERIDIAN_EDGE_WEST_GATEWAY_URL: `http://127.0.0.1:${rw.gatewayPort}`,
    MERIDIAN_EDGE_WEST_HUB_URL: `http://127.0.0.1:${rw.hubPort}`,
    MERIDIAN_JWKS_URL: `http://127.0.0.1:${re.gatewayPort}/.well-known/jwks.json`,
    MERIDIAN_EDGE_NEAREST_REGION: 'east',
    // Unlimited for the benchmark: 50 readers of one tenant at >10k req/s spend over a million
    // cost units a second (a feed page costs about a hundred).
    MERIDIAN_EDGE_TENANT_LIMIT_CAPACITY: '1000000000',
    MERIDIAN_EDGE_TENANT_LIMIT_REFILL_PER_SECOND: '1000000000',
    MERIDIAN_EDGE_CLIENT_LIMIT_CAPACITY: '1000000000',
    MERIDIAN_EDGE_CLIENT_LIMIT_REFILL_PER_SECOND: '1000000000',
  });
  try {
    const headers = await Promise.all(
      readers.slice(0, READERS).map(async (r) => ({
        'content-type': 'application/json',
        authorization: `Bearer ${await token(r)}`,
      })),
    );
    const body = JSON.stringify({ query: FEED_QUERY, variables: { first: 20 } });
    for (const h of headers) {
      await fetch(`${edge.url}/graphql`, { method: 'POST', headers: h, body }).then((r) => r.arrayBuffer());
    }
    const requests: WrkRequest[] = headers.map((h) => ({ method: 'POST', path: '/graphql', headers: h, body }));
    const servers = { 'region east': re.pid, 'region west': rw.pid, edge: edge.child.pid as number };
    const load = (url: string): WrkLoad => ({
      url,
      hot: requests,
      connections: CONCURRENCY,
      durationSeconds: DURATION_S,
      servers,
    });
    const feedReads: Case = {
      name: `feed reads c${CONCURRENCY}, ${READERS} users in turn`,
      targets: [
        {
          label: 'straight at the east gateway',
          load: load(`http://127.0.0.1:${re.gatewayPort}`),
          server: 'region east',
        },
        { label: 'through the edge (Deno)', load: load(edge.url), server: 'edge' },
      ],
    };
    await runRounds([feedReads], ROUNDS);
  } finally {
    await edge.stop();
  }
} finally {
  for (const [i, m] of stores.entries()) {
    await deleteTenant(m.db, tenant);
    const redis = redises[i]?.client;
    const keys = (await redis?.keys(`social:feed:${tenant}:*`)) ?? [];
    if (keys.length) await redis?.del(...keys);
    await m.close();
    await redises[i]?.close();
  }
  await Promise.all([re.stop(), rw.stop()]);
}
process.exit(0);
