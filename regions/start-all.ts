/**
 * `npm start`: brings up the local stack if needed, starts both regions (one process
 * each) and the edge on Deno in front of them, waits until every /ready is green and
 * prints where everything is.
 * Ctrl-C stops the edge and the regions; the stack keeps running (`npm run stack down` stops it).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { REGIONS, type Region } from '../infra/config/endpoints.ts';
import { type StackError, status, up } from '../infra/stack/stack.ts';
import { regionConfig } from './config.ts';
import { east } from './east.ts';
import { west } from './west.ts';

const profiles = { east, west };
const mainScript = fileURLToPath(new URL('./main.ts', import.meta.url));

async function waitReady(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode}`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
      last = `${res.status} ${await res.text()}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(300);
  }
  throw new Error(`${url} not ready after ${timeoutMs / 1000}s: ${last}`);
}

console.log('meridian: bringing up the local stack');
try {
  await up(process.env, (line) => console.log(line));
} catch (err) {
  const e = err as StackError;
  console.error(
    `meridian: stack failed${e.service ? ` — ${e.service}` : ''}: ${e.message}${e.log ? `\n  log: ${e.log}` : ''}`,
  );
  process.exit(1);
}

const children = new Map<Region | 'edge', ChildProcess>();
let stopping = false;
const stopAll = async (code: number) => {
  stopping = true;
  for (const child of children.values()) child.kill('SIGTERM');
  await Promise.all(
    [...children.values()].map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null)),
  );
  process.exit(code);
};
process.once('SIGINT', () => void stopAll(0));
process.once('SIGTERM', () => void stopAll(0));

for (const region of REGIONS) {
  const child = spawn(process.execPath, [...process.execArgv, mainScript, region], {
    stdio: 'inherit',
    env: process.env,
  });
  child.once('exit', (code, signal) => {
    if (!stopping) {
      console.error(`meridian: region ${region} exited (${signal ?? code}); stopping`);
      void stopAll(1);
    }
  });
  children.set(region, child);
}

const configs = REGIONS.map((r) => regionConfig(profiles[r], process.env));
try {
  await Promise.all(
    configs.map((c) =>
      waitReady(`http://127.0.0.1:${c.gatewayPort}/ready`, children.get(c.region) as ChildProcess, 60000),
    ),
  );
} catch (err) {
  console.error(`meridian: a region did not become ready: ${(err as Error).message}`);
  await stopAll(1);
}

// The edge, on Deno, in front of both regions.
const denoBin = fileURLToPath(new URL('../node_modules/.bin/deno', import.meta.url));
const edgeMain = fileURLToPath(new URL('../edge/main.deno.ts', import.meta.url));
const edgePort = Number(process.env.MERIDIAN_EDGE_PORT ?? 8080);
const edgeEnv = { MERIDIAN_EDGE_OPS_TOKEN: 'dev-ops-token', ...process.env, MERIDIAN_EDGE_PORT: String(edgePort) };
const edge = spawn(denoBin, ['run', '--allow-net', '--allow-env', '--allow-read', '--no-check', edgeMain], {
  stdio: 'inherit',
  env: edgeEnv,
});
edge.once('exit', (code, signal) => {
  if (!stopping) {
    console.error(`meridian: edge exited (${signal ?? code}); stopping`);
    void stopAll(1);
  }
});
children.set('edge', edge);
try {
  await waitReady(`http://127.0.0.1:${edgePort}/health`, edge, 30000);
} catch (err) {
  console.error(`meridian: the edge did not start: ${(err as Error).message}`);
  await stopAll(1);
}

const stack = await status(process.env);
console.log('\nmeridian is up\n');
console.log(`  edge (Deno)   http://127.0.0.1:${edgePort}/graphql   /v1/stream   /metrics   /health`);
console.log(`                ws://127.0.0.1:${edgePort}/v1/graphql (GraphQL subscriptions, graphql-transport-ws)`);
console.log(
  `                ops: /ops/regions, PUT /ops/writer (bearer ${edgeEnv.MERIDIAN_EDGE_OPS_TOKEN === 'dev-ops-token' ? 'dev-ops-token' : '$MERIDIAN_EDGE_OPS_TOKEN'})\n`,
);
for (const c of configs) {
  const gw = `http://127.0.0.1:${c.gatewayPort}`;
  console.log(`  region ${c.region}`);
  console.log(`    GraphQL     ${gw}/graphql        (GET and POST)`);
  console.log(`    dev tokens  ${gw}/auth/token     (POST; JWKS at ${gw}/.well-known/jwks.json)`);
  console.log(`    live events http://127.0.0.1:${c.hubPort}/v1/stream?topics=...   (SSE)`);
  console.log(`    live GraphQL ws://127.0.0.1:${c.hubPort}/v1/graphql (WebSocket), /v1/graphql/stream (graphql-sse)`);
  console.log(`    health      ${gw}/health, ${gw}/ready`);
}
console.log('\n  stack:');
for (const s of stack) {
  console.log(
    `    ${s.service.padEnd(13)} ${s.region.padEnd(7)} ${String(s.port ?? '-').padEnd(6)} ${s.healthy ? 'healthy' : `UNHEALTHY ${s.reason}`}`,
  );
}
console.log('\n  Ctrl-C stops the edge and the regions; `npm run stack down` stops the stack.');
