/**
 * The local stack's lifecycle: up (install, start, wait healthy), status, down, reset.
 * Idempotent: what runs is left alone; `down` stops only what the stack started.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { FIXED_PORT_RANGES } from '../config/endpoints.ts';
import { ensureDebianPackages, ensureFerretDb, ensureJaeger, ensureKafkaJars, ensureTraversable } from './install.ts';
import { logFile, paths } from './paths.ts';
import { familyOf, portOwner, reservePorts } from './ports.ts';
import { runningPid, startDetached, stopTracked } from './process.ts';
import { optInEnabled, postgresUser, type ServiceDef, stackServices } from './services.ts';

export type Log = (line: string) => void;

export class StackError extends Error {
  readonly service: string | undefined;
  readonly log: string | undefined;
  constructor(message: string, service?: string, log?: string) {
    super(message);
    this.service = service;
    this.log = log;
  }
}

function secs(since: number): string {
  return `${((performance.now() - since) / 1000).toFixed(1)}s`;
}

function label(s: ServiceDef): string {
  return `${s.name} ${s.region}`.padEnd(18);
}

export interface UpReport {
  readonly started: string[];
  readonly alreadyRunning: string[];
  readonly external: string[];
}

function select(all: ServiceDef[], only: readonly string[]): ServiceDef[] {
  if (only.length === 0) return all;
  const unknown = only.filter((id) => !all.some((s) => s.id === id));
  if (unknown.length)
    throw new StackError(`unknown service(s) ${unknown.join(', ')}; known: ${all.map((s) => s.id).join(', ')}`);
  // A selected service brings the services it needs.
  const wanted = new Set<string>();
  const add = (id: string) => {
    if (wanted.has(id)) return;
    wanted.add(id);
    for (const need of all.find((s) => s.id === id)?.needs ?? []) add(need);
  };
  only.forEach(add);
  return all.filter((s) => wanted.has(s.id));
}

/** Names every port a service needs that another process holds. */
function portConflicts(services: ServiceDef[]): string[] {
  const conflicts: string[] = [];
  for (const s of services) {
    const ours = runningPid(s.id);
    const family = ours === undefined ? new Set<number>() : familyOf(ours);
    for (const port of s.ports) {
      const owner = portOwner(port);
      if (!owner || (owner.pid !== undefined && family.has(owner.pid))) continue;
      const who = owner.pid ? `pid ${owner.pid}${owner.name ? ` (${owner.name})` : ''}` : 'another process';
      conflicts.push(`port ${port} needed by ${s.id} is already taken by ${who}`);
    }
  }
  return conflicts;
}

async function waitHealthy(s: ServiceDef, pid: number): Promise<string> {
  const deadline = Date.now() + s.startTimeoutMs;
  let last = 'no probe yet';
  while (Date.now() < deadline) {
    if (runningPid(s.id) !== pid)
      throw new StackError(`${s.id} exited during start (last probe: ${last})`, s.id, logFile(s.id));
    try {
      return await s.probe();
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(250);
  }
  throw new StackError(`${s.id} not healthy after ${s.startTimeoutMs / 1000}s: ${last}`, s.id, logFile(s.id));
}

/**
 * Starts a service and waits until it is healthy. A service that exits while starting is
 * started again, twice at most: a listening port can stay unbindable for a moment after its
 * previous owner closed connections (TIME_WAIT), which RabbitMQ reports as eaddrinuse.
 */
async function startWithRetry(s: ServiceDef, log: Log): Promise<{ pid: number; version: string }> {
  for (let attempt = 1; ; attempt++) {
    const pid = startDetached(s.id, s.spawn());
    try {
      return { pid, version: await waitHealthy(s, pid) };
    } catch (err) {
      const exited = runningPid(s.id) !== pid;
      if (!exited || attempt >= 3) throw err;
      log(`  retrying  ${label(s)} it exited while starting (${(err as Error).message}); see ${logFile(s.id)}`);
      await sleep(2000 * attempt);
    }
  }
}

/** Installs what is missing and starts every service that is not running. */
export async function up(
  env: Record<string, string | undefined>,
  log: Log,
  only: readonly string[] = [],
): Promise<UpReport> {
  const services = select(stackServices(env), only).filter((s) => optInEnabled(s, env, only));
  const local = services.filter((s) => !s.external);
  for (const dir of Object.values(paths)) mkdirSync(dir, { recursive: true });

  const conflicts = portConflicts(local.filter((s) => runningPid(s.id) === undefined));
  if (conflicts.length) throw new StackError(`cannot start: ${conflicts.join('; ')}. Nothing was started.`);

  log(`  ports     ${reservePorts(FIXED_PORT_RANGES)}`);
  const t0 = performance.now();
  const installed = await ensureDebianPackages();
  log(`  install   debian packages ${installed.length ? `installed ${installed.join(' ')}` : 'present'} (${secs(t0)})`);
  // The jars and the Go builds run while the services that need neither start: a fresh
  // machine spends minutes here, most of it compiling FerretDB.
  const install = (what: string, verb: string, ensure: () => Promise<boolean>): Promise<void> => {
    const t = performance.now();
    const done = ensure().then((did) => log(`  install   ${what} ${did ? verb : 'present'} (${secs(t)})`));
    done.catch(() => {}); // reported by the services that wait for it
    return done;
  };
  const installs = new Map<string, Promise<void>>();
  const wanted = (...names: string[]) => local.some((s) => names.includes(s.name));
  if (wanted('kafka', 'mirrormaker2')) {
    const jars = install('kafka', 'jars fetched', ensureKafkaJars);
    installs.set('kafka', jars).set('mirrormaker2', jars);
  }
  if (wanted('jaeger')) installs.set('jaeger', install('jaeger', 'built', ensureJaeger));
  if (wanted('ferretdb')) installs.set('ferretdb', install('ferretdb', 'built', ensureFerretDb));
  if (local.some((s) => s.name === 'postgres') && process.getuid?.() === 0) {
    ensureTraversable(paths.data, postgresUser().uid, log);
  }

  const report: UpReport = {
    started: [],
    alreadyRunning: [],
    external: services.filter((s) => s.external).map((s) => s.id),
  };
  const startedNow: ServiceDef[] = [];
  // Each service starts as soon as the services it needs are healthy.
  const ready = new Map<string, Promise<void>>();
  const bringUp = async (s: ServiceDef): Promise<void> => {
    await Promise.all([...s.needs.map((n) => ready.get(n)), installs.get(s.name)]);
    const t = performance.now();
    const existing = runningPid(s.id);
    if (existing !== undefined) {
      report.alreadyRunning.push(s.id);
      log(`  running   ${label(s)} pid ${existing}, left alone`);
    } else {
      s.prepare();
      startedNow.push(s);
      const { pid, version } = await startWithRetry(s, log);
      report.started.push(s.id);
      log(`  started   ${label(s)} pid ${pid}, ${version}, healthy in ${secs(t)}`);
    }
    await s.afterStart?.();
  };
  for (const s of local) ready.set(s.id, bringUp(s));
  const results = await Promise.allSettled(ready.values());
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) {
    // Leave nothing half-started: stop what this run started, newest first.
    for (const s of startedNow.reverse()) await stopTracked(s.id, s.stopSignal, s.stopGraceMs);
    throw failure.reason;
  }
  return report;
}

