/**
 * The drill's report: per-second timeline of what clients saw (success rate and p95 latency,
 * reads and writes), the drill's events, its measurements and invariants — as JSON, and as one
 * self-contained HTML page with the timeline drawn in SVG (no script, no external asset).
 */
import type { InvariantResult } from './invariants.ts';
import type { Attempt } from './traffic.ts';

export interface DrillEvent {
  /** ms since the drill started. */
  readonly at: number;
  readonly label: string;
}

export interface SecondStats {
  readonly second: number;
  readonly requests: number;
  readonly successRate: number;
  readonly writes: number;
  readonly writeSuccessRate: number;
  readonly p95Ms: number;
}

export interface DrillReport {
  readonly drill: 'failover';
  readonly from: string;
  readonly to: string;
  readonly mode: 'soft' | 'hard';
  readonly startedAt: string;
  readonly ok: boolean;
  readonly measurements: {
    /** Failure → every edge saw the region unroutable. */
    readonly timeToDetectMs: number | null;
    /** Failure → the first write acknowledged through an edge afterwards. */
    readonly rtoMs: number | null;
    /** Acknowledged before the failure but not in the survivor when the writer moved. */
    readonly rpoOrders: number;
    /** How far back the oldest of those was acknowledged, before the failure. */
    readonly rpoWindowMs: number;
    /** Failure → both regions reconciled after the failed one returned. */
    readonly reconcileMs: number | null;
    /**
     * What the regions' durable groups had not consumed when the drill started (work done while
     * they were not running), and how long the groups reconciliation measures took to catch up
     * before the traffic started (null: not within its timeout). Absent in older reports.
     */
    readonly backlogAtStart?: { readonly east: number; readonly west: number };
    readonly settleMs?: number | null;
    readonly acknowledgedOrders: number;
    /** Chat messages and posts the clients were told were taken (absent in older reports). */
    readonly acknowledgedMessages?: number;
    readonly acknowledgedPosts?: number;
  };
  readonly errorsByOperation: Record<string, Record<string, number>>;
  readonly latency: Record<string, { p50: number; p95: number; p99: number; count: number }>;
  readonly events: readonly DrillEvent[];
  readonly timeline: readonly SecondStats[];
  readonly invariants: readonly InvariantResult[];
}

/** The q-quantile (0..1) of the values, nearest rank; 0 for none. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

/** What clients saw in each second of the drill. */
export function timeline(attempts: readonly Attempt[], seconds: number): SecondStats[] {
  const out: SecondStats[] = [];
  for (let s = 0; s < seconds; s++) {
    const inSecond = attempts.filter((a) => a.at >= s * 1000 && a.at < (s + 1) * 1000);
    const writes = inSecond.filter((a) => a.write);
    out.push({
      second: s,
      requests: inSecond.length,
      successRate: inSecond.length ? inSecond.filter((a) => a.ok).length / inSecond.length : 1,
      writes: writes.length,
      writeSuccessRate: writes.length ? writes.filter((a) => a.ok).length / writes.length : 1,
      p95Ms: Math.round(
        quantile(
          inSecond.map((a) => a.latencyMs),
          0.95,
        ),
      ),
    });
  }
  return out;
}

/** Failed attempts per operation and error code (or HTTP status). */
export function errorsByOperation(attempts: readonly Attempt[]): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const a of attempts) {
    if (a.ok) continue;
    const kind = a.code ?? (a.status === 0 ? 'no answer' : `HTTP ${a.status}`);
    const op = out[a.op] ?? {};
    op[kind] = (op[kind] ?? 0) + 1;
    out[a.op] = op;
  }
  return out;
}

/** p50/p95/p99 latency per operation. */
export function latencyByOperation(attempts: readonly Attempt[]): DrillReport['latency'] {
  const out: DrillReport['latency'] = {};
  for (const op of new Set(attempts.map((a) => a.op))) {
    const ms = attempts.filter((a) => a.op === op).map((a) => a.latencyMs);
    out[op] = {
      p50: Math.round(quantile(ms, 0.5)),
      p95: Math.round(quantile(ms, 0.95)),
      p99: Math.round(quantile(ms, 0.99)),
      count: ms.length,
    };
  }
  return out;
}

const esc = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);

