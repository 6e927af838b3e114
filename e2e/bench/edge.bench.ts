/**
 * Edge benchmarks on the real stack: two regions and the edge each as a real process (the edge
 * on Deno, then on Node), load from `wrk` (an external generator; its CPU is reported beside
 * the servers'), three interleaved rounds, ratios against a baseline measured in the same run:
 * 1. cache hits — anonymous and authenticated, GET and POST, at 8 and 32 connections — against
 *    a bare Hono handler returning the same bytes on the same runtime, body and headers (goal
 *    ≥ 0.6× throughput, p99 ≤ 2×), and beside it one returning the body alone;
 * 2. misses (new variables every request) through the edge against the same requests straight
 *    at the region gateway (goal: the edge adds ≤ 10%);
 * 3. a 90/10 hot/cold mix through the edge against straight at the region gateway.
 * BENCH_BEFORE=<another checkout> adds that checkout's edge to every row ("before").
 * BENCH_DURATION_S (4), BENCH_ROUNDS (3), BENCH_RUNTIMES (deno,node) tune the run.
 */
import { REPO_ROOT } from '../../infra/stack/paths.ts';
import { type EdgeProcess, RUNTIMES, type Runtime, startEdge } from '../support/edge-process.ts';
import { BEFORE_ROOT, devToken, type Server, startBareHono, startRegionProcess } from './processes.ts';
import { type Case, runRounds, type Target } from './rounds.ts';
import { haveWrk, type WrkLoad, type WrkRequest } from './wrk.ts';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const runtimes = (process.env.BENCH_RUNTIMES?.split(',') ?? RUNTIMES) as Runtime[];
if (!(await haveWrk())) throw new Error('wrk is not installed: run `npm run stack -- up` (it installs Debian wrk)');

const HOT_QUERY = '{ products(first: 5) { id name price { formatted } } }';
const COLD_QUERY = 'query Cold($after: ID) { products(first: 3, after: $after) { id name } }';
const JSON_HEADERS = { 'content-type': 'application/json' };

const regions = await Promise.all([startRegionProcess('east'), startRegionProcess('west')]);
const [east, west] = regions as [(typeof regions)[0], (typeof regions)[0]];
const unlimited = '1000000';
const edgeEnv: Record<string, string> = {
  MERIDIAN_EDGE_EAST_GATEWAY_URL: east.url,
  MERIDIAN_EDGE_EAST_HUB_URL: `http://127.0.0.1:${east.hubPort}`,
  MERIDIAN_EDGE_WEST_GATEWAY_URL: west.url,
  MERIDIAN_EDGE_WEST_HUB_URL: `http://127.0.0.1:${west.hubPort}`,
  MERIDIAN_JWKS_URL: `${east.url}/.well-known/jwks.json`,
};
for (const policy of ['ANONYMOUS', 'CLIENT', 'TENANT']) {
  edgeEnv[`MERIDIAN_EDGE_${policy}_LIMIT_CAPACITY`] = unlimited;
  edgeEnv[`MERIDIAN_EDGE_${policy}_LIMIT_REFILL_PER_SECOND`] = unlimited;
}
const token = await devToken(east.url, 'bench-user', 'bench-tenant', ['orders:read']);
const bearer = { authorization: `Bearer ${token}` };

const hits: Record<string, WrkRequest> = {
  'anonymous GET': { path: `/graphql?query=${encodeURIComponent(HOT_QUERY)}` },
  'anonymous POST': {
    method: 'POST',
    path: '/graphql',
    headers: JSON_HEADERS,
    body: JSON.stringify({ query: HOT_QUERY }),
  },
  'authenticated GET': { path: `/graphql?query=${encodeURIComponent(HOT_QUERY)}`, headers: bearer },
  'authenticated POST': {
    method: 'POST',
    path: '/graphql',
    headers: { ...JSON_HEADERS, ...bearer },
    body: JSON.stringify({ query: HOT_QUERY }),
  },
};
/** A request of its own every time (new variables): a miss at the edge, a known query plan at the gateway. */
const cold: WrkRequest = {
  method: 'POST',
  path: '/graphql',
  headers: JSON_HEADERS,
  body: JSON.stringify({ query: COLD_QUERY, variables: { after: 'p-{{n}}' } }),
};
const hotMix: WrkRequest[] = Array.from({ length: 10 }, (_, i) => ({
  method: 'POST',
  path: '/graphql',
  headers: JSON_HEADERS,
  body: JSON.stringify({ query: `{ h${i}: products(first: ${i + 1}) { id name } }` }),
}));

async function send(base: string, r: WrkRequest): Promise<Response> {
  return fetch(`${base}${r.path}`, { method: r.method ?? 'GET', headers: r.headers, body: r.body });
}

/** Headers the runtime writes itself (framing, date): not part of what a handler returns. */
const RUNTIME_HEADERS = new Set(['content-length', 'date', 'connection', 'keep-alive', 'transfer-encoding']);

/** Throws unless `r` is answered from the edge cache (after one request that may miss); the hit's body and headers. */
async function assertHit(
  base: string,
  name: string,
  r: WrkRequest,
): Promise<{ body: string; headers: Record<string, string> }> {
  await (await send(base, r)).arrayBuffer();
  const res = await send(base, r);
  const body = await res.text();
  const status = res.headers.get('cache-status') ?? '';
  if (res.status !== 200 || !status.includes('; hit')) {
    throw new Error(`${name} at ${base} is not a cache hit: ${res.status} ${status} ${body.slice(0, 200)}`);
  }
  const headers: Record<string, string> = {};
  res.headers.forEach((value, key) => {
    if (!RUNTIME_HEADERS.has(key)) headers[key] = value;
  });
  return { body, headers };
}

