/**
 * Failover drill benchmark: BENCH_DRILLS (5) drills in each mode, soft (the region's process
 * SIGKILLed) and hard (its Kafka and PostgreSQL stopped too), alternating the failed region
 * (east, west, …), each with the CLI's default traffic (orders 10/s, reads 20/s, chat messages
 * and posts 2/s each, through both edges) and phases (10 s warm-up, 10 s outage, 5 s after
 * failback). Per mode: time to detect, RTO, RPO (orders and window) and reconciliation, p50 and
 * max, against the design's goals (RTO < 10 s through the edge; nothing acknowledged lost
 * after failback: every invariant holds). Baseline in the same run: each drill's own steady
 * state — the per-second p95 of the warm-up seconds before the failure — against the worst
 * second after it, as a ratio. Reports go to .stack/reports/drills/ like the CLI's.
 *
 * BENCH_DRILLS (5), BENCH_DRILL_MODES (soft,hard).
 */
import type { Region } from '../../infra/config/endpoints.ts';
import { runFailoverDrill } from '../../regions/drill/drill.ts';
import type { DrillReport } from '../../regions/drill/report.ts';
import { saveReport } from '../../regions/drill/report-files.ts';
import { summarize } from './stats.ts';

const DRILLS = Number(process.env.BENCH_DRILLS ?? 5);
const MODES = (process.env.BENCH_DRILL_MODES ?? 'soft,hard').split(',') as Array<'soft' | 'hard'>;

/** The drill's steady per-second p95 (warm-up, before the failure) and its worst second after. */
function steadyVsWorst(report: DrillReport): { steady: number; worst: number } {
  const failAt = report.events.find((e) => / down \(/.test(e.label))?.at ?? 0;
  const failSecond = Math.floor(failAt / 1000);
  const before = report.timeline.filter((s) => s.second >= 2 && s.second < failSecond && s.requests > 0);
  const after = report.timeline.filter((s) => s.second >= failSecond && s.requests > 0);
  return {
    steady: summarize(before.map((s) => s.p95Ms)).p50,
    worst: Math.max(...after.map((s) => s.p95Ms)),
  };
}

const ms = (v: number) => (Number.isFinite(v) ? `${Math.round(v)} ms` : '-');

const results: Record<string, DrillReport[]> = {};
let failed = 0;
for (const mode of MODES) {
  results[mode] = [];
  for (let i = 0; i < DRILLS; i++) {
    const from: Region = i % 2 === 0 ? 'east' : 'west';
    const t0 = Date.now();
    const cpu0 = process.cpuUsage();
    const report = await runFailoverDrill({
      from,
      hard: mode === 'hard',
      warmupSeconds: 10,
      outageSeconds: 10,
      afterSeconds: 5,
      ordersPerSecond: 10,
      readsPerSecond: 20,
      messagesPerSecond: 2,
      postsPerSecond: 2,
      log: () => {},
    });
    const cpu = process.cpuUsage(cpu0);
    // This process is the traffic generator (and the drill's checks): it must not be what limits the drill.
    const generatorCpu = `${((cpu.user + cpu.system) / 10 / (Date.now() - t0)).toFixed(0)}%`;
    results[mode].push(report);
    saveReport(report);
    const m = report.measurements;
    const { steady, worst } = steadyVsWorst(report);
    if (!report.ok) failed++;
    console.log(
      `${mode} #${i + 1} from ${from}: ${report.ok ? 'passed' : 'FAILED'} in ${((Date.now() - t0) / 1000).toFixed(0)} s — ` +
        `detect ${m.timeToDetectMs} ms, RTO ${m.rtoMs} ms, RPO ${m.rpoOrders} orders (${m.rpoWindowMs} ms), ` +
        `reconciled ${m.reconcileMs} ms; ${m.acknowledgedOrders} orders, ${m.acknowledgedMessages} messages, ` +
        `${m.acknowledgedPosts} posts; p95/s steady ${steady} ms, worst ${worst} ms (${(worst / Math.max(1, steady)).toFixed(1)}×); ` +
        `generator CPU ${generatorCpu} of a core` +
        (report.ok
          ? ''
          : `\n  broken: ${report.invariants
              .filter((v) => !v.ok)
              .map((v) => `${v.name}: ${v.detail}`)
              .join('; ')}`),
    );
  }
}

console.log(
  '\nmode  drills  passed  detect p50/max   RTO p50/max       RPO orders p50/max  RPO window max  reconcile p50/max  worst p95/s ÷ steady p50/max',
);
for (const [mode, reports] of Object.entries(results)) {
  const m = reports.map((r) => r.measurements);
  const pick = (f: (x: (typeof m)[number]) => number | null) =>
    summarize(m.map(f).filter((v): v is number => v !== null));
  const detect = pick((x) => x.timeToDetectMs);
  const rto = pick((x) => x.rtoMs);
  const rpo = pick((x) => x.rpoOrders);
  const window = pick((x) => x.rpoWindowMs);
  const reconcile = pick((x) => x.reconcileMs);
  const ratios = summarize(
    reports.map((r) => {
      const { steady, worst } = steadyVsWorst(r);
      return worst / Math.max(1, steady);
    }),
  );
  console.log(
    [
      mode.padEnd(5),
      String(reports.length).padEnd(7),
      String(reports.filter((r) => r.ok).length).padEnd(7),
      `${ms(detect.p50)} / ${ms(detect.max)}`.padEnd(16),
      `${ms(rto.p50)} / ${ms(rto.max)}`.padEnd(17),
      `${rpo.p50} / ${rpo.max}`.padEnd(19),
      ms(window.max).padEnd(15),
      `${ms(reconcile.p50)} / ${ms(reconcile.max)}`.padEnd(18),
      `${ratios.p50.toFixed(1)}× / ${ratios.max.toFixed(1)}×`,
    ].join(' '),
  );
  console.log(
    `      goals: RTO < 10 s ${rto.max < 10_000 ? 'met' : 'MISSED'} (max ${ms(rto.max)}); ` +
      `nothing acknowledged lost after failback ${reports.every((r) => r.ok) ? 'met' : 'MISSED'}`,
  );
}
process.exit(failed ? 1 : 0);
