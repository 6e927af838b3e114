/**
 * The console's HTML: server-rendered pages and fragments, plus one small vanilla script that
 * refreshes the region cards, follows the live event stream (EventSource) and drives the drill.
 * No framework, no external asset: the pages work from a loopback port with nothing else.
 */
import { type DrillReport, timelineSvg } from '../drill/report.ts';
import type { DrillState } from './drill-runner.ts';
import type { FeedEvent } from './event-feed.ts';
import type { EdgeStatus, RegionStatus } from './status.ts';

/** HTML-escapes text for element content and attribute values. */
export function esc(value: unknown): string {
  return String(value ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );
}

const STYLE = `body{font:14px system-ui,sans-serif;margin:0;color:#222}header{background:#123;color:#fff;padding:10px 20px;display:flex;gap:20px;align-items:center}
header a{color:#cde}main{padding:16px 20px;max-width:1300px}.cards{display:flex;gap:16px;flex-wrap:wrap}.card{border:1px solid #ccd;border-radius:6px;padding:10px 14px;min-width:380px;flex:1}
.up{color:#185;font-weight:600}.down{color:#b21;font-weight:600}table{border-collapse:collapse}td,th{padding:2px 8px;text-align:left;vertical-align:top}tr:nth-child(odd){background:#f5f5f8}
#events{font:12px ui-monospace,monospace}pre{background:#f5f5f8;padding:8px;max-height:300px;overflow:auto;font-size:12px}.muted{color:#777}.ok{color:#185}.fail{color:#b21}
form.inline label{margin-right:10px}input[type=number]{width:4em}`;

/** A whole page with the console's header. */
export function page(title: string, body: string, opts: { nav?: boolean; script?: string } = {}): string {
  const nav =
    opts.nav === false
      ? ''
      : '<a href="/">Dashboard</a><a href="/drills">Drill reports</a><form method="post" action="/logout" style="margin-left:auto"><button>Sign out</button></form>';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)} — Meridian ops</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><style>${STYLE}</style></head>
<body><header><strong>Meridian ops</strong>${nav}</header><main>${body}</main>${opts.script ? `<script>${opts.script}</script>` : ''}</body></html>`;
}

/** The sign-in form; `error` after a refused token. */
export function loginPage(error?: string): string {
  return page(
    'Sign in',
    `<h1>Sign in</h1><p>The console needs the ops token (<code>MERIDIAN_OPS_TOKEN</code>).</p>
${error ? `<p class="fail" id="login-error" role="alert">${esc(error)}</p>` : ''}
<form method="post" action="/login"><label>Ops token <input type="password" name="token" id="token" autocomplete="current-password" required></label>
<button type="submit" id="sign-in">Sign in</button></form>`,
    { nav: false },
  );
}

const pct = (v: number) => `${(v * 100).toFixed(1)}%`;

function regionCard(r: RegionStatus): string {
  const m = r.metrics;
  const leases = r.leases.length
    ? r.leases
        .map(
          (l) =>
            `<tr class="lease" data-aggregate="${esc(l.aggregate)}"><th>${esc(l.aggregate)}</th><td>writer <strong class="writer">${esc(l.writer)}</strong>, epoch <strong class="epoch">${esc(l.epoch)}</strong></td></tr>`,
        )
        .join('')
    : '<tr><td class="muted">no single-writer aggregates</td></tr>';
  const table = (rows: Array<[string, string]>, empty: string) =>
    rows.length
      ? rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')
      : `<tr><td class="muted">${esc(empty)}</td></tr>`;
  const lagRows = Object.entries(m?.consumerLag ?? {})
    .sort((a, b) => b[1] - a[1])
    .slice(0, 12)
    .map(([g, n]): [string, string] => [g, `${n} records`]);
  return `<section class="card region" id="region-${esc(r.name)}" data-region="${esc(r.name)}">
