/**
 * The region's service manager: every long-running part of a region process (HTTP servers,
 * consumers, the outbox relay, a domain's own services) is a Service with a name, what it
 * needs, start and stop. The manager starts them in dependency order (services whose needs
 * are running start together), stops them once, in reverse, and reports each into /ready.
 * A service that fails to start stops everything started before it.
 */

/** A long-running part of a region process. */
export interface Service {
  /** Unique within the process, e.g. `outbox-relay`, `<domain>.<processor>`. */
  readonly name: string;
  /** Services that must be running before this one starts. */
  readonly needs?: readonly string[];
  start(): Promise<void>;
  /** Releases what start took; called at most once, only after start resolved. */
  stop(): Promise<void>;
  /** For /ready: resolves with a short state while healthy, rejects with why not. */
  check?(): Promise<string>;
}

export type ServiceState = 'pending' | 'starting' | 'running' | 'failed' | 'stopping' | 'stopped';

/** One service as /ready reports it. */
export interface ServiceStatus {
  readonly state: ServiceState;
  readonly ok: boolean;
  readonly detail?: string;
  /** How long start() took. */
  readonly startMs?: number;
}

export interface ServiceManager {
  add(service: Service): void;
  /** Starts every service added so far, in dependency order; rejects (after stopping what started) on the first failure. */
  start(): Promise<void>;
  /** Stops every started service once, in reverse start order; never rejects. */
  stop(): Promise<void>;
  status(): Promise<Record<string, ServiceStatus>>;
  /** The names in the order they finished starting. */
  readonly started: readonly string[];
  /** Every service added so far, in the order added. */
  names(): string[];
}

/** A service of a one-shot step (migrations, topic creation): runs at start, nothing to stop. */
export function step(name: string, run: () => Promise<unknown>, needs: readonly string[] = []): Service {
  return { name, needs, start: async () => void (await run()), stop: async () => {} };
}

/** Orders services so each comes after what it needs; throws on an unknown need or a cycle. */
export function startOrder(services: readonly Service[]): Service[][] {
  const byName = new Map<string, Service>();
  for (const s of services) {
    if (byName.has(s.name)) throw new Error(`service ${s.name} is added twice`);
    byName.set(s.name, s);
  }
  for (const s of services) {
    for (const need of s.needs ?? []) {
      if (!byName.has(need)) throw new Error(`service ${s.name} needs ${need}, which is not added`);
    }
  }
  const waves: Service[][] = [];
  const placed = new Set<string>();
  while (placed.size < services.length) {
    const wave = services.filter((s) => !placed.has(s.name) && (s.needs ?? []).every((n) => placed.has(n)));
    if (wave.length === 0) {
      const stuck = services.filter((s) => !placed.has(s.name)).map((s) => s.name);
      throw new Error(`services depend on each other in a cycle: ${stuck.join(', ')}`);
    }
    for (const s of wave) placed.add(s.name);
    waves.push(wave);
  }
  return waves;
}

/** Creates a manager; `log` receives one line per start and stop. */
export function createServiceManager(log: (line: string) => void = () => {}): ServiceManager {
  const services: Service[] = [];
  const state = new Map<string, { state: ServiceState; detail?: string; startMs?: number }>();
  const started: string[] = [];
  /** Services started together, in start order: stopped together, in reverse. */
  const startedWaves: Service[][] = [];
  let stopping: Promise<void> | undefined;

  async function startOne(s: Service): Promise<void> {
    state.set(s.name, { state: 'starting' });
    const t0 = performance.now();
    try {
      await s.start();
    } catch (err) {
      state.set(s.name, { state: 'failed', detail: (err as Error)?.message ?? String(err) });
      throw new Error(`service ${s.name} failed to start: ${(err as Error)?.message ?? err}`, { cause: err });
    }
    const startMs = Math.round(performance.now() - t0);
    started.push(s.name);
    state.set(s.name, { state: 'running', startMs });
    log(`service ${s.name} running (${startMs} ms)`);
  }

  async function stopOne(s: Service): Promise<void> {
    state.set(s.name, { ...state.get(s.name), state: 'stopping' });
    const t0 = performance.now();
    try {
      await s.stop();
      state.set(s.name, { state: 'stopped' });
      log(`service ${s.name} stopped (${Math.round(performance.now() - t0)} ms)`);
    } catch (err) {
      state.set(s.name, { state: 'stopped', detail: `stop failed: ${(err as Error)?.message ?? err}` });
      log(`service ${s.name}: stop failed: ${(err as Error)?.message ?? err}`);
    }
  }

  async function stopAll(): Promise<void> {
    // A later wave may need an earlier one; services of one wave need none of each other.
    for (const wave of [...startedWaves].reverse()) {
      await Promise.all(wave.filter((s) => started.includes(s.name)).map(stopOne));
    }
  }

  return {
    started,
    names: () => services.map((s) => s.name),
    add(service) {
      if (stopping) throw new Error(`service ${service.name} added after stop`);
      services.push(service);
      state.set(service.name, { state: 'pending' });
    },
    async start() {
      const pending = services.filter((s) => state.get(s.name)?.state === 'pending');
      // Needs on services already running count as met.
      const running = services.filter((s) => started.includes(s.name));
      const waves = startOrder([...running, ...pending]).map((w) => w.filter((s) => !started.includes(s.name)));
      for (const wave of waves) {
        if (wave.length === 0) continue;
        startedWaves.push(wave);
        const results = await Promise.allSettled(wave.map(startOne));
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) {
          await this.stop();
          throw failed.reason;
        }
      }
    },
    stop() {
      stopping ??= stopAll();
      return stopping;
    },
    async status() {
      const entries = await Promise.all(
        services.map(async (s): Promise<[string, ServiceStatus]> => {
          const st = state.get(s.name) ?? { state: 'pending' as const };
          if (st.state !== 'running') return [s.name, { ...st, ok: false }];
          if (!s.check) return [s.name, { ...st, ok: true }];
          try {
            return [s.name, { ...st, ok: true, detail: await s.check() }];
          } catch (err) {
            return [s.name, { ...st, ok: false, detail: (err as Error)?.message ?? String(err) }];
          }
        }),
      );
      return Object.fromEntries(entries);
    },
  };
}
