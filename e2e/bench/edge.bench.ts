/**
 * Edge benchmarks on the real stack: two regions and the edge each as a real process (the
 * edge on each runtime in turn), the load generated from this process:
 * 1. cache-hit throughput and p99 on Deno and on Node, each against a bare Hono handler
 *    returning the same bytes on the same runtime (goal ≥ 0.8);
 * 2. hit versus miss latency;
 * 3. a 90/10 hot/cold query mix through the edge versus straight at the region gateway
 *    (goal ≥ 10× throughput).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { REPO_ROOT } from '../../infra/stack/paths.ts';
import { freePort, RUNTIMES, type Runtime, startEdge } from '../support/edge-process.ts';
import { fmtLoad, runLoad } from './load.ts';

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 6000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
/** A region as its own process (regions/main.ts) on free ports, so it does not share the load generator's CPU. */
async function regionProcess(region: 'east' | 'west') {
  const prefix = `MERIDIAN_${region.toUpperCase()}`;
  const ports = { gatewayPort: await freePort(), hubPort: await freePort() };
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    [`${prefix}_GATEWAY_PORT`]: String(ports.gatewayPort),
    [`${prefix}_HUB_PORT`]: String(ports.hubPort),
    [`${prefix}_COMMERCE_PAYMENT_PROVIDER_PORT`]: String(await freePort()),
    [`${prefix}_COMMERCE_SUBGRAPH_PORT`]: String(await freePort()),
    [`${prefix}_CHAT_SUBGRAPH_PORT`]: String(await freePort()),
    [`${prefix}_GRPC_PORT`]: String(await freePort()),
  };
  const child = spawn(
    process.execPath,
    ['--disable-warning=TimeoutNegativeWarning', path.join(REPO_ROOT, 'regions/main.ts'), region],
    {
      env,
      stdio: 'ignore',
    },
  );
  for (let i = 0; i < 600; i++) {
    if (
      await fetch(`http://127.0.0.1:${ports.gatewayPort}/ready`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { ...ports, stop: () => child.kill('SIGTERM') };
}
const regions = await Promise.all([regionProcess('east'), regionProcess('west')]);
const [re, rw] = regions as [(typeof regions)[0], (typeof regions)[0]];
const unlimited = '1000000';
const edgeEnv = {
  MERIDIAN_EDGE_EAST_GATEWAY_URL: `http://127.0.0.1:${re.gatewayPort}`,
  MERIDIAN_EDGE_EAST_HUB_URL: `http://127.0.0.1:${re.hubPort}`,
  MERIDIAN_EDGE_WEST_GATEWAY_URL: `http://127.0.0.1:${rw.gatewayPort}`,
  MERIDIAN_EDGE_WEST_HUB_URL: `http://127.0.0.1:${rw.hubPort}`,
  MERIDIAN_JWKS_URL: `http://127.0.0.1:${re.gatewayPort}/.well-known/jwks.json`,
  MERIDIAN_EDGE_ANONYMOUS_LIMIT_CAPACITY: unlimited,
  MERIDIAN_EDGE_ANONYMOUS_LIMIT_REFILL_PER_SECOND: unlimited,
};
const HOT_QUERY = '{ products(first: 5) { id name price { formatted } } }';
const get = (base: string, query: string) => `${base}/graphql?query=${encodeURIComponent(query)}`;
const ok = async (url: string) => {
  const res = await fetch(url);
  await res.arrayBuffer();
  return res.status === 200;
};

async function bare(runtime: Runtime, body: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const bin = path.join(REPO_ROOT, 'node_modules', '.bin', runtime);
  const file = path.join(REPO_ROOT, 'e2e/bench/bare-hono.ts');
  const args = runtime === 'deno' ? ['run', '--allow-net', '--allow-env', '--no-check', file] : [file];
  const child = spawn(bin, args, {
    env: { ...process.env, BENCH_PORT: String(port), BENCH_BODY: body },
    stdio: 'ignore',
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (
      await fetch(`${url}/health`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return { url, child };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`bare hono on ${runtime} did not start`);
}

try {
  for (const runtime of RUNTIMES) {
    const edge = await startEdge(runtime, edgeEnv);
    const hitUrl = get(edge.url, HOT_QUERY);
    await fetch(hitUrl);
    const body = await (await fetch(hitUrl)).text();
    const baseline = await bare(runtime, body);
    const load = (url: string) =>
      runLoad({ concurrency: CONCURRENCY, durationMs: DURATION_MS, warmupMs: 1000, fn: () => ok(url) });
    const b = await load(`${baseline.url}/graphql`);
    const h = await load(hitUrl);
    console.log(`[${runtime}] bare Hono, same bytes         ${fmtLoad(b)}`);
    console.log(`[${runtime}] edge cache hit                ${fmtLoad(h)}`);
    console.log(
      `[${runtime}] ratio hit/bare: throughput ${(h.rps / b.rps).toFixed(2)} (goal ≥ 0.8), p99 ${(h.latency.p99 / b.latency.p99).toFixed(2)}x`,
    );
    baseline.child.kill('SIGTERM');

    // Hit versus miss, one request at a time so neither queues behind the other.
    const miss = await runLoad({
      concurrency: 1,
      durationMs: DURATION_MS / 2,
      fn: () =>
        ok(get(edge.url, `{ m${randomUUID().replace(/-/g, '')}: products(first: 5) { id name price { formatted } } }`)),
    });
    const hit = await runLoad({ concurrency: 1, durationMs: DURATION_MS / 2, fn: () => ok(hitUrl) });
    console.log(`[${runtime}] hit,  sequential              ${fmtLoad(hit)}`);
    console.log(`[${runtime}] miss, sequential              ${fmtLoad(miss)}`);
    console.log(
      `[${runtime}] miss/hit: p50 ${(miss.latency.p50 / hit.latency.p50).toFixed(1)}x, p95 ${(miss.latency.p95 / hit.latency.p95).toFixed(1)}x`,
    );

    // 90/10 hot/cold: ten hot queries; one request in ten is cold — never seen by the edge.
    // Two kinds of cold: a known operation with new variables (the common case: the gateway
    // has its query plan), and a never-seen document (the worst case: planned from scratch).
    const hot = Array.from({ length: 10 }, (_, i) => `{ h${i}: products(first: ${i + 1}) { id name } }`);
    const coldVariables = () =>
      `${encodeURIComponent('query Cold($after: ID) { products(first: 3, after: $after) { id name } }')}&variables=${encodeURIComponent(JSON.stringify({ after: `p-${randomUUID()}` }))}`;
    const coldDocument = () => encodeURIComponent(`{ c${randomUUID().replace(/-/g, '')}: products(first: 3) { id } }`);
    for (const q of hot) await fetch(get(edge.url, q));
    for (const [kind, cold] of [
      ['new variables', coldVariables],
      ['new document', coldDocument],
    ] as const) {
      let n = 0;
      const url = (base: string) =>
        n++ % 10 === 9 ? `${base}/graphql?query=${cold()}` : get(base, hot[n % 10] as string);
      const fetchOk = async (u: string) => {
        const res = await fetch(u, { headers: { 'apollo-require-preflight': 'true' } });
        await res.arrayBuffer();
        return res.status === 200;
      };
      const viaEdge = await runLoad({
        concurrency: CONCURRENCY,
        durationMs: DURATION_MS,
        warmupMs: 500,
        fn: () => fetchOk(url(edge.url)),
      });
      const region = `http://127.0.0.1:${re.gatewayPort}`;
      const direct = await runLoad({
        concurrency: CONCURRENCY,
        durationMs: DURATION_MS,
        warmupMs: 500,
        fn: () => fetchOk(url(region)),
      });
      console.log(`[${runtime}] 90/10 (cold: ${kind}) through the edge    ${fmtLoad(viaEdge)}`);
      console.log(`[${runtime}] 90/10 (cold: ${kind}) straight at region  ${fmtLoad(direct)}`);
      console.log(
        `[${runtime}] ratio edge/region (cold: ${kind}): throughput ${(viaEdge.rps / direct.rps).toFixed(1)}x (goal ≥ 10x), p95 ${(viaEdge.latency.p95 / direct.latency.p95).toFixed(2)}x`,
      );
    }
    await edge.stop();
  }
} finally {
  await Promise.all(regions.map((r) => r.stop()));
}
process.exit(0);
