/**
 * The region gateway from outside: one region (east) as a process, serving the commerce subgraph
 * the gateways front; the region gateway alone in a process of its own (gateway-server.ts: its CPU
 * is the gateway's only); Hive Gateway 2.15 (a development dependency that only this benchmark
 * runs) over the same subgraph from the same supergraph, with its defaults (it merges identical
 * in-flight subgraph requests) and with that merging off; and the subgraph straight. Load from
 * `wrk`, the same query as the edge benchmark (`products(first: 5)`), at 8 and 32 connections,
 * three interleaved rounds; ratios against Hive Gateway (goal ≥ 1) and against the subgraph.
 * BENCH_BEFORE=<another checkout> adds that checkout's gateway ("before") to every row.
 * BENCH_DURATION_S (4), BENCH_ROUNDS (3).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../../infra/adapters/free-port.ts';
import { REPO_ROOT } from '../../infra/stack/paths.ts';
import { BEFORE_ROOT, devToken, type Server, startRegionProcess, startServer } from './processes.ts';
import { type Case, runRounds, type Target } from './rounds.ts';
import { haveWrk, type WrkRequest } from './wrk.ts';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
if (!(await haveWrk())) throw new Error('wrk is not installed: run `npm run stack -- up` (it installs Debian wrk)');

const QUERY = '{ products(first: 5) { id name price { formatted } } }';
const SUPERGRAPH_PLACEHOLDER = 'http://commerce.subgraph.meridian.internal/graphql';

const region = await startRegionProcess('east');
const servers: Server[] = [region];
const scratch = mkdtempSync(path.join(tmpdir(), 'meridian-gateway-bench-'));

/** The region gateway alone, over the region's commerce subgraph; `root` picks the checkout whose gateway runs. */
async function regionGateway(root: string): Promise<Server> {
  const port = await freePort();
  return startServer({
    command: process.execPath,
    args: ['--disable-warning=TimeoutNegativeWarning', path.join(REPO_ROOT, 'e2e/bench/gateway-server.ts')],
    port,
    readyPath: '/health',
    env: {
      BENCH_PORT: String(port),
      BENCH_ROOT: root,
      BENCH_SUBGRAPH_URL: region.subgraphUrl,
      BENCH_JWKS_URL: `${region.url}/.well-known/jwks.json`,
    },
  });
}

/** Hive Gateway over the same subgraph, from the checked-in supergraph with the subgraph's real URL. */
async function hiveGateway(merging: boolean): Promise<Server> {
  const dir = mkdtempSync(path.join(scratch, merging ? 'hive-' : 'hive-nodedupe-'));
  const supergraph = readFileSync(path.join(REPO_ROOT, 'schemas/supergraph.graphql'), 'utf8');
  writeFileSync(
    path.join(dir, 'supergraph.graphql'),
    supergraph.replaceAll(SUPERGRAPH_PLACEHOLDER, region.subgraphUrl),
  );
  // Hive Gateway reads gateway.config.* from its working directory: only the variant without merging has one.
  if (!merging) {
    writeFileSync(
      path.join(dir, 'gateway.config.mjs'),
      "export const gatewayConfig = { transportEntries: { '*.http': { options: { deduplicateInflightRequests: false } } } };\n",
    );
  }
  const port = await freePort();
  return startServer({
    // On this repo's Node (the package's shebang would pick whatever `node` is on the PATH).
    command: process.execPath,
    args: [
      path.join(REPO_ROOT, 'node_modules/@graphql-hive/gateway/dist/bin.js'),
      'supergraph',
      'supergraph.graphql',
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
    ],
    cwd: dir,
    port,
    readyPath: '/healthcheck',
    env: { NODE_ENV: 'production' },
  });
}

async function assertAnswers(url: string, request: WrkRequest, label: string): Promise<void> {
  const res = await fetch(`${url}${request.path}`, { method: 'POST', headers: request.headers, body: request.body });
  const body = (await res.json()) as { data?: { products?: unknown[] }; errors?: unknown };
  if (res.status !== 200 || body.data?.products?.length !== 5) {
    throw new Error(`${label} does not answer the query: ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
  }
}

try {
  const gateway = await regionGateway(REPO_ROOT);
  servers.push(gateway);
  const before = BEFORE_ROOT ? await regionGateway(BEFORE_ROOT) : undefined;
  if (before) servers.push(before);
  const hive = await hiveGateway(true);
  servers.push(hive);
  const hiveNoMerging = await hiveGateway(false);
  servers.push(hiveNoMerging);

  const token = await devToken(region.url, 'bench-user', 'bench-tenant', ['orders:read']);
  const anonymous: WrkRequest = {
    method: 'POST',
    path: '/graphql',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: QUERY }),
  };
  const authenticated: WrkRequest = {
    ...anonymous,
    headers: { ...anonymous.headers, authorization: `Bearer ${token}` },
  };
  const subgraphPath = new URL(region.subgraphUrl).pathname;
  const target = (label: string, url: string, pid: number, request: WrkRequest, connections: number): Target => ({
    label,
    load: {
      url,
      hot: [request],
      connections,
      durationSeconds: DURATION_S,
      servers: { server: pid, subgraph: region.pid },
    },
    server: 'server',
  });
  const subgraphOrigin = new URL(region.subgraphUrl).origin;
  const cases: Case[] = [];
  for (const connections of [8, 32]) {
    const viaSubgraph = { ...anonymous, path: subgraphPath };
    cases.push({
      name: `anonymous c${connections}`,
      alsoAgainst: 'subgraph direct',
      goal: 'region gateway ≥ 1× Hive Gateway (defaults); its CPU per request half what it was',
      targets: [
        target('Hive Gateway (defaults)', hive.url, hive.pid, anonymous, connections),
        target('region gateway', gateway.url, gateway.pid, anonymous, connections),
        ...(before ? [target('region gateway before', before.url, before.pid, anonymous, connections)] : []),
        target('Hive Gateway (merging off)', hiveNoMerging.url, hiveNoMerging.pid, anonymous, connections),
        // The subgraph's own CPU is the region process's: its own row reads it as `server`.
        { ...target('subgraph direct', subgraphOrigin, region.pid, viaSubgraph, connections) },
      ],
      check: async () => {
        for (const [label, s] of [
          ['hive', hive],
          ['gateway', gateway],
          ['hive (no merging)', hiveNoMerging],
          ...(before ? [['before', before] as const] : []),
        ] as const) {
          await assertAnswers(s.url, anonymous, label);
        }
        await assertAnswers(subgraphOrigin, viaSubgraph, 'subgraph');
      },
    });
  }
  // Signed-in callers: Hive Gateway does not forward Authorization without configuration, so it sits out.
  cases.push({
    name: 'authenticated c32',
    alsoAgainst: 'subgraph direct',
    targets: [
      target('region gateway', gateway.url, gateway.pid, authenticated, 32),
      ...(before ? [target('region gateway before', before.url, before.pid, authenticated, 32)] : []),
      target('subgraph direct', subgraphOrigin, region.pid, { ...authenticated, path: subgraphPath }, 32),
    ],
  });
  console.log(
    `region gateway: ${REPO_ROOT}${BEFORE_ROOT ? `; before: ${BEFORE_ROOT}` : ''}; subgraph ${region.subgraphUrl}`,
  );
  await runRounds(cases, ROUNDS);
} finally {
  await Promise.all(servers.map((s) => s.stop()));
  rmSync(scratch, { recursive: true, force: true });
}
process.exit(0);
