/**
 * Ops endpoints of the edge: `GET /ops/regions` (routing status) and `PUT /ops/writer`
 * (move the single-writer region; the failover drill uses it). Both need the ops bearer
 * token: the status names regions and their errors, which is no business of the public.
 */
import { Hono } from 'hono';
import { problemResponse } from './problem.ts';
import { isRegionName, REGION_NAMES, type RegionName, type RegionRouter } from './region-router.ts';

/** Options of opsRoutes. */
export interface OpsOptions {
  readonly router: Pick<RegionRouter, 'status' | 'writer' | 'writerEpoch' | 'observeWriter' | 'endpoints'>;
  /** The ops bearer token (from the edge's configuration). */
  readonly token: string;
  /** The regions' own ops token: moving the writer moves it in the regions, which hold the lease. */
  readonly regionToken: string | undefined;
  readonly fetch: typeof fetch;
  /** Told after the writer moved, e.g. to log it. */
  readonly onWriterChange?: (change: { from: RegionName; to: RegionName; epoch: number }) => void;
}

/** What one region answered a move. */
export interface RegionMoveResult {
  readonly region: RegionName;
  readonly outcome: 'moved' | 'newer-lease' | 'refused' | 'unreachable';
  readonly detail?: string;
}

const MAX_BODY_BYTES = 1024;
const encoder = new TextEncoder();

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text)));
}

/**
 * Compares two secrets in time independent of where they differ. Both are hashed first, so
 * the comparison always runs over 32 bytes and leaks neither content nor length.
 */
export async function constantTimeEqual(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([sha256(a), sha256(b)]);
  let diff = 0;
  for (let i = 0; i < x.length; i += 1) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** The token of an `Authorization: Bearer <token>` header (scheme case-insensitive, RFC 9110 §11.1). */
function bearer(header: string | undefined): string | undefined {
  const m = header === undefined ? null : /^bearer[ ]+([^\s]+)\s*$/i.exec(header);
  return m?.[1];
}

/** Builds the ops routes over a region router. */
export function opsRoutes(opts: OpsOptions): Hono {
  const { router, token, onWriterChange } = opts;
  if (typeof token !== 'string' || token === '') throw new TypeError('ops token must be a non-empty string');
  const app = new Hono();

  app.use('/ops/*', async function requireOpsToken(c, next) {
    const presented = bearer(c.req.header('authorization'));
    if (presented === undefined || !(await constantTimeEqual(presented, token))) {
      // RFC 6750 §3: an error code only when a token was sent.
      const challenge = presented === undefined ? '' : ', error="invalid_token"';
      return problemResponse(401, 'Unauthorized', 'ops endpoints need the ops bearer token', {
        instance: c.req.path,
        headers: { 'www-authenticate': `Bearer realm="meridian-ops"${challenge}` },
      });
    }
    await next();
  });

  app.get('/ops/regions', function regionStatus(c) {
    c.header('cache-control', 'no-store');
    return c.json(router.status());
  });

  /** Asks one region to adopt `writer` at `epoch`; a region already holding a newer lease says so. */
  async function moveIn(region: RegionName, writer: RegionName, epoch: number): Promise<RegionMoveResult> {
    try {
      const res = await opts.fetch(`${opts.router.endpoints(region).gatewayUrl}/ops/writer`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${opts.regionToken ?? ''}` },
        body: JSON.stringify({ region: writer, epoch }),
        signal: AbortSignal.timeout(2000),
      });
      const body = (await res.json().catch(() => ({}))) as { leases?: Array<{ writer?: string; epoch?: number }> };
      if (res.status === 200) return { region, outcome: 'moved' };
      if (res.status === 409) {
        for (const l of body.leases ?? []) {
          if (typeof l.writer === 'string' && typeof l.epoch === 'number') opts.router.observeWriter(l.writer, l.epoch);
        }
        return { region, outcome: 'newer-lease', detail: 'the region holds a newer lease; retry the move' };
      }
      return { region, outcome: 'refused', detail: `HTTP ${res.status}` };
    } catch (err) {
      return { region, outcome: 'unreachable', detail: (err as Error).message };
    }
  }

  app.put('/ops/writer', async function moveWriter(c) {
    const bad = (detail: string) => problemResponse(400, 'Bad Request', detail, { instance: c.req.path });
    const text = await c.req.text();
    if (encoder.encode(text).byteLength > MAX_BODY_BYTES) return bad(`body: at most ${MAX_BODY_BYTES} bytes`);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return bad('body: must be JSON, e.g. {"region":"west"}');
    }
    const region = (body as { region?: unknown } | null)?.region;
    if (!isRegionName(region)) return bad(`region: must be one of ${REGION_NAMES.join(', ')}`);
    const previous = opts.router.writer();
    // The regions hold the lease: a move is a new epoch in every region that can be reached (a
    // region that is down learns it from its peer when it returns). It counts once one took it.
    const epoch = opts.router.writerEpoch() + 1;
    const results = await Promise.all(REGION_NAMES.map((r) => moveIn(r, region, epoch)));
    c.header('cache-control', 'no-store');
    if (!results.some((r) => r.outcome === 'moved')) {
      const newer = results.some((r) => r.outcome === 'newer-lease');
      return problemResponse(newer ? 409 : 503, newer ? 'Conflict' : 'Service Unavailable', 'no region took the move', {
        instance: c.req.path,
        regions: results,
        writer: opts.router.writer(),
        epoch: opts.router.writerEpoch(),
      });
    }
    opts.router.observeWriter(region, epoch);
    if (previous !== region) onWriterChange?.({ from: previous, to: region, epoch });
    const status = opts.router.status();
    // Moving the writer to a region that is down is allowed (a drill may pre-position it);
    // the answer says so, because writes then get 503 until that region is routable.
    return c.json({
      writer: region,
      epoch,
      previous,
      changed: previous !== region,
      writerRoutable: status.regions[region].routable,
      regions: results,
    });
  });

  return app;
}
