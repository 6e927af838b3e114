/**
 * `npm run drill -- failover --from east [--hard] [--warmup S] [--outage S] [--after S]
 *  [--orders N/s] [--reads N/s] [--messages N/s] [--posts N/s] [--break-reconciliation]` — runs a failover drill against the
 * local stack and writes its report (JSON and HTML with the timeline) under .stack/reports/drills/,
 * also as latest.json and latest.html. Exits 1 when an invariant broke, 2 when the drill itself
 * could not run. Composition root: arguments validated here.
 */
import { parseArgs } from 'node:util';
import { parseRegion } from '../../infra/config/endpoints.ts';
import { stopAllClusters } from './cluster.ts';
import { runFailoverDrill } from './drill.ts';
import { saveReport } from './report-files.ts';

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
    messages: { type: 'string' },
    posts: { type: 'string' },
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

// Stopped (Ctrl-C, or the ops console's stop): take the drill's processes down with it.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(
      `drill: ${signal}: stopping its processes (a --hard drill may leave services down: npm run stack -- up)`,
    );
    void stopAllClusters().finally(() => process.exit(130));
  });
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
    messagesPerSecond: seconds('messages', values.messages, 2),
    postsPerSecond: seconds('posts', values.posts, 2),
    breakReconciliation: values['break-reconciliation'],
    log: (line) => console.log(line),
  });
  const html = saveReport(report, { latest: true });
  const m = report.measurements;
  console.log(
    `drill: ${report.ok ? 'PASSED' : 'FAILED'} — detect ${m.timeToDetectMs} ms, RTO ${m.rtoMs} ms, ` +
      `RPO ${m.rpoOrders} orders (${m.rpoWindowMs} ms), reconciled ${m.reconcileMs} ms, ${m.acknowledgedOrders} orders, ` +
      `${m.acknowledgedMessages} chat messages, ${m.acknowledgedPosts} posts`,
  );
  for (const i of report.invariants) console.log(`  ${i.ok ? '✔' : '✖'} ${i.name}: ${i.detail}`);
  console.log(`drill: report ${html}`);
  process.exit(report.ok ? 0 : 1);
} catch (err) {
  console.error(`drill: could not run: ${(err as Error).stack ?? err}`);
  process.exit(2);
}
