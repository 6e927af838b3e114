/**
 * Interleaved rounds of wrk runs and their report: every target of a case runs once per round,
 * baseline first, so slow drift on a shared machine (other work starting or stopping) lands on
 * both sides of a ratio rather than on one. Ratios are taken within a round, then the median
 * of the rounds is reported with the per-round values beside it.
 */
import { runWrk, type WrkLoad, type WrkResult } from './wrk.ts';

/** A load against one target of a case; `server` names the process whose CPU is the target's own. */
export interface Target {
  readonly label: string;
  readonly load: WrkLoad;
  /** The key of `load.servers` that is this target's own process. */
  readonly server?: string;
}

/** Several targets under the same load; the first is the baseline of the ratios. */
export interface Case {
  readonly name: string;
  readonly targets: readonly Target[];
  /** Checked once before the first round (e.g. that a hit really is a hit); throws to abort the bench. */
  readonly check?: () => Promise<void>;
  /** Another target to state every ratio against too (e.g. the subgraph a gateway fronts). */
  readonly alsoAgainst?: string;
  /** The goal the ratios are read against, printed with them. */
  readonly goal?: string;
}

/** Results by case name, then by target label, one per round. */
export type RoundResults = Map<string, Map<string, WrkResult[]>>;

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** BENCH_ONLY=<regex>: only the cases whose name matches (e.g. `c32|miss`). */
const only = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : undefined;

/** Runs every case's targets `rounds` times, round by round, and prints each case's report after the last round. */
export async function runRounds(all: readonly Case[], rounds: number, log = console.log): Promise<RoundResults> {
  const cases = only ? all.filter((c) => only.test(c.name)) : all;
  const results: RoundResults = new Map();
  for (const c of cases) {
    await c.check?.();
    results.set(c.name, new Map(c.targets.map((t) => [t.label, []])));
  }
  for (let round = 1; round <= rounds; round++) {
    for (const c of cases) {
      for (const t of c.targets) {
        const r = await runWrk(t.load);
        results.get(c.name)?.get(t.label)?.push(r);
        log(`  round ${round} ${c.name} · ${t.label}: ${Math.round(r.rps)} req/s, p99 ${r.p99.toFixed(2)} ms`);
      }
    }
  }
  for (const c of cases) printCase(c, results.get(c.name) as Map<string, WrkResult[]>, log);
  return results;
}

const f2 = (n: number) => n.toFixed(2);
const f3 = (n: number) => n.toFixed(3);

function ownCpu(t: Target, r: WrkResult): number {
  const own = t.server ? r.servers[t.server] : Object.values(r.servers)[0];
  return own?.cpuMsPerRequest ?? Number.NaN;
}

/** The case's rows: each target's medians, then each target's ratios against the baseline. */
export function printCase(c: Case, byTarget: Map<string, WrkResult[]>, log = console.log): void {
  const width = Math.max(...c.targets.map((t) => t.label.length));
  log(
    `[${c.name}] ${c.targets[0]?.load.connections} connections, ${byTarget.get(c.targets[0]?.label ?? '')?.length} rounds (medians)`,
  );
  for (const t of c.targets) {
    const rs = byTarget.get(t.label) ?? [];
    const m = (pick: (r: WrkResult) => number) => median(rs.map(pick));
    const others = Object.keys(rs[0]?.servers ?? {})
      .filter((k) => k !== t.server)
      .map((k) => `${k} ${f3(m((r) => r.servers[k]?.cpuMsPerRequest ?? Number.NaN))}`);
    log(
      `  ${t.label.padEnd(width)}  ${Math.round(m((r) => r.rps))
        .toString()
        .padStart(6)} req/s (${rs.map((r) => Math.round(r.rps)).join(', ')})` +
        `  p50 ${f2(m((r) => r.p50))} p95 ${f2(m((r) => r.p95))} p99 ${f2(m((r) => r.p99))} ms` +
        `  server CPU ${f3(m((r) => ownCpu(t, r)))} ms/req` +
        (others.length ? ` (${others.join(', ')} ms/req)` : '') +
        `  wrk CPU ${f3(m((r) => r.generatorCpuMsPerRequest))} ms/req, ${f2(m((r) => r.generatorCores))} core` +
        `  errors ${rs.reduce((a, r) => a + r.errors, 0)}`,
    );
  }
  const [first] = c.targets;
  const second = c.targets.find((t) => t.label === c.alsoAgainst);
  for (const base of [first, second]) {
    if (base) printRatios(c, base, byTarget, log);
  }
}

function printRatios(c: Case, base: Target, byTarget: Map<string, WrkResult[]>, log: typeof console.log): void {
  const b = byTarget.get(base.label) ?? [];
  for (const t of c.targets.filter((x) => x !== base)) {
    const rs = byTarget.get(t.label) ?? [];
    const per = (pick: (x: WrkResult, y: WrkResult) => number) => rs.map((r, i) => pick(r, b[i] as WrkResult));
    const thr = per((r, x) => r.rps / x.rps);
    const p99 = per((r, x) => r.p99 / x.p99);
    const cpu = per((r, x) => ownCpu(t, r) / ownCpu(base, x));
    log(
      `  ${t.label} / ${base.label}: throughput ${f2(median(thr))}x (${thr.map(f2).join(', ')}),` +
        ` p99 ${f2(median(p99))}x (${p99.map(f2).join(', ')}), server CPU/req ${f2(median(cpu))}x`,
    );
  }
}
