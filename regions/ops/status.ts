/**
 * What the console shows of one region, asked of the region itself: liveness and readiness
 * (/health, /ready), the writer leases and their epochs (GET /ops/writer), and from /metrics the
 * replication lag into it, its consumer groups' lag, its cache hit ratio per domain and its
 * outbox backlog. Each part fails on its own: a region that is down is shown down, not an error.
 */
import { type PromSample, parsePromText, samplesOf } from './prom-text.ts';

/** A region the console watches: its name and gateway base URL. */
export interface WatchedRegion {
  readonly name: string;
  readonly url: string;
  /** The region's MERIDIAN_<REGION>_METRICS_TOKEN, when its /metrics needs one. */
  readonly metricsToken?: string;
}

/** One writer lease as GET /ops/writer answers it. */
export interface Lease {
  readonly aggregate: string;
  readonly writer: string;
  readonly epoch: number;
}

/** The console's view of a region. */
export interface RegionStatus {
  readonly name: string;
  readonly url: string;
  /** /health answered 200. */
  readonly up: boolean;
  /** /ready answered 200; `notReady` names what is not. */
  readonly ready: boolean;
  readonly notReady: readonly string[];
  readonly uptimeSeconds?: number;
  readonly leases: readonly Lease[];
  readonly metrics?: {
    /** Seconds, by source region (MM2 into this region). */
    readonly replicationLagSeconds: Readonly<Record<string, number>>;
    /** Records, by consumer group (summed over topics). */
    readonly consumerLag: Readonly<Record<string, number>>;
    /** 0–1, by domain. */
    readonly cacheHitRatio: Readonly<Record<string, number>>;
    readonly outboxBacklog?: number;
    readonly outboxOldestSeconds?: number;
    readonly hubConnections?: number;
    readonly authFailures: number;
  };
  readonly error?: string;
}

async function getJson(url: string, timeoutMs: number): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, body };
}

function first(samples: readonly PromSample[], name: string): number | undefined {
  return samplesOf(samples, name)[0]?.value;
}

function byLabel(samples: readonly PromSample[], name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samplesOf(samples, name)) {
    const key = s.labels[label] ?? '';
    out[key] = (out[key] ?? 0) + s.value;
  }
  return out;
}

/** Summarises a region's /metrics text for the console. */
export function summariseMetrics(text: string): NonNullable<RegionStatus['metrics']> {
  const samples = parsePromText(text);
  return {
    replicationLagSeconds: byLabel(samples, 'meridian_region_replication_lag_seconds', 'source'),
    consumerLag: byLabel(samples, 'meridian_region_consumer_lag_records', 'group'),
    cacheHitRatio: byLabel(samples, 'meridian_region_cache_hit_ratio', 'domain'),
    outboxBacklog: first(samples, 'meridian_region_outbox_backlog'),
    outboxOldestSeconds: first(samples, 'meridian_region_outbox_oldest_unpublished_seconds'),
    hubConnections: first(samples, 'meridian_region_hub_ws_connections'),
    authFailures: samplesOf(samples, 'meridian_region_auth_failures_total').reduce((n, s) => n + s.value, 0),
  };
}

/** An edge the console watches: its base URL and, to read its writer view, its ops token. */
export interface WatchedEdge {
  readonly url: string;
  readonly opsToken?: string;
}

/** The edge's view: whether it answers, which regions it routes to, and the writer it sends writes to. */
export interface EdgeStatus {
  readonly url: string;
  readonly up: boolean;
  readonly regions: Readonly<
    Record<string, { healthy: boolean; routable: boolean; breaker: string; lastError: string | null }>
  >;
  readonly writer?: string;
  readonly writerEpoch?: number;
  readonly error?: string;
}

/** Asks the edge for its routing view (`/health`; with its ops token, `/ops/regions` for the writer). */
export async function edgeStatus(edge: WatchedEdge, timeoutMs = 3000): Promise<EdgeStatus> {
  try {
    const health = await getJson(`${edge.url}/health`, timeoutMs);
    const regions = ((health.body as { regions?: EdgeStatus['regions'] }).regions ?? {}) as EdgeStatus['regions'];
    let writer: string | undefined;
    let writerEpoch: number | undefined;
    if (edge.opsToken) {
      const res = await fetch(`${edge.url}/ops/regions`, {
        headers: { authorization: `Bearer ${edge.opsToken}` },
        signal: AbortSignal.timeout(timeoutMs),
      }).catch(() => undefined);
      if (res?.ok) ({ writer, writerEpoch } = (await res.json()) as { writer?: string; writerEpoch?: number });
    }
    return { url: edge.url, up: health.status === 200, regions, writer, writerEpoch };
  } catch (err) {
    return { url: edge.url, up: false, regions: {}, error: (err as Error)?.message ?? String(err) };
  }
}

/** Asks one region for everything the console shows of it. */
export async function regionStatus(region: WatchedRegion, timeoutMs = 3000): Promise<RegionStatus> {
  const [health, ready, writer, metrics] = await Promise.allSettled([
    getJson(`${region.url}/health`, timeoutMs),
    getJson(`${region.url}/ready`, timeoutMs),
    getJson(`${region.url}/ops/writer`, timeoutMs),
    fetch(`${region.url}/metrics`, {
      signal: AbortSignal.timeout(timeoutMs),
      headers: region.metricsToken ? { authorization: `Bearer ${region.metricsToken}` } : {},
    }).then(async (r) => (r.ok ? r.text() : Promise.reject(new Error(`/metrics answered ${r.status}`)))),
  ]);
  const up = health.status === 'fulfilled' && health.value.status === 200;
  const readyBody = ready.status === 'fulfilled' ? (ready.value.body as Record<string, unknown>) : undefined;
  const notReady: string[] = [];
  for (const group of ['dependencies', 'services'] as const) {
    const entries = (readyBody?.[group] ?? {}) as Record<string, { ok?: boolean }>;
    for (const [name, state] of Object.entries(entries)) if (state?.ok === false) notReady.push(name);
  }
  const leases =
    writer.status === 'fulfilled' && writer.value.status === 200
      ? (((writer.value.body as { leases?: Lease[] }).leases ?? []) as Lease[])
      : [];
  return {
    name: region.name,
    url: region.url,
    up,
    ready: ready.status === 'fulfilled' && ready.value.status === 200,
    notReady,
    uptimeSeconds: up ? (health.value.body as { uptimeSeconds?: number }).uptimeSeconds : undefined,
    leases,
    metrics: metrics.status === 'fulfilled' ? summariseMetrics(metrics.value) : undefined,
    error: up
      ? undefined
      : health.status === 'rejected'
        ? String((health.reason as Error)?.message ?? health.reason)
        : `health answered ${health.value.status}`,
  };
}
