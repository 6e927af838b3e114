/**
 * Runs the edge as a real process on a chosen runtime (Deno via main.deno.ts, Node via
 * main.node.ts), so end-to-end tests and benchmarks exercise both runtimes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { freePort } from '../../infra/adapters/free-port.ts';
import { REPO_ROOT } from '../../infra/stack/paths.ts';

export type Runtime = 'deno' | 'node';
export const RUNTIMES: readonly Runtime[] = ['deno', 'node'];

export interface EdgeProcess {
  readonly url: string;
  readonly runtime: Runtime;
  readonly child: ChildProcess;
  readonly output: () => string;
  stop(): Promise<void>;
}

function command(runtime: Runtime): [string, string[]] {
  const bin = path.join(REPO_ROOT, 'node_modules', '.bin', runtime);
  return runtime === 'deno'
    ? [bin, ['run', '--allow-net', '--allow-env', '--allow-read', '--no-check', 'edge/main.deno.ts']]
    : [bin, ['edge/main.node.ts']];
}

/** Starts the edge on `runtime`; `root` runs another checkout's edge (benchmarks compare before and after). */
export async function startEdge(
  runtime: Runtime,
  env: Record<string, string>,
  opts: { root?: string } = {},
): Promise<EdgeProcess> {
  const port = await freePort();
  const [bin, args] = command(runtime);
  let output = '';
  const child = spawn(bin, args, {
    cwd: opts.root ?? REPO_ROOT,
    env: { ...process.env, ...env, MERIDIAN_EDGE_PORT: String(port), NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`edge on ${runtime} exited (${child.exitCode}):\n${output}`);
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`edge on ${runtime} not healthy in 30 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    runtime,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await Promise.race([
        new Promise((r) => child.once('exit', r)),
        new Promise((r) => setTimeout(r, 5000)).then(() => child.kill('SIGKILL')),
      ]);
    },
  };
}
