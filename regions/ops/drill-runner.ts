/**
 * Starting the failover drill from the console: the drill's own CLI (`regions/drill/main.ts
 * failover …`, what `npm run drill` runs) as a child process, so the console shares nothing
 * with the region processes the drill kills, and its report lands where every drill's does
 * (.stack/reports/drills/). One drill at a time; its output lines are the progress.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** What an operator may choose when starting a drill. */
export interface DrillRequest {
  readonly from: 'east' | 'west';
  readonly hard: boolean;
  readonly warmupSeconds: number;
  readonly outageSeconds: number;
  readonly afterSeconds: number;
  /** The drill's synthetic orders per second (its reads, chat messages and posts keep their rates). */
  readonly ordersPerSecond: number;
}

/** A drill's progress as the console shows it. */
export interface DrillState {
  readonly id: string;
  readonly request: DrillRequest;
  readonly startedAt: string;
  readonly running: boolean;
  /** The drill's output, line by line (the last 500). */
  readonly lines: readonly string[];
  /** 0 passed, 1 an invariant broke, 2 the drill could not run; undefined while running. */
  readonly exitCode?: number | null;
}

/** Starts drills and tells how the current (or last) one is going. */
export interface DrillRunner {
  /** Starts a drill; undefined when one is already running. */
  start(request: DrillRequest): DrillState | undefined;
  current(): DrillState | undefined;
  /** Ends a running drill (console shutdown). */
  stop(): Promise<void>;
}

const DRILL_MAIN = fileURLToPath(new URL('../drill/main.ts', import.meta.url));
const MAX_LINES = 500;

/** Checks an operator's request; a message for each bad field. */
export function parseDrillRequest(body: unknown): DrillRequest | string {
  const b = (body ?? {}) as Record<string, unknown>;
  const from = b.from ?? 'east';
  if (from !== 'east' && from !== 'west') return 'from: east or west';
  const secs = (name: string, fallback: number, max: number): number | string => {
    const v = b[name] ?? fallback;
    return typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= max ? v : `${name}: 0 to ${max} seconds`;
  };
  const warmup = secs('warmupSeconds', 10, 600);
  const outage = secs('outageSeconds', 10, 600);
  const after = secs('afterSeconds', 5, 600);
  for (const v of [warmup, outage, after]) if (typeof v === 'string') return v;
  const orders = b.ordersPerSecond ?? 10;
  if (typeof orders !== 'number' || !Number.isFinite(orders) || orders < 1 || orders > 200)
    return 'ordersPerSecond: 1 to 200 orders a second';
  if (b.hard !== undefined && typeof b.hard !== 'boolean') return 'hard: true or false';
  return {
    from,
    hard: b.hard === true,
    warmupSeconds: warmup as number,
    outageSeconds: outage as number,
    afterSeconds: after as number,
    ordersPerSecond: orders,
  };
}

/** Runs the drill CLI with this Node (and its flags), in `cwd` with `env`. */
export function createDrillRunner(opts: { readonly env?: NodeJS.ProcessEnv; readonly cwd?: string } = {}): DrillRunner {
  let state: { -readonly [K in keyof DrillState]: DrillState[K] } | undefined;
  let child: ChildProcess | undefined;
  return {
    start(request) {
      if (state?.running) return undefined;
      const args = [
        '--disable-warning=TimeoutNegativeWarning',
        DRILL_MAIN,
        'failover',
        '--from',
        request.from,
        '--warmup',
        String(request.warmupSeconds),
        '--outage',
        String(request.outageSeconds),
        '--after',
        String(request.afterSeconds),
        '--orders',
        String(request.ordersPerSecond),
        ...(request.hard ? ['--hard'] : []),
      ];
      const lines: string[] = [];
      const s = {
        id: crypto.randomUUID(),
        request,
        startedAt: new Date().toISOString(),
        running: true,
        lines,
        exitCode: undefined as number | null | undefined,
      };
      state = s;
      const proc = spawn(process.execPath, args, {
        cwd: opts.cwd,
        env: opts.env ?? process.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = proc;
      let partial = '';
      const take = (chunk: Buffer) => {
        const text = partial + chunk.toString('utf8');
        const parts = text.split('\n');
        partial = parts.pop() ?? '';
        lines.push(...parts);
        if (lines.length > MAX_LINES) lines.splice(0, lines.length - MAX_LINES);
      };
      proc.stdout?.on('data', take);
      proc.stderr?.on('data', take);
      proc.once('exit', (code) => {
        if (partial) lines.push(partial);
        s.running = false;
        s.exitCode = code;
        child = undefined;
      });
      proc.once('error', (err) => {
        lines.push(`drill: could not start: ${err.message}`);
        s.running = false;
        s.exitCode = 2;
      });
      return { ...s, lines: [...lines] };
    },
    current: () => (state ? { ...state, lines: [...state.lines] } : undefined),
    async stop() {
      const c = child;
      if (!c || c.exitCode !== null) return;
      c.kill('SIGTERM');
      await new Promise((r) => c.once('exit', r));
    },
  };
}