/** The timeline as an SVG chart: success rates (left axis) and p95 latency (right axis), events as markers. */
export function timelineSvg(report: Pick<DrillReport, 'timeline' | 'events'>): string {
  const W = 960;
  const H = 320;
  const pad = { l: 50, r: 60, t: 20, b: 40 };
  const n = Math.max(1, report.timeline.length);
  const x = (s: number) => pad.l + (s / n) * (W - pad.l - pad.r);
  const maxP95 = Math.max(100, ...report.timeline.map((t) => t.p95Ms));
  const yRate = (r: number) => pad.t + (1 - r) * (H - pad.t - pad.b);
  const yMs = (ms: number) => pad.t + (1 - ms / maxP95) * (H - pad.t - pad.b);
  const line = (pts: Array<[number, number]>, color: string, dash = '') =>
    `<polyline fill="none" stroke="${color}" stroke-width="2" ${dash ? `stroke-dasharray="${dash}"` : ''} points="${pts.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(' ')}"/>`;
  const events = report.events
    .map((e, i) => {
      const ex = x(e.at / 1000);
      return `<line x1="${ex}" x2="${ex}" y1="${pad.t}" y2="${H - pad.b}" stroke="#999" stroke-dasharray="3,3"/><text x="${ex + 3}" y="${pad.t + 12 + (i % 4) * 12}" font-size="10" fill="#555">${esc(e.label)}</text>`;
    })
    .join('');
  const ticks = Array.from({ length: Math.min(n, 12) + 1 }, (_, i) => Math.round((i * n) / Math.min(n, 12)))
    .map((s) => `<text x="${x(s)}" y="${H - pad.b + 15}" font-size="10" text-anchor="middle">${s}s</text>`)
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" role="img" aria-label="drill timeline">
<rect x="${pad.l}" y="${pad.t}" width="${W - pad.l - pad.r}" height="${H - pad.t - pad.b}" fill="#fafafa" stroke="#ddd"/>
${[0, 0.5, 1].map((r) => `<text x="${pad.l - 5}" y="${yRate(r) + 3}" font-size="10" text-anchor="end">${r * 100}%</text>`).join('')}
<text x="${W - pad.r + 5}" y="${yMs(maxP95) + 3}" font-size="10">${maxP95} ms</text><text x="${W - pad.r + 5}" y="${yMs(0) + 3}" font-size="10">0 ms</text>
${ticks}
${line(
  report.timeline.map((t) => [x(t.second + 0.5), yRate(t.successRate)]),
  '#2a7',
)}
${line(
  report.timeline.map((t) => [x(t.second + 0.5), yRate(t.writeSuccessRate)]),
  '#27c',
)}
${line(
  report.timeline.map((t) => [x(t.second + 0.5), yMs(t.p95Ms)]),
  '#c52',
  '5,3',
)}
${events}
<text x="${pad.l}" y="${H - 8}" font-size="11" fill="#2a7">— success rate (all)</text>
<text x="${pad.l + 150}" y="${H - 8}" font-size="11" fill="#27c">— writes succeeding</text>
<text x="${pad.l + 300}" y="${H - 8}" font-size="11" fill="#c52">- - p95 latency</text>
</svg>`;
}

/** The report as one HTML page. */
export function reportHtml(report: DrillReport): string {
  const m = report.measurements;
  const ms = (v: number | null) => (v === null ? '—' : `${(v / 1000).toFixed(2)} s`);
  const rows = (pairs: Array<[string, string]>) =>
    pairs.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Meridian failover drill ${esc(report.startedAt)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:1000px}th{text-align:left;padding-right:1em}td,th{padding:2px 8px}.ok{color:#185}.fail{color:#b21}table{border-collapse:collapse}tr:nth-child(odd){background:#f5f5f5}</style></head>
<body><h1>Failover drill: ${esc(report.from)} → ${esc(report.to)} (${report.mode}) — <span class="${report.ok ? 'ok' : 'fail'}" id="verdict">${report.ok ? 'PASSED' : 'FAILED'}</span></h1>
<p>Started ${esc(report.startedAt)}</p>
<h2>Timeline</h2>${timelineSvg(report)}
<h2>Measurements</h2><table id="measurements">${rows([
    ['time to detect', ms(m.timeToDetectMs)],
    ['RTO (writes succeed again through the edge)', ms(m.rtoMs)],
    ['RPO (acknowledged orders the survivor had not seen)', `${m.rpoOrders} orders, ${ms(m.rpoWindowMs)} window`],
    ['reconciled after', ms(m.reconcileMs)],
    [
      'backlog found at the start; caught up before the traffic (the groups reconciliation measures) in',
      m.backlogAtStart
        ? `east ${m.backlogAtStart.east}, west ${m.backlogAtStart.west} records; ${m.settleMs === null ? 'not caught up' : ms(m.settleMs ?? null)}`
        : 'not measured',
    ],
    ['acknowledged orders', String(m.acknowledgedOrders)],
    ['acknowledged chat messages, posts', `${m.acknowledgedMessages ?? 0}, ${m.acknowledgedPosts ?? 0}`],
  ])}</table>
<h2>Invariants</h2><table id="invariants">${report.invariants.map((i) => `<tr><th class="${i.ok ? 'ok' : 'fail'}">${i.ok ? '✔' : '✖'} ${esc(i.name)}</th><td>${esc(i.detail)}</td></tr>`).join('')}</table>
<h2>Latency</h2><table>${Object.entries(report.latency)
    .map(
      ([op, l]) =>
        `<tr><th>${esc(op)}</th><td>p50 ${l.p50} ms, p95 ${l.p95} ms, p99 ${l.p99} ms (${l.count})</td></tr>`,
    )
    .join('')}</table>
<h2>Errors by operation</h2><table>${
    Object.entries(report.errorsByOperation)
      .flatMap(([op, codes]) =>
        Object.entries(codes).map(([c, n]) => `<tr><th>${esc(op)}</th><td>${esc(c)}: ${n}</td></tr>`),
      )
      .join('') || '<tr><td>none</td></tr>'
  }</table>
<h2>Events</h2><table>${report.events.map((e) => `<tr><th>${(e.at / 1000).toFixed(2)} s</th><td>${esc(e.label)}</td></tr>`).join('')}</table>
</body></html>
`;
}