const servers: Server[] = [];
/** Each hit case's headers (JSON), as the same-response baseline returns them. */
const hitHeaders = new Map<string, string>();
try {
  for (const runtime of runtimes) {
    const edges: Array<{ label: string; edge: EdgeProcess }> = [
      { label: `edge ${runtime}`, edge: await startEdge(runtime, edgeEnv) },
    ];
    if (BEFORE_ROOT) {
      edges.push({ label: `edge ${runtime} before`, edge: await startEdge(runtime, edgeEnv, { root: BEFORE_ROOT }) });
    }
    const [subject] = edges as [{ label: string; edge: EdgeProcess }];
    const { body } = await assertHit(subject.edge.url, 'anonymous GET', hits['anonymous GET'] as WrkRequest);
    const bare = await startBareHono(runtime, body);
    servers.push(bare);
    // The same response as a hit, headers included (Cache-Status, Age, ETag, RateLimit…): one bare
    // server per header set. On Deno a response whose only header is Content-Type takes a native
    // fast path that any more headers leave, so the body-only bare server stays as a second reference.
    const sameResponse = new Map<string, Server>();
    for (const [name, request] of Object.entries(hits)) {
      const { headers } = await assertHit(subject.edge.url, name, request);
      const key = JSON.stringify(headers);
      if (!sameResponse.has(key)) {
        const server = await startBareHono(runtime, body, { BENCH_HEADERS: key });
        servers.push(server);
        sameResponse.set(key, server);
      }
      hitHeaders.set(name, key);
    }
    const load = (url: string, pid: number, hot: WrkRequest[], connections: number, more: Partial<WrkLoad> = {}) => ({
      url,
      hot,
      connections,
      durationSeconds: DURATION_S,
      servers: { server: pid, ...more.servers },
      ...more,
    });
    const cases: Case[] = [];
    for (const connections of [8, 32]) {
      for (const [name, request] of Object.entries(hits)) {
        const same = sameResponse.get(hitHeaders.get(name) as string) as Server;
        const targets: Target[] = [
          { label: `bare Hono ${runtime}`, load: load(same.url, same.pid, [request], connections), server: 'server' },
          {
            label: `bare Hono ${runtime} body only`,
            load: load(bare.url, bare.pid, [request], connections),
            server: 'server',
          },
          ...edges.map(({ label, edge }) => ({
            label: `${label} hit`,
            load: load(edge.url, edge.child.pid as number, [request], connections),
            server: 'server',
          })),
        ];
        cases.push({
          name: `${runtime} ${name} c${connections}`,
          goal: 'edge hit ≥ 0.6× the bare handler’s throughput, p99 ≤ 2× (bare Hono: the same body and headers)',
          targets,
          alsoAgainst: `bare Hono ${runtime} body only`,
          check: async () => {
            for (const { edge } of edges) {
              const hit = await assertHit(edge.url, name, request);
              if (hit.body !== body) throw new Error(`${name}: other bytes than the baseline`);
              if (Object.keys(hit.headers).join() !== Object.keys(JSON.parse(hitHeaders.get(name) as string)).join())
                throw new Error(`${name}: other headers than the baseline`);
            }
          },
        });
      }
    }
    const viaRegion = (hot: WrkRequest[], coldEvery: number): Target => ({
      label: 'region gateway direct',
      load: load(east.url, east.pid, hot, 32, { cold, coldEvery, servers: { server: east.pid } }),
      server: 'server',
    });
    const viaEdges = (hot: WrkRequest[], coldEvery: number): Target[] =>
      edges.map(({ label, edge }) => ({
        label,
        load: load(edge.url, edge.child.pid as number, hot, 32, {
          cold,
          coldEvery,
          servers: { server: edge.child.pid as number, region: east.pid },
        }),
        server: 'server',
      }));
    cases.push({
      name: `${runtime} miss (new variables) c32`,
      targets: [viaRegion(hotMix, 1), ...viaEdges(hotMix, 1)],
    });
    cases.push({
      name: `${runtime} 90/10 hot/cold mix c32`,
      targets: [viaRegion(hotMix, 10), ...viaEdges(hotMix, 10)],
    });
    console.log(`\n── ${runtime} (${REPO_ROOT}${BEFORE_ROOT ? `; before: ${BEFORE_ROOT}` : ''}) ──`);
    await runRounds(cases, ROUNDS);
    // Purges from other writers on a shared stack turn hits into misses mid-run: say how many there were.
    for (const { label, edge } of edges) {
      const metrics = await (await fetch(`${edge.url}/metrics`)).text();
      const count = (series: string) =>
        metrics
          .split('\n')
          .find((line) => line.startsWith(`${series} `))
          ?.slice(series.length + 1) ?? '?';
      console.log(
        `[${label}] over the whole run: cache ${['hit', 'stale', 'miss'].map((r) => `${r} ${count(`meridian_edge_cache_requests_total{result="${r}"}`)}`).join(', ')}; ` +
          `purges soft ${count('meridian_edge_cache_purges_total{kind="soft"}')}, hard ${count('meridian_edge_cache_purges_total{kind="hard"}')}`,
      );
    }
    await bare.stop();
    for (const server of sameResponse.values()) await server.stop();
    for (const { edge } of edges) await edge.stop();
  }
} finally {
  await Promise.all([...servers, ...regions].map((s) => s.stop()));
}
process.exit(0);
