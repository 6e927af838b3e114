/**
 * Detached service processes, tracked by pid files. A pid file records the pid and
 * the kernel's start time of the process, so a recycled pid is never mistaken for
 * ours and `down` never signals a stranger.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { logFile, pidFile } from './paths.ts';

export interface Tracked {
  readonly pid: number;
  readonly startTime: string;
  readonly command: string;
}

/** Kernel start time (clock ticks since boot) of a pid, or undefined if it is gone. */
export function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) may contain spaces; fields after the closing paren are fixed.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const state = rest[0];
    if (state === 'Z' || state === 'X') return undefined;
    return rest[19];
  } catch {
    return undefined;
  }
}

export function readTracked(id: string): Tracked | undefined {
  const file = pidFile(id);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Tracked;
  } catch {
    return undefined;
  }
}

/** The tracked process of a service if it is still the one we started. */
export function runningPid(id: string): number | undefined {
  const t = readTracked(id);
  if (!t) return undefined;
  return startTimeOf(t.pid) === t.startTime ? t.pid : undefined;
}

export interface SpawnSpec {
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: Record<string, string>;
  readonly cwd?: string;
  readonly uid?: number;
  readonly gid?: number;
}

/** Starts a service in its own process group, output appended to its log file. */
export function startDetached(id: string, spec: SpawnSpec): number {
  const out = openSync(logFile(id), 'a');
  try {
    const child = spawn(spec.command, spec.args, {
      detached: true,
      stdio: ['ignore', out, out],
      env: { ...process.env, ...spec.env },
      cwd: spec.cwd,
      uid: spec.uid,
      gid: spec.gid,
    });
    if (child.pid === undefined) throw new Error(`could not spawn ${spec.command}`);
    child.unref();
    const startTime = startTimeOf(child.pid);
    if (!startTime) throw new Error(`${spec.command} exited immediately`);
    const tracked: Tracked = { pid: child.pid, startTime, command: [spec.command, ...spec.args].join(' ') };
    writeFileSync(pidFile(id), JSON.stringify(tracked));
    return child.pid;
  } finally {
    closeSync(out);
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // group already gone
  }
}

/** True while the process group led by `pid` has any member left. */
export function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Stops a tracked service: `signal` to its main process, then, after `graceMs`,
 * SIGKILL to the whole process group so no child outlives it.
 */
export async function stopTracked(id: string, signal: NodeJS.Signals, graceMs: number): Promise<boolean> {
  const pid = runningPid(id);
  if (pid === undefined) {
    rmSync(pidFile(id), { force: true });
    return false;
  }
  try {
    process.kill(pid, signal);
  } catch {
    // already exiting
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && groupAlive(pid)) await sleep(100);
  if (groupAlive(pid)) {
    signalGroup(pid, 'SIGKILL');
    const hard = Date.now() + 5000;
    while (Date.now() < hard && groupAlive(pid)) await sleep(50);
  }
  rmSync(pidFile(id), { force: true });
  return true;
}