<h2>${esc(r.name)} <span class="health ${r.up ? 'up' : 'down'}">${r.up ? 'up' : 'down'}</span>
<span class="readiness ${r.ready ? 'up' : 'down'}">${r.ready ? 'ready' : 'not ready'}</span></h2>
<p class="muted">${esc(r.url)}${r.uptimeSeconds !== undefined ? ` · up ${esc(r.uptimeSeconds)} s` : ''}${r.error ? ` · <span class="fail">${esc(r.error)}</span>` : ''}</p>
${r.notReady.length ? `<p class="fail">not ready: ${esc(r.notReady.join(', '))}</p>` : ''}
<h3>Writer leases</h3><table class="leases">${leases}</table>
${
  m
    ? `<h3>Replication lag (MirrorMaker 2 into ${esc(r.name)})</h3><table class="replication">${table(
        Object.entries(m.replicationLagSeconds).map(([src, s]): [string, string] => [
          `${src} → ${r.name}`,
          `${s.toFixed(2)} s`,
        ]),
        'no measurement',
      )}</table>
<h3>Cache hit ratio</h3><table class="cache">${table(
        Object.entries(m.cacheHitRatio).map(([d, v]): [string, string] => [d, pct(v)]),
        'no regional cache lookups yet',
      )}</table>
<h3>Consumer lag</h3><table class="consumer-lag">${table(lagRows, 'no durable consumer groups')}</table>
<h3>Outbox</h3><p class="outbox">${esc(m.outboxBacklog ?? '—')} unpublished, oldest ${esc((m.outboxOldestSeconds ?? 0).toFixed(1))} s</p>
<p class="muted">hub WebSockets ${esc(m.hubConnections ?? 0)} · auth failures ${esc(m.authFailures)}</p>`
    : '<p class="muted metrics-missing">/metrics unavailable</p>'
}
</section>`;
}

function edgeCard(edge: EdgeStatus): string {
  const rows = Object.entries(edge.regions)
    .map(
      ([name, r]) =>
        `<tr class="edge-region" data-region="${esc(name)}"><th>${esc(name)}</th><td class="${r.routable ? 'up' : 'down'}">${r.routable ? 'routable' : 'not routable'}</td><td>${r.healthy ? 'healthy' : 'unhealthy'}, breaker ${esc(r.breaker)}${r.lastError ? ` · ${esc(r.lastError)}` : ''}</td></tr>`,
    )
    .join('');
  return `<section class="card" id="edge"><h2>edge <span class="health ${edge.up ? 'up' : 'down'}">${edge.up ? 'up' : 'down'}</span></h2>
