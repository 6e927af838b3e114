/**
 * `npm run drill -- failover --from east [--hard] [--warmup S] [--outage S] [--after S]
 *  [--orders N/s] [--reads N/s] [--break-reconciliation]` — runs a failover drill against the
 * local stack and writes its report (JSON and HTML with the timeline) under .stack/reports/drills/,
 * also as latest.json and latest.html. Exits 1 when an invariant broke, 2 when the drill itself
 * could not run. Composition root: arguments validated here.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseRegion } from '../../infra/config/endpoints.ts';
import { paths } from '../../infra/stack/paths.ts';
import { runFailoverDrill } from './drill.ts';
import { reportHtml } from './report.ts';

export const DRILL_REPORTS_DIR = path.join(paths.root, 'reports', 'drills');

function seconds(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < 0 || v > 3600) {
    console.error(`drill: --${name} must be a number of seconds from 0 to 3600, got "${raw}"`);
    process.exit(2);
  }
  return v;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    from: { type: 'string', default: 'east' },
    hard: { type: 'boolean', default: false },
    warmup: { type: 'string' },
    outage: { type: 'string' },
    after: { type: 'string' },
    orders: { type: 'string' },
    reads: { type: 'string' },
    'break-reconciliation': { type: 'boolean', default: false },
  },
});
if (positionals[0] !== 'failover') {
  console.error('usage: npm run drill -- failover --from east|west [--hard] [--warmup S] [--outage S] [--after S]');
  process.exit(2);
}
let from: ReturnType<typeof parseRegion>;
try {
  from = parseRegion(values.from);
} catch (err) {
  console.error(`drill: --from: ${(err as Error).message}`);
  process.exit(2);
}

try {
  const report = await runFailoverDrill({
    from,
    hard: values.hard,
    warmupSeconds: seconds('warmup', values.warmup, 10),
    outageSeconds: seconds('outage', values.outage, 10),
    afterSeconds: seconds('after', values.after, 5),
    ordersPerSecond: seconds('orders', values.orders, 10),
    readsPerSecond: seconds('reads', values.reads, 20),
    breakReconciliation: values['break-reconciliation'],
    log: (line) => console.log(line),
  });
  mkdirSync(DRILL_REPORTS_DIR, { recursive: true });
  const stamp = report.startedAt.replace(/[:.]/g, '-');
  for (const name of [`drill-${stamp}`, 'latest']) {
    writeFileSync(path.join(DRILL_REPORTS_DIR, `${name}.json`), `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(path.join(DRILL_REPORTS_DIR, `${name}.html`), reportHtml(report));
  }
  const m = report.measurements;
  console.log(
    `drill: ${report.ok ? 'PASSED' : 'FAILED'} — detect ${m.timeToDetectMs} ms, RTO ${m.rtoMs} ms, ` +
      `RPO ${m.rpoOrders} orders (${m.rpoWindowMs} ms), reconciled ${m.reconcileMs} ms, ${m.acknowledgedOrders} orders`,
  );
  for (const i of report.invariants) console.log(`  ${i.ok ? '✔' : '✖'} ${i.name}: ${i.detail}`);
  console.log(`drill: report ${path.join(DRILL_REPORTS_DIR, `drill-${stamp}.html`)}`);
  process.exit(report.ok ? 0 : 1);
} catch (err) {
  console.error(`drill: could not run: ${(err as Error).stack ?? err}`);
  process.exit(2);
}
