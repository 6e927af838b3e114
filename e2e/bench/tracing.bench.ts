/**
 * What tracing costs: the same servers with OpenTelemetry off and on, in the same run.
 * - region gateway (gateway-server.ts alone in its process, over east's commerce subgraph):
 *   untraced vs `--import infra/telemetry/register.ts` sampling 10% of new traces (what
 *   production ships: MERIDIAN_OTEL_SAMPLE_RATIO defaults to 0.1 there) and 100%, exporting
 *   OTLP/JSON to a receiver;
 * - the edge on Deno, cache hits: untraced vs the edge's own tracing with OpenTelemetry's JS SDK
 *   (edge/runtime/tracing.deno.ts, as shipped) sampling 10% and 100%, and vs Deno's built-in
 *   OpenTelemetry (MERIDIAN_EDGE_DENO_OTEL=builtin: OTEL_DENO, parentbased_traceidratio) at 10%;
 *   the edge on Node untraced vs the SDK at 10%. Both edges make their own server spans,
 *   sampling first (edge/runtime/server-spans.ts);
 * - what Deno's built-in OpenTelemetry costs by itself: a bare Hono handler on Deno (no Meridian
 *   code, bare-hono.ts) answering with the edge's bytes, untraced vs traced with every trace
 *   dropped (OTEL_TRACES_SAMPLER=always_off: the runtime's per-request floor);
 * - the gateway also traced at 0% (every request unsampled: the fixed cost of the SDK).
 * Load from `wrk` at 32 connections, three interleaved rounds, ratios against the untraced
 * server of each case. Goal: traced (as shipped) ≥ 0.9× untraced. BENCH_DURATION_S (4), BENCH_ROUNDS (3).
 */
import path from 'node:path';
import { freePort } from '../../infra/adapters/free-port.ts';
import { REPO_ROOT } from '../../infra/stack/paths.ts';
import { denoTelemetryEnv, nodeTelemetryArgs } from '../../infra/telemetry/launch.ts';
import { type EdgeProcess, startEdge } from '../support/edge-process.ts';
import { startOtlpReceiver } from '../support/otlp-receiver.ts';
import { devToken, type Server, startBareHono, startRegionProcess, startServer } from './processes.ts';
import { type Case, runRounds, type Target } from './rounds.ts';
import { haveWrk, type WrkRequest } from './wrk.ts';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
if (!(await haveWrk())) throw new Error('wrk is not installed: run `npm run stack -- up` (it installs Debian wrk)');

const QUERY = '{ products(first: 5) { id name price { formatted } } }';
const receiver = await startOtlpReceiver({ keep: false });
const otel = (service: string, ratio: string) => ({
  OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
  OTEL_SERVICE_NAME: service,
  MERIDIAN_OTEL_SAMPLE_RATIO: ratio,
});
const untraced = { MERIDIAN_OTEL: 'off' };

// One region: the gateways front its subgraph, and the edges, measured on cache hits, never
// call a region after warming up (both of their regions point at it; a second region process
// would only add its idle work to the machine the servers share).
const east = await startRegionProcess('east', { env: untraced });
const servers: Array<Server | EdgeProcess> = [east];

async function gateway(traced: { ratio: string } | undefined): Promise<Server> {
  const port = await freePort();
  const env = traced ? otel('meridian-gateway-bench', traced.ratio) : untraced;
  return startServer({
    command: process.execPath,
    args: [
      '--disable-warning=TimeoutNegativeWarning',
      ...(traced ? nodeTelemetryArgs(env) : []),
      path.join(REPO_ROOT, 'e2e/bench/gateway-server.ts'),
    ],
    port,
    readyPath: '/health',
    env: {
      ...env,
      BENCH_PORT: String(port),
      BENCH_SUBGRAPH_URL: east.subgraphUrl,
      BENCH_JWKS_URL: `${east.url}/.well-known/jwks.json`,
    },
  });
}

const edgeEnv: Record<string, string> = {
  MERIDIAN_EDGE_EAST_GATEWAY_URL: east.url,
  MERIDIAN_EDGE_EAST_HUB_URL: `http://127.0.0.1:${east.hubPort}`,
  MERIDIAN_EDGE_WEST_GATEWAY_URL: east.url,
  MERIDIAN_EDGE_WEST_HUB_URL: `http://127.0.0.1:${east.hubPort}`,
  MERIDIAN_JWKS_URL: `${east.url}/.well-known/jwks.json`,
};
for (const policy of ['ANONYMOUS', 'CLIENT', 'TENANT']) {
  edgeEnv[`MERIDIAN_EDGE_${policy}_LIMIT_CAPACITY`] = '1000000';
  edgeEnv[`MERIDIAN_EDGE_${policy}_LIMIT_REFILL_PER_SECOND`] = '1000000';
}