<p class="muted">${esc(edge.url)}${edge.error ? ` · <span class="fail">${esc(edge.error)}</span>` : ''}</p>
${edge.writer ? `<p>sends writes to <strong class="writer">${esc(edge.writer)}</strong> (epoch <strong class="epoch">${esc(edge.writerEpoch)}</strong>)</p>` : ''}
<table>${rows || '<tr><td class="muted">no regions reported</td></tr>'}</table></section>`;
}

/** The region cards (and the edge's view, when one is watched), refreshed by the dashboard script. */
export function regionsFragment(regions: readonly RegionStatus[], edge?: EdgeStatus): string {
  // Each single-writer aggregate's writer as every region sees it: they agree unless a move is under way.
  const views = regions.flatMap((r) => r.leases.map((l) => ({ seenBy: r.name, ...l })));
  const writers = [...new Set(views.map((v) => `${v.aggregate}: ${v.writer} (epoch ${v.epoch})`))];
  return `<p id="writer-summary"><strong>Writer:</strong> ${writers.length ? esc(writers.join(' · ')) : '<span class="muted">unknown (no region answered)</span>'}${
    writers.length > 1 ? ' <span class="fail">(regions disagree: a move is under way)</span>' : ''
  }</p><div class="cards">${regions.map(regionCard).join('')}${edge ? edgeCard(edge) : ''}</div>`;
}

/** One live event as a table row. */
export function eventRow(e: FeedEvent): string {
  return `<tr class="event" data-id="${esc(e.id)}"><td>${esc(e.time ?? '')}</td><td>${esc(e.region)}</td><td>${esc(e.type ?? e.topic)}</td><td>${esc(e.tenant)}</td><td class="subject">${esc(e.subject)}</td><td class="muted">${esc(e.id)}</td></tr>`;
}

function drillPanel(drill: DrillState | undefined): string {
  return `<div id="drill-state">${drillStateFragment(drill)}</div>`;
}

/** The drill's state and output. */
export function drillStateFragment(drill: DrillState | undefined): string {
  if (!drill) return '<p class="muted" id="drill-status">No drill started from this console yet.</p>';
  const status = drill.running
    ? 'running'
    : drill.exitCode === 0
      ? 'passed'
      : drill.exitCode === 1
        ? 'failed (an invariant broke)'
        : 'could not run';
  const r = drill.request;
  return `<p id="drill-status" data-running="${drill.running}">Drill ${esc(r.from)} → ${r.from === 'east' ? 'west' : 'east'} (${r.hard ? 'hard' : 'soft'}) started ${esc(drill.startedAt)}: <strong class="${drill.running ? '' : drill.exitCode === 0 ? 'ok' : 'fail'}">${esc(status)}</strong>${
    drill.running ? '' : ' · <a href="/drills/latest">read the report</a>'
  }</p><pre id="drill-log">${esc(drill.lines.join('\n'))}</pre>`;
}

const DASHBOARD_SCRIPT = `
const $ = (s) => document.querySelector(s);
async function refresh() {
  try {
    const res = await fetch('/fragments/regions', { credentials: 'same-origin' });
    if (res.ok) $('#regions').innerHTML = await res.text();
  } catch {}
}
setInterval(refresh, 2000);
let events;
function follow(prefix) {
  events?.close();
  $('#stream-state').textContent = 'connecting…';
  events = new EventSource('/api/events' + (prefix ? '?type=' + encodeURIComponent(prefix) : ''));
  events.addEventListener('event', (m) => {
    const body = $('#events tbody');
    body.insertAdjacentHTML('afterbegin', JSON.parse(m.data).html);
    while (body.rows.length > 200) body.deleteRow(-1);
    $('#events-empty')?.remove();
  });
  events.addEventListener('skipped', (m) => { $('#skipped').textContent = JSON.parse(m.data).skipped + ' events/s not shown'; });
  events.addEventListener('open', () => { $('#stream-state').textContent = 'live'; });
  events.addEventListener('error', () => { $('#stream-state').textContent = 'reconnecting…'; });
}
follow('');
$('#event-filter').addEventListener('change', (ev) => {
  $('#events tbody').replaceChildren();
  $('#skipped').textContent = '';
  follow(ev.target.value.trim());
});
let drillTimer;
async function drillState() {
  const res = await fetch('/fragments/drill', { credentials: 'same-origin' });
  if (!res.ok) return;
  $('#drill-state').innerHTML = await res.text();
  const log = $('#drill-log'); if (log) log.scrollTop = log.scrollHeight;
  const running = $('#drill-status')?.dataset.running === 'true';
  $('#start-drill').disabled = running;
  if (!running && drillTimer) { clearInterval(drillTimer); drillTimer = undefined; }
}
$('#drill-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = ev.target;
  const body = { from: f.from.value, hard: f.hard.checked, warmupSeconds: Number(f.warmup.value), outageSeconds: Number(f.outage.value), afterSeconds: Number(f.after.value), ordersPerSecond: Number(f.orders.value) };
  if (!confirm('Start a failover drill from ' + body.from + '? It kills that region\\'s drill processes and moves the writer.')) return;
  const res = await fetch('/api/drill', { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const answer = await res.json().catch(() => ({}));
  $('#drill-message').textContent = res.ok ? '' : (answer.detail || ('refused: ' + res.status));
  await drillState();
  drillTimer ??= setInterval(drillState, 1000);
});
if ($('#drill-status')?.dataset.running === 'true') drillTimer = setInterval(drillState, 1000);
`;

/** The dashboard: regions, writer, lags, cache, live events and the drill. */
export function dashboardPage(
  regions: readonly RegionStatus[],
  edge: EdgeStatus | undefined,
  recent: readonly FeedEvent[],
  drill: DrillState | undefined,
): string {
  const rows = [...recent].reverse().map(eventRow).join('');
  return page(
    'Dashboard',
    `<h1>Regions</h1><div id="regions">${regionsFragment(regions, edge)}</div>
<h1>Failover drill</h1>
<form id="drill-form" class="inline"><label>from <select name="from"><option>east</option><option>west</option></select></label>
<label>warm-up <input type="number" name="warmup" value="10" min="0" max="600"> s</label>
<label>outage <input type="number" name="outage" value="10" min="0" max="600"> s</label>
<label>after <input type="number" name="after" value="5" min="0" max="600"> s</label>
<label>orders <input type="number" name="orders" value="10" min="1" max="200"> /s</label>
<label><input type="checkbox" name="hard"> hard (stop its Kafka and PostgreSQL too)</label>
<button type="submit" id="start-drill"${drill?.running ? ' disabled' : ''}>Start drill</button> <span id="drill-message" class="fail"></span></form>
${drillPanel(drill)}
<p><a href="/drills/latest" id="last-report">Last report</a> · <a href="/drills">all reports</a></p>
<h1>Live events <small id="stream-state" class="muted">connecting…</small></h1>
<p><label>type starts with <input id="event-filter" placeholder="e.g. commerce." size="30"></label> <span id="skipped" class="muted"></span></p>
<table id="events"><thead><tr><th>time</th><th>region</th><th>type</th><th>tenant</th><th>subject</th><th>id</th></tr></thead><tbody>${rows}</tbody></table>
${rows ? '' : '<p id="events-empty" class="muted">No events yet: they appear as the regions write them.</p>'}`,
    { script: DASHBOARD_SCRIPT },
  );
}

/** The list of drill reports. */
export function reportsPage(names: readonly string[]): string {
  return page(
    'Drill reports',
    `<h1>Drill reports</h1>${
      names.length
        ? `<ul id="reports">${names.map((n) => `<li><a href="/drills/${esc(n)}">${esc(n)}</a></li>`).join('')}</ul>`
        : '<p class="muted">No drill has written a report yet.</p>'
    }`,
  );
}

/** One drill report: verdict, measurements, the timeline chart and the events in order. */
export function reportPage(name: string, report: DrillReport): string {
  const m = report.measurements;
  const s = (v: number | null) => (v === null ? '—' : `${(v / 1000).toFixed(2)} s`);
  return page(
    `Drill ${report.startedAt}`,
    `<h1>Failover drill ${esc(report.from)} → ${esc(report.to)} (${esc(report.mode)}) — <span id="verdict" class="${report.ok ? 'ok' : 'fail'}">${report.ok ? 'PASSED' : 'FAILED'}</span></h1>
<p class="muted">${esc(name)} · started ${esc(report.startedAt)} · <a href="/drills/${esc(name)}.html">the drill's own HTML</a></p>
<table id="measurements"><tr><th>time to detect</th><td>${s(m.timeToDetectMs)}</td></tr><tr><th>RTO</th><td>${s(m.rtoMs)}</td></tr>
<tr><th>RPO</th><td>${esc(m.rpoOrders)} orders (${s(m.rpoWindowMs)} window)</td></tr><tr><th>reconciled after</th><td>${s(m.reconcileMs)}</td></tr>
<tr><th>acknowledged orders</th><td>${esc(m.acknowledgedOrders)}</td></tr></table>
<h2>Timeline</h2><div id="timeline">${timelineSvg(report)}</div>
<table id="timeline-events">${report.events.map((e) => `<tr><th>+${(e.at / 1000).toFixed(2)} s</th><td>${esc(e.label)}</td></tr>`).join('')}</table>
<h2>Invariants</h2><table id="invariants">${report.invariants.map((i) => `<tr><th class="${i.ok ? 'ok' : 'fail'}">${i.ok ? '✔' : '✖'} ${esc(i.name)}</th><td>${esc(i.detail)}</td></tr>`).join('')}</table>`,
  );
}
