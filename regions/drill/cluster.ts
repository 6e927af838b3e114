/**
 * The drill's own deployment on the local stack: one "partner" payment provider (a real
 * partner endpoint is outside both regions, so both regions call the same one), the two
 * region processes (`regions/main.ts`) on free ports, each told where its peer is, and two
 * edges (Deno and Node) in front of them. The drill kills and restarts these processes for
 * real; the stack's services (Kafka, PostgreSQL) it stops only in --hard mode, through the
 * stack's own code.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolvesWithin } from '../../infra/adapters/dependency.ts';
import { freePort } from '../../infra/adapters/free-port.ts';
import type { Region } from '../../infra/config/endpoints.ts';
import { denoTelemetryEnv, nodeTelemetryArgs } from '../../infra/telemetry/launch.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const NODE = process.execPath;
const DENO = path.join(ROOT, 'node_modules', '.bin', 'deno');

/** One process the drill runs, with its output kept for the report when it fails. */
export interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  output(): string;
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** Every process a drill started and that has not exited yet (for `stopAllClusters`). */
const live = new Set<Proc>();

/** Stops every process a drill started in this process (a drill interrupted by a signal). */
export async function stopAllClusters(): Promise<void> {
  await Promise.allSettled([...live].reverse().map((p) => p.kill('SIGTERM')));
}

