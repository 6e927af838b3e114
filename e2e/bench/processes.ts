/**
 * The servers the benchmarks measure, each a process of its own so that its CPU can be read
 * from /proc and the load generator never shares its event loop: a region (regions/main.ts),
 * the bare Hono baseline, and any command. `root` runs the same files from another checkout
 * (BENCH_BEFORE), so a benchmark can put the code before a change beside the code after it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { freePort } from '../../infra/adapters/free-port.ts';
import { REPO_ROOT } from '../../infra/stack/paths.ts';
import type { Runtime } from '../support/edge-process.ts';

/** A server process the benchmark started. */
export interface Server {
  readonly url: string;
  readonly pid: number;
  readonly child: ChildProcess;
  readonly output: () => string;
  stop(): Promise<void>;
}

/** Another checkout to measure beside this one (BENCH_BEFORE=/path/to/checkout), if set. */
export const BEFORE_ROOT: string | undefined = process.env.BENCH_BEFORE || undefined;

/** Polls `url` until it answers 2xx; throws with the process output after `timeoutMs`. */
export async function waitReady(url: string, child: ChildProcess, output: () => string, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${url}: process exited (${child.exitCode}):\n${output()}`);
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${url} not ready in ${timeoutMs} ms:\n${output().slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Spawns a command and waits for `readyPath` on `port` to answer. */
export async function startServer(opts: {
  command: string;
  args: readonly string[];
  port: number;
  readyPath: string;
  env?: Record<string, string>;
  cwd?: string;
  timeoutMs?: number;
}): Promise<Server> {
  let output = '';
  const child = spawn(opts.command, opts.args, {
    cwd: opts.cwd ?? REPO_ROOT,
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (c: Buffer) => {
    output = (output + c.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const url = `http://127.0.0.1:${opts.port}`;
  await waitReady(`${url}${opts.readyPath}`, child, () => output, opts.timeoutMs);
  return {
    url,
    pid: child.pid as number,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await Promise.race([
        new Promise((r) => child.once('exit', r)),
        new Promise((r) => setTimeout(r, 10_000)).then(() => child.kill('SIGKILL')),
      ]);
    },
  };
}

/** A running region process and the ports it listens on. */
export interface RegionServer extends Server {
  readonly gatewayPort: number;
  readonly hubPort: number;
  /** The commerce subgraph (what a gateway fronts). */
  readonly subgraphUrl: string;
}

/** A region as its own process (regions/main.ts) on free ports; `root` picks the checkout. */
export async function startRegionProcess(
  region: 'east' | 'west',
  opts: { root?: string; env?: Record<string, string> } = {},
): Promise<RegionServer> {
  const prefix = `MERIDIAN_${region.toUpperCase()}`;
  const gatewayPort = await freePort();
  const hubPort = await freePort();
  const subgraphPort = await freePort();
  const root = opts.root ?? REPO_ROOT;
  const server = await startServer({
    command: process.execPath,
    args: ['--disable-warning=TimeoutNegativeWarning', path.join(root, 'regions/main.ts'), region],
    cwd: root,
    port: gatewayPort,
    readyPath: '/ready',
    env: {
      [`${prefix}_GATEWAY_PORT`]: String(gatewayPort),
      [`${prefix}_HUB_PORT`]: String(hubPort),
      [`${prefix}_COMMERCE_PAYMENT_PROVIDER_PORT`]: String(await freePort()),
      [`${prefix}_COMMERCE_SUBGRAPH_PORT`]: String(subgraphPort),
      [`${prefix}_GRPC_PORT`]: String(await freePort()),
      [`${prefix}_DOMAIN_PORTS`]: 'any',
      ...opts.env,
    },
  });
  return { ...server, gatewayPort, hubPort, subgraphUrl: `http://127.0.0.1:${subgraphPort}/graphql` };
}

/** The bare Hono baseline (bare-hono.ts) on `runtime`, answering every /graphql request with `body`; `env` adds to its environment. */
export async function startBareHono(runtime: Runtime, body: string, env: Record<string, string> = {}): Promise<Server> {
  const port = await freePort();
  const bin = path.join(REPO_ROOT, 'node_modules', '.bin', runtime);
  const file = path.join(REPO_ROOT, 'e2e/bench/bare-hono.ts');
  const args = runtime === 'deno' ? ['run', '--allow-net', '--allow-env', '--no-check', file] : [file];
  return startServer({
    command: bin,
    args,
    port,
    readyPath: '/health',
    env: { ...env, BENCH_PORT: String(port), BENCH_BODY: body },
  });
}

/** A development token from a region's dev issuer. */
export async function devToken(gatewayUrl: string, sub: string, tenant: string, scopes: string[] = []) {
  const res = await fetch(`${gatewayUrl}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sub, tenant, scopes }),
  });
  if (!res.ok) throw new Error(`no dev token: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}
