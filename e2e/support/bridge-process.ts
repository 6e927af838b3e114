/**
 * The MQTT bridge as a real process (`bridges/mqtt/main.ts`), so tests can SIGKILL it and
 * benchmarks can measure it: started under a stable instance name (a restart resumes its
 * sessions), ready once it prints its `{"ready":true}` line.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { bridgeClientId } from '../../bridges/mqtt/bridge.ts';
import { type Region, resolveEndpoints } from '../../infra/config/endpoints.ts';
import { LOCAL_MQTT_PASSWORD, MQTT_USERS, withCredentials } from '../../infra/config/mqtt-users.ts';
import { REPO_ROOT } from '../../infra/stack/paths.ts';

export interface BridgeProcess {
  readonly instance: string;
  readonly child: ChildProcess;
  output(): string;
  /** Resident memory (KiB), from /proc. */
  rssKiB(): number;
  /** CPU time used so far (ms, user + system), from /proc. */
  cpuMs(): number;
  /** SIGKILL: no goodbye; its sessions stay with the broker. */
  kill(): Promise<void>;
  /** SIGTERM: graceful (leave the group, finish, end the sessions). */
  stop(): Promise<void>;
}

const TICKS_PER_SECOND = 100;

/** CPU time (ms) of a process, from /proc/<pid>/stat (utime + stime). */
export function cpuMsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(rest[11]) + Number(rest[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** Resident set size (KiB) of a process. */
export function rssKiBOf(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

export async function startBridge(
  region: string,
  instance: string,
  opts: {
    connections?: number;
    env?: Record<string, string>;
    readyTimeoutMs?: number;
    /** How long the broker keeps the sessions of a member that stopped without ending them. */
    sessionExpirySeconds?: number;
  } = {},
): Promise<BridgeProcess> {
  const child = spawn(
    process.execPath,
    [
      '--disable-warning=TimeoutNegativeWarning',
      path.join(REPO_ROOT, 'bridges/mqtt/main.ts'),
      region,
      '--instance',
      instance,
      '--connections',
      String(opts.connections ?? 2),
      ...(opts.sessionExpirySeconds !== undefined ? ['--session-expiry', String(opts.sessionExpirySeconds)] : []),
    ],
    { cwd: REPO_ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      // A bridge that never got ready must not linger as a member of the group.
      child.kill('SIGKILL');
      reject(new Error(`bridge ${instance} not ready:\n${out}`));
    }, opts.readyTimeoutMs ?? 60_000);
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('"ready":true')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`bridge ${instance} exited (${code}):\n${out}`));
    });
  });
  await ready;
  const pid = child.pid as number;
  return {
    instance,
    child,
    output: () => out,
    rssKiB: () => rssKiBOf(pid),
    cpuMs: () => cpuMsOf(pid),
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Ends the broker sessions of a bridge instance that is not running, with whatever they still
 * queue (a clean start under each of its client ids): a benchmark's bridges stopped before they
 * drained their backlog must not hand it to the next run.
 */
export async function discardBridgeSessions(region: Region, instance: string, connections: number): Promise<void> {
  const url = withCredentials(resolveEndpoints(region, process.env).mqttUrl, MQTT_USERS.bridge, LOCAL_MQTT_PASSWORD);
  await Promise.all(
    Array.from({ length: connections }, async (_, n) => {
      const client = await mqtt.connectAsync(url, {
        clientId: bridgeClientId(region, instance, n),
        protocolVersion: 5,
        clean: true,
        reconnectPeriod: 0,
        properties: { sessionExpiryInterval: 0 },
      });
      await client.endAsync();
    }),
  );
}
