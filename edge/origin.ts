/**
 * Calls a region's gateway for the edge: picks the region with the router, reports the
 * outcome to its circuit breaker, and for reads retries once on the other region when
 * the first fails (a write goes only to the writer region, never elsewhere).
 */
import type { EdgeMetrics } from './metrics/edge-metrics.ts';
import type { RegionName, RegionRouter } from './routing/region-router.ts';

export interface OriginRequest {
  readonly body: string;
  readonly headers: Record<string, string>;
  readonly hint: string | null;
  readonly write: boolean;
}

/** What the edge reads of a gateway's answer: its status, headers by name, and the whole body. */
export interface GatewayAnswer {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  readonly text: string;
}

/**
 * One POST to a gateway's `/graphql` (the port the runtimes fill): resolves with the answer
 * whatever its status, rejects on a network failure or when no whole answer came in `timeoutMs`.
 */
export type GatewayPost = (
  url: string,
  req: { readonly headers: Record<string, string>; readonly body: string; readonly timeoutMs: number },
) => Promise<GatewayAnswer>;

/** The GatewayPost of web-standard fetch (Deno's, and tests'). */
export function fetchGatewayPost(fetchFn: typeof fetch): GatewayPost {
  return async (url, req) => {
    const res = await fetchFn(url, {
      method: 'POST',
      headers: req.headers,
      body: req.body,
      signal: AbortSignal.timeout(req.timeoutMs),
    });
    return { status: res.status, headers: res.headers, text: await res.text() };
  };
}

export type OriginResult =
  | { ok: true; region: RegionName; status: number; headers: GatewayAnswer['headers']; text: string }
  | {
      ok: false;
      status: 502 | 503;
      code: 'REGION_UNAVAILABLE' | 'WRITER_UNAVAILABLE' | 'UPSTREAM_FAILED';
      message: string;
    };

export interface OriginOptions {
  readonly router: RegionRouter;
  readonly post: GatewayPost;
  readonly metrics: EdgeMetrics;
  readonly timeoutMs?: number;
}

/** Whether a write's answer was WRITER_MOVED naming a newer lease, which the router then adopted. */
function learnedNewWriter(text: string, router: RegionRouter): boolean {
  if (!text.includes('WRITER_MOVED')) return false;
  try {
    const errors = (JSON.parse(text) as { errors?: Array<{ extensions?: Record<string, unknown> }> }).errors ?? [];
    for (const e of errors) {
      const ext = e.extensions ?? {};
      const details = (ext.details ?? {}) as { writer?: unknown; epoch?: unknown };
      if (ext.code !== 'WRITER_MOVED' || typeof details.writer !== 'string' || typeof details.epoch !== 'number')
        continue;
      if (router.observeWriter(details.writer, details.epoch)) return true;
    }
  } catch {
    // not JSON: nothing to learn
  }
  return false;
}

export function createOrigin(opts: OriginOptions) {
  const timeoutMs = opts.timeoutMs ?? 10_000;

  const upstream = new Map<RegionName, () => void>();
  function call(region: RegionName, req: OriginRequest): Promise<GatewayAnswer> {
    const { gatewayUrl } = opts.router.endpoints(region);
    let count = upstream.get(region);
    if (!count) {
      count = opts.metrics.upstreamRequests.bind({ region });
      upstream.set(region, count);
    }
    count();
    return opts.post(`${gatewayUrl}/graphql`, { headers: req.headers, body: req.body, timeoutMs });
  }

  return async function toOrigin(req: OriginRequest): Promise<OriginResult> {
    const tried = new Set<RegionName>();
    let lastError = 'no region available';
    for (let attempt = 0; attempt < 2; attempt++) {
      const choice = opts.router.choose({ hint: attempt === 0 ? req.hint : null, write: req.write });
      let region = choice.region;
      if (region && tried.has(region)) {
        // Second attempt of a read: the other region, if the router still thinks it routable.
        const other: RegionName = region === 'east' ? 'west' : 'east';
        region = opts.router.status().regions[other].routable && !req.write ? other : undefined;
      }
      if (!region) {
        if (req.write && choice.reason === 'writer-unavailable') {
          return {
            ok: false,
            status: 503,
            code: 'WRITER_UNAVAILABLE',
            message: `writer region ${opts.router.writer()} is unavailable`,
          };
        }
        break;
      }
      if (choice.reason === 'failover' && attempt === 0) {
        opts.metrics.failovers.inc({ from: choice.from, to: region });
      }
      tried.add(region);
      try {
        const res = await call(region, req);
        const text = res.text;
        if (res.status >= 500) throw new Error(`HTTP ${res.status}`);
        opts.router.reportResult(region, true);
        // A region that lost the writer lease refused before doing anything (WRITER_MOVED, naming
        // the writer): learn the newer lease and send the write once more, to the writer.
        if (req.write && attempt === 0 && learnedNewWriter(text, opts.router)) continue;
        return { ok: true, region, status: res.status, headers: res.headers, text };
      } catch (err) {
        opts.router.reportResult(region, false);
        lastError = `${region}: ${(err as Error).message}`;
        if (req.write) {
          // The write may or may not have happened: never replay it elsewhere.
          return { ok: false, status: 502, code: 'UPSTREAM_FAILED', message: `writer region failed: ${lastError}` };
        }
        if (attempt === 0) {
          const other: RegionName = region === 'east' ? 'west' : 'east';
          opts.metrics.failovers.inc({ from: region, to: other });
        }
      }
    }
    return { ok: false, status: 503, code: 'REGION_UNAVAILABLE', message: `no healthy region answered (${lastError})` };
  };
}
