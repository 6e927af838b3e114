/**
 * What tracing costs: the same servers with OpenTelemetry off and on, in the same run.
 * - "as shipped" is the production defaults: 10% of new traces, at most 100 new traces a second
 *   per process (MERIDIAN_OTEL_SAMPLE_RATIO, MERIDIAN_OTEL_MAX_NEW_TRACES_PER_SECOND); beside it,
 *   10% without the cap, and 100%;
 * - region gateway (gateway-server.ts alone in its process, over east's commerce subgraph):
 *   untraced vs `--import infra/telemetry/register.ts`, exporting OTLP/JSON to a receiver;
 * - the edge on Deno, cache hits: untraced vs the edge's own tracing with OpenTelemetry's JS SDK
 *   (edge/runtime/tracing.deno.ts), and vs Deno's built-in OpenTelemetry
 *   (MERIDIAN_EDGE_DENO_OTEL=builtin: OTEL_DENO, parentbased_traceidratio, no cap) at 10%; the
 *   edge on Node untraced vs the SDK. Both edges make their own server spans, sampling first
 *   (edge/runtime/server-spans.ts);
 * - what Deno's built-in OpenTelemetry costs by itself: a bare Hono handler on Deno (no Meridian
 *   code, bare-hono.ts) answering with the edge's bytes, untraced vs traced with every trace
 *   dropped (OTEL_TRACES_SAMPLER=always_off: the runtime's per-request floor);
 * - the gateway also traced at 0% (every request unsampled: the fixed cost of the SDK).
 * Load from `wrk` at 32 connections, three interleaved rounds, ratios against the untraced
 * server of each case. Goal: traced as shipped ≥ 0.9× untraced. BENCH_DURATION_S (4), BENCH_ROUNDS (3).
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
/** Tracing on, sampling `ratio` of new traces, at most `cap` a second (`none`: no cap). */
const otel = (service: string, ratio: string, cap = 'none') => ({
  OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
  OTEL_SERVICE_NAME: service,
  MERIDIAN_OTEL_SAMPLE_RATIO: ratio,
  MERIDIAN_OTEL_MAX_NEW_TRACES_PER_SECOND: cap,
});
/** The production defaults (edge/runtime/tracing-settings.ts): 10%, at most 100 new traces a second. */
const SHIPPED = { ratio: '0.1', cap: '100' };
const GOAL = 'traced as shipped ≥ 0.9× untraced (10% without the cap beside it)';
const untraced = { MERIDIAN_OTEL: 'off' };

// One region: the gateways front its subgraph, and the edges, measured on cache hits, never
// call a region after warming up (both of their regions point at it; a second region process
// would only add its idle work to the machine the servers share).
const east = await startRegionProcess('east', { env: untraced });
const servers: Array<Server | EdgeProcess> = [east];

async function gateway(traced: { ratio: string; cap?: string } | undefined): Promise<Server> {
  const port = await freePort();
  const env = traced ? otel('meridian-gateway-bench', traced.ratio, traced.cap) : untraced;
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
  const gwShipped = await gateway(SHIPPED);
  const gwTenth = await gateway({ ratio: '0.1' });
  const gwAll = await gateway({ ratio: '1' });
  const gwNone = await gateway({ ratio: '0' });
  const denoOff = await startEdge('deno', { ...edgeEnv, ...untraced });
  // The Deno edge's environment as the launchers make it (infra/telemetry/launch.ts).
  const denoTraced = (ratio: string, cap?: string, extra: Record<string, string> = {}) => {
    const env = { ...otel('meridian-edge', ratio, cap), ...extra };
    return { ...edgeEnv, ...env, ...denoTelemetryEnv(env, 'meridian-edge') };
  };
  const denoShipped = await startEdge('deno', denoTraced(SHIPPED.ratio, SHIPPED.cap));
  const denoTenth = await startEdge('deno', denoTraced('0.1'));
  const denoAll = await startEdge('deno', denoTraced('1'));
  // Deno's sampler has no cap: 10% as it ships its own.
  const denoBuiltin = await startEdge('deno', denoTraced('0.1', undefined, { MERIDIAN_EDGE_DENO_OTEL: 'builtin' }));
  const nodeOff = await startEdge('node', { ...edgeEnv, ...untraced });
  servers.push(
    gwOff,
    gwShipped,
    gwTenth,
    gwAll,
    gwNone,
    denoOff,
    denoShipped,
    denoTenth,
    denoAll,
    denoBuiltin,
    nodeOff,
  );
  // The Node edge with the SDK: the edge's Node entry point under register.ts.
  const nodeTraced = async (ratio: string, cap?: string) => {
    const port = await freePort();
    const server = await startServer({
      command: process.execPath,
      args: [...nodeTelemetryArgs({}), path.join(REPO_ROOT, 'edge/main.node.ts')],
      port,
      readyPath: '/health',
      env: { ...edgeEnv, ...otel('meridian-edge-node', ratio, cap), MERIDIAN_EDGE_PORT: String(port) },
    });
    servers.push(server);
    return server;
  };
  const nodeOn = await nodeTraced(SHIPPED.ratio, SHIPPED.cap);
  const nodeTenth = await nodeTraced('0.1');

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
  for (const s of [denoOff, denoShipped, denoTenth, denoAll, denoBuiltin, nodeOff, nodeOn, nodeTenth]) {
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
      goal: GOAL,
      targets: [
        target('untraced', gwOff),
        target('traced as shipped', gwShipped),
        target('traced, 10% sampled', gwTenth),
        target('traced, 100% sampled', gwAll),
        target('traced, 0% sampled', gwNone),
      ],
    },
    {
      name: 'edge on Deno, cache hit c32',
      goal: GOAL,
      targets: [
        target('untraced', denoOff),
        target('traced as shipped', denoShipped),
        target('traced, 10% sampled', denoTenth),
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
      goal: GOAL,
      targets: [
        target('untraced', nodeOff),
        target('traced as shipped', nodeOn),
        target('traced, 10% sampled', nodeTenth),
      ],
    },
  ];
  await runRounds(cases, ROUNDS);
  console.log(`spans received by the OTLP receiver during the run: ${receiver.count()}`);
} finally {
  await Promise.all(servers.map((s) => s.stop()));
  await receiver.close();
}
process.exit(0);