try {
  const gwOff = await gateway(undefined);
  const gwShipped = await gateway({ ratio: '0.1' });
  const gwAll = await gateway({ ratio: '1' });
  const gwNone = await gateway({ ratio: '0' });
  const denoOff = await startEdge('deno', { ...edgeEnv, ...untraced });
  // The Deno edge's environment as the launchers make it (infra/telemetry/launch.ts).
  const denoTraced = (ratio: string, extra: Record<string, string> = {}) => {
    const env = { ...otel('meridian-edge', ratio), ...extra };
    return { ...edgeEnv, ...env, ...denoTelemetryEnv(env, 'meridian-edge') };
  };
  const denoShipped = await startEdge('deno', denoTraced('0.1'));
  const denoAll = await startEdge('deno', denoTraced('1'));
  const denoBuiltin = await startEdge('deno', denoTraced('0.1', { MERIDIAN_EDGE_DENO_OTEL: 'builtin' }));
  const nodeOff = await startEdge('node', { ...edgeEnv, ...untraced });
  servers.push(gwOff, gwShipped, gwAll, gwNone, denoOff, denoShipped, denoAll, denoBuiltin, nodeOff);
  // The Node edge with the SDK: the edge's Node entry point under register.ts.
  const nodeOnPort = await freePort();
  const nodeOn = await startServer({
    command: process.execPath,
    args: [...nodeTelemetryArgs({}), path.join(REPO_ROOT, 'edge/main.node.ts')],
    port: nodeOnPort,
    readyPath: '/health',
    env: {
      ...edgeEnv,
      ...otel('meridian-edge-node', '0.1'),
      MERIDIAN_EDGE_PORT: String(nodeOnPort),
    },
  });
  servers.push(nodeOn);

  const token = await devToken(east.url, 'bench-user', 'bench-tenant', ['orders:read']);
  const request: WrkRequest = {
    method: 'POST',
    path: '/graphql',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: QUERY }),
  };
  const pidOf = (s: Server | EdgeProcess) => ('pid' in s ? s.pid : (s.child.pid ?? -1));
  const target = (label: string, s: Server | EdgeProcess): Target => ({
    label,
    load: { url: s.url, hot: [request], connections: 32, durationSeconds: DURATION_S, servers: { server: pidOf(s) } },
    server: 'server',
  });
  // Warm the edges' caches (the hit is what is measured there).
  let hitBody = '';
  for (const s of [denoOff, denoShipped, denoAll, denoBuiltin, nodeOff, nodeOn]) {
    const res = await fetch(`${s.url}/graphql`, { method: 'POST', headers: request.headers, body: request.body });
    hitBody = await res.text();
  }
  const bareBuiltin = denoTelemetryEnv(
    { ...otel('meridian-bare-hono', '0.1'), MERIDIAN_EDGE_DENO_OTEL: 'builtin' },
    'meridian-bare-hono',
  );
  const bareOff = await startBareHono('deno', hitBody);
  const bareFloor = await startBareHono('deno', hitBody, { ...bareBuiltin, OTEL_TRACES_SAMPLER: 'always_off' });
  servers.push(bareOff, bareFloor);
  const cases: Case[] = [
    {
      name: 'region gateway, authenticated c32',
      goal: 'traced at 10% ≥ 0.9× untraced',
      targets: [
        target('untraced', gwOff),
        target('traced, 10% sampled', gwShipped),
        target('traced, 100% sampled', gwAll),
        target('traced, 0% sampled', gwNone),
      ],
    },
    {
      name: 'edge on Deno, cache hit c32',
      goal: 'traced at 10% ≥ 0.9× untraced',
      targets: [
        target('untraced', denoOff),
        target('traced, 10% sampled', denoShipped),
        target('traced, 100% sampled', denoAll),
        target("Deno's built-in, 10% sampled", denoBuiltin),
      ],
    },
    {
      name: 'bare Hono on Deno (no Meridian code) c32',
      goal: "Deno's built-in cost with nothing sampled, the floor under an edge traced that way",
      targets: [target('untraced', bareOff), target("Deno's built-in, none sampled", bareFloor)],
    },
    {
      name: 'edge on Node, cache hit c32',
      goal: 'traced at 10% ≥ 0.9× untraced',
      targets: [target('untraced', nodeOff), target('traced, 10% sampled', nodeOn)],
    },
  ];
  await runRounds(cases, ROUNDS);
  console.log(`spans received by the OTLP receiver during the run: ${receiver.count()}`);
} finally {
  await Promise.all(servers.map((s) => s.stop()));
  await receiver.close();
}
process.exit(0);