function run(name: string, command: string, args: string[], env: Record<string, string | undefined>): Proc {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (c: Buffer) => {
    out = (out + c.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const proc: Proc = {
    name,
    child,
    exited,
    output: () => out,
    async kill(signal) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      if (!(await resolvesWithin(exited, 10_000))) child.kill('SIGKILL');
      await exited;
    },
  };
  live.add(proc);
  void exited.then(() => live.delete(proc));
  return proc;
}

async function waitFor(url: string, proc: Proc, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.child.exitCode !== null)
      throw new Error(`${proc.name} exited (${proc.child.exitCode}):\n${proc.output()}`);
    try {
      if ((await fetch(url, { signal: AbortSignal.timeout(1000) })).ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${proc.name} not ready in ${timeoutMs / 1000} s:\n${proc.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface RegionPorts {
  readonly gateway: number;
  readonly hub: number;
  readonly grpc: number;
  readonly subgraph: number;
}

/** The drill's processes and where they answer. */
export interface Cluster {
  readonly provider: { readonly url: string; readonly adminUrl: string };
  readonly regions: Record<Region, { readonly gatewayUrl: string; readonly hubUrl: string }>;
  readonly edges: readonly { readonly name: string; readonly url: string }[];
  /** Whether the region's process runs. */
  running(region: Region): boolean;
  /** SIGKILLs the region's process (its gateway, hub, relay and consumers). */
  killRegion(region: Region): Promise<void>;
  /** Starts the region's process again (same ports, plus `extraEnv`) and waits for /ready. */
  startRegion(region: Region, extraEnv?: Record<string, string>): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts the provider, both regions and two edges; `regionEnv` adds settings per region;
 * `otlpEndpoint` turns tracing on in every process (Node: register.ts; the Deno edge: the same SDK,
 * edge/runtime/tracing.deno.ts), every new trace sampled, exported there, and adds a third edge
 * on Deno's built-in OpenTelemetry (`edge-deno-builtin`).
 */
export async function startCluster(opts: {
  readonly regionEnv?: (region: Region) => Record<string, string>;
  readonly otlpEndpoint?: string;
  readonly log: (line: string) => void;
}): Promise<Cluster> {
  const traced = (
    service: string,
    extra: Record<string, string> = {},
  ): { args: string[]; env: Record<string, string> } => {
    if (opts.otlpEndpoint === undefined) return { args: [], env: { MERIDIAN_OTEL: 'off' } };
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: opts.otlpEndpoint,
      OTEL_SERVICE_NAME: service,
      MERIDIAN_OTEL_SAMPLE_RATIO: '1',
      OTEL_BSP_SCHEDULE_DELAY: '500',
      ...extra,
    };
    return { args: nodeTelemetryArgs(env), env: { ...env, ...denoTelemetryEnv(env, service) } };
  };
  const procs: Proc[] = [];
  const stopAll = async () => {
    await Promise.allSettled([...procs].reverse().map((p) => p.kill('SIGTERM')));
  };
  try {
    const providerPort = await freePort();
    const providerTrace = traced('meridian-payment-provider');
    const provider = run(
      'payment-provider',
      NODE,
      [...providerTrace.args, 'regions/payment-provider/main.ts', String(providerPort)],
      providerTrace.env,
    );
    procs.push(provider);
    const providerBase = `http://127.0.0.1:${providerPort}`;
    await waitFor(`${providerBase}/admin/stats`, provider, 20_000);

    const ports: Record<Region, RegionPorts> = {
      east: { gateway: await freePort(), hub: await freePort(), grpc: await freePort(), subgraph: await freePort() },
      west: { gateway: await freePort(), hub: await freePort(), grpc: await freePort(), subgraph: await freePort() },
    };
    const peer: Record<Region, Region> = { east: 'west', west: 'east' };
    const regionProcs: Partial<Record<Region, Proc>> = {};
    const regionEnv = (r: Region): Record<string, string> => {
      const p = `MERIDIAN_${r.toUpperCase()}`;
      return {
        [`${p}_GATEWAY_PORT`]: String(ports[r].gateway),
        [`${p}_HUB_PORT`]: String(ports[r].hub),
        [`${p}_GRPC_PORT`]: String(ports[r].grpc),
        [`${p}_COMMERCE_SUBGRAPH_PORT`]: String(ports[r].subgraph),
        [`${p}_DOMAIN_PORTS`]: 'any',
        [`${p}_COMMERCE_PAYMENT_PROVIDER_URL`]: `${providerBase}/soap/payment`,
        [`${p}_PEER_GATEWAY_URL`]: `http://127.0.0.1:${ports[peer[r]].gateway}`,
        ...(opts.regionEnv?.(r) ?? {}),
      };
    };
    const startRegion = async (r: Region, extraEnv: Record<string, string> = {}) => {
      const trace = traced(`meridian-region-${r}`);
      const proc = run(
        `region ${r}`,
        NODE,
        ['--disable-warning=TimeoutNegativeWarning', ...trace.args, 'regions/main.ts', r],
        { ...regionEnv(r), ...trace.env, ...extraEnv },
      );
      regionProcs[r] = proc;
      procs.push(proc);
      await waitFor(`http://127.0.0.1:${ports[r].gateway}/ready`, proc, 90_000);
      opts.log(`region ${r} ready (pid ${proc.child.pid})`);
    };
    await Promise.all((['east', 'west'] as const).map((r) => startRegion(r)));

    const edgeEnv = {
      MERIDIAN_EDGE_EAST_GATEWAY_URL: `http://127.0.0.1:${ports.east.gateway}`,
      MERIDIAN_EDGE_EAST_HUB_URL: `http://127.0.0.1:${ports.east.hub}`,
      MERIDIAN_EDGE_WEST_GATEWAY_URL: `http://127.0.0.1:${ports.west.gateway}`,
      MERIDIAN_EDGE_WEST_HUB_URL: `http://127.0.0.1:${ports.west.hub}`,
      MERIDIAN_JWKS_URL: `http://127.0.0.1:${ports.west.gateway}/.well-known/jwks.json`,
      MERIDIAN_EDGE_OPS_TOKEN: 'dev-ops-token',
      MERIDIAN_EDGE_HEALTH_INTERVAL_MS: '250',
      // The drill measures failover, not rate limits.
      MERIDIAN_EDGE_ANONYMOUS_LIMIT_CAPACITY: '1000000',
      MERIDIAN_EDGE_CLIENT_LIMIT_CAPACITY: '1000000',
      MERIDIAN_EDGE_TENANT_LIMIT_CAPACITY: '1000000',
      MERIDIAN_EDGE_ANONYMOUS_LIMIT_REFILL_PER_SECOND: '1000000',
      MERIDIAN_EDGE_CLIENT_LIMIT_REFILL_PER_SECOND: '1000000',
      MERIDIAN_EDGE_TENANT_LIMIT_REFILL_PER_SECOND: '1000000',
    };
    const edges: Array<{ name: string; url: string }> = [];
    const deno = ['run', '--allow-net', '--allow-env', '--allow-read', '--no-check', 'edge/main.deno.ts'];
    const edgeKinds: Array<readonly [string, string, readonly string[], Record<string, string>]> = [
      ['edge-deno', DENO, deno, {}],
      ['edge-node', NODE, ['edge/main.node.ts'], {}],
    ];
    // Traced, a third edge runs with Deno's built-in OpenTelemetry (the other choice on Deno).
    if (opts.otlpEndpoint !== undefined)
      edgeKinds.push(['edge-deno-builtin', DENO, deno, { MERIDIAN_EDGE_DENO_OTEL: 'builtin' }]);
    for (const [name, command, args, extra] of edgeKinds) {
      const port = await freePort();
      const trace = traced(`meridian-${name}`, extra);
      const proc = run(name, command, command === NODE ? [...trace.args, ...args] : [...args], {
        ...edgeEnv,
        ...trace.env,
        MERIDIAN_EDGE_PORT: String(port),
      });
      procs.push(proc);
      const url = `http://127.0.0.1:${port}`;
      await waitFor(`${url}/health`, proc, 30_000);
      edges.push({ name, url });
    }

    return {
      provider: { url: `${providerBase}/soap/payment`, adminUrl: `${providerBase}/admin` },
      regions: {
        east: { gatewayUrl: `http://127.0.0.1:${ports.east.gateway}`, hubUrl: `http://127.0.0.1:${ports.east.hub}` },
        west: { gatewayUrl: `http://127.0.0.1:${ports.west.gateway}`, hubUrl: `http://127.0.0.1:${ports.west.hub}` },
      },
      edges,
      running: (r) => {
        const p = regionProcs[r];
        return p !== undefined && p.child.exitCode === null && p.child.signalCode === null;
      },
      async killRegion(r) {
        await regionProcs[r]?.kill('SIGKILL');
      },
      startRegion,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
