/**
 * Edge benchmarks, two regions started in this process on the real stack, the edge as a
 * real process on each runtime:
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
import { east } from '../../regions/east.ts';
import { startRegion } from '../../regions/host/region-host.ts';
import { testIdentity, testRegionConfig } from '../../regions/host/testing.ts';
import { west } from '../../regions/west.ts';
import { freePort, RUNTIMES, type Runtime, startEdge } from '../support/edge-process.ts';
import { fmtLoad, runLoad } from './load.ts';

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 6000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const identity = testIdentity();
const regions = [
  await startRegion(testRegionConfig(east), { identity }),
  await startRegion(testRegionConfig(west), { identity }),
];
const [re, rw] = regions as [(typeof regions)[0], (typeof regions)[0]];
const unlimited = '100000000';
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

    // 90/10 hot/cold: ten hot queries, one cold (never seen) query in ten.
    const hot = Array.from({ length: 10 }, (_, i) => `{ h${i}: products(first: ${i + 1}) { id name } }`);
    let n = 0;
    const mix = (base: string) => () =>
      ok(
        get(
          base,
          n++ % 10 === 9
            ? `{ c${randomUUID().replace(/-/g, '')}: products(first: 3) { id } }`
            : (hot[n % 10] as string),
        ),
      );
    for (const q of hot) await fetch(get(edge.url, q));
    const viaEdge = await runLoad({
      concurrency: CONCURRENCY,
      durationMs: DURATION_MS,
      warmupMs: 500,
      fn: mix(edge.url),
    });
    const direct = await runLoad({
      concurrency: CONCURRENCY,
      durationMs: DURATION_MS,
      warmupMs: 500,
      fn: async () => {
        const url = get(
          `http://127.0.0.1:${re.gatewayPort}`,
          n++ % 10 === 9
            ? `{ c${randomUUID().replace(/-/g, '')}: products(first: 3) { id } }`
            : (hot[n % 10] as string),
        );
        const res = await fetch(url, { headers: { 'apollo-require-preflight': 'true' } });
        await res.arrayBuffer();
        return res.status === 200;
      },
    });
    console.log(`[${runtime}] 90/10 mix through the edge    ${fmtLoad(viaEdge)}`);
    console.log(`[${runtime}] 90/10 mix straight at region  ${fmtLoad(direct)}`);
    console.log(
      `[${runtime}] ratio edge/region: throughput ${(viaEdge.rps / direct.rps).toFixed(1)}x (goal ≥ 10x), p95 ${(viaEdge.latency.p95 / direct.latency.p95).toFixed(2)}x`,
    );
    await edge.stop();
  }
} finally {
  await Promise.all(regions.map((r) => r.stop()));
}
process.exit(0);