export interface ServiceStatus {
  readonly id: string;
  readonly service: string;
  readonly region: string;
  readonly port: number | undefined;
  readonly pid: number | 'external' | undefined;
  readonly version: string;
  readonly healthy: boolean;
  readonly reason: string;
  readonly log: string;
}

/** Probes every service (in parallel) and reports its state. */
export async function status(env: Record<string, string | undefined>): Promise<ServiceStatus[]> {
  // An opt-in service shows when it is enabled or running.
  const shown = stackServices(env).filter((s) => optInEnabled(s, env, []) || runningPid(s.id) !== undefined);
  return Promise.all(
    shown.map(async (s): Promise<ServiceStatus> => {
      const pid: ServiceStatus['pid'] = s.external ? 'external' : runningPid(s.id);
      const base = {
        id: s.id,
        service: s.name,
        region: s.region,
        port: s.ports[0],
        pid,
        log: s.external ? '' : logFile(s.id),
      };
      if (pid === undefined) return { ...base, version: '', healthy: false, reason: 'not running' };
      try {
        return { ...base, version: await s.probe(), healthy: true, reason: '' };
      } catch (err) {
        return { ...base, version: '', healthy: false, reason: (err as Error).message };
      }
    }),
  );
}

/** Stops what the stack started, dependents first; harmless when nothing runs. */
export async function down(
  env: Record<string, string | undefined>,
  log: Log,
  only: readonly string[] = [],
): Promise<string[]> {
  const all = stackServices(env);
  const chosen = only.length ? select(all, only).filter((s) => only.includes(s.id)) : all;
  const stopped: string[] = [];
  // Reverse start order, one dependency level at a time, each level in parallel.
  const remaining = [...chosen].reverse();
  while (remaining.length) {
    const level = remaining.filter((s) => !remaining.some((other) => other.needs.includes(s.id)));
    await Promise.all(
      level.map(async (s) => {
        const t = performance.now();
        if (await stopTracked(s.id, s.stopSignal, s.stopGraceMs)) {
          stopped.push(s.id);
          log(`  stopped   ${label(s)} in ${secs(t)}`);
        }
      }),
    );
    for (const s of level) remaining.splice(remaining.indexOf(s), 1);
  }
  if (stopped.length === 0) log('  nothing was running');
  return stopped;
}

/** Stops everything and wipes data, config, logs and pid files (keeps downloaded binaries). */
export async function reset(env: Record<string, string | undefined>, log: Log): Promise<void> {
  await down(env, log);
  for (const dir of [paths.data, paths.conf, paths.logs, paths.run]) rmSync(dir, { recursive: true, force: true });
  log(`  wiped     ${paths.data}, ${paths.conf}, ${paths.logs}`);
}
