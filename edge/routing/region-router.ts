/**
 * Region routing for the edge: which region serves a request, from a client hint, the
 * configured nearest region, each gateway's health and a circuit breaker per region.
 *
 * A region is routable when its last health check passed and its breaker is closed. One
 * failed `/health` (non-2xx, network error or timeout) takes it out of rotation at once, so
 * traffic moves within one health-check interval; the breaker (opened by `failureThreshold`
 * consecutive failures of checks or reported requests) then stops even the checks for
 * `openMs`, after which one health probe decides whether it closes. The probe is always a
 * health check, never a client's request, so no caller is spent on testing a dead region.
 *
 * Writes to single-writer data go only to the writer region; when it is not routable the
 * caller gets no region (and answers 503) — writing to the other region would fork the data.
 *
 * The choice itself (`chooseRegion`) and the breaker are pure; only the poller here owns
 * timers, and it takes them from an injectable clock.
 */
import { type Breaker, type BreakerState, createBreaker } from './breaker.ts';

/** The regions of Meridian. */
export const REGION_NAMES = ['east', 'west'] as const;

/** One region's name. */
export type RegionName = (typeof REGION_NAMES)[number];

/** Where a region answers: its gateway base URL (`/graphql`, `/health`) and its hub base URL (`/v1/stream`). */
export interface RegionEndpoints {
  readonly gatewayUrl: string;
  readonly hubUrl: string;
}

/** Time and timers, injectable so tests run the poller on a fake clock. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The runtime's own clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Options of createRegionRouter. */
export interface RegionRouterOptions {
  readonly regions: Readonly<Record<RegionName, RegionEndpoints>>;
  readonly nearest: RegionName;
  readonly writer: RegionName;
  readonly healthIntervalMs?: number;
  readonly healthTimeoutMs?: number;
  readonly failureThreshold?: number;
  readonly openMs?: number;
  readonly fetch?: typeof fetch;
  readonly clock?: Clock;
}

/** Why a region was chosen. */
export type ChoiceReason = 'hint' | 'nearest' | 'writer';

/** The outcome of `choose`: a region, or none (the caller answers 503). */
export type Choice =
  | { readonly region: RegionName; readonly reason: ChoiceReason }
  | { readonly region: RegionName; readonly reason: 'failover'; readonly from: RegionName }
  | { readonly region: undefined; readonly reason: 'writer-unavailable' | 'no-healthy-region' };

/** What one request asks for, and whether it writes. */
export interface ChooseInput {
  /** The `x-meridian-region` header: any casing; a value naming no region is ignored. */
  readonly hint?: string | null;
  readonly write?: boolean;
}

/** The last health check of a region. */
export interface RegionStatus {
  /** Whether the last health check passed; true before the first (optimistic, corrected within one interval). */
  readonly healthy: boolean;
  readonly breaker: BreakerState;
  /** When the last health check finished (ISO 8601), null before the first. */
  readonly lastCheck: string | null;
  readonly lastError: string | null;
  readonly consecutiveFailures: number;
  readonly routable: boolean;
}

/** The router's state for ops and metrics. */
export interface RouterStatus {
  readonly nearest: RegionName;
  readonly writer: RegionName;
  /** The writer lease's epoch as last learned from the regions (0 before any move). */
  readonly writerEpoch: number;
  readonly regions: Readonly<Record<RegionName, RegionStatus>>;
  /** Requests sent to a region other than the one they preferred because it was down. */
  readonly failovers: number;
}

/** The region router service. */
export interface RegionRouter {
  /** Checks every region now, then every `healthIntervalMs`; idempotent. */
  start(): void;
  /** Stops polling and abandons checks in flight; idempotent. */
  stop(): void;
  /** Runs one round of health checks (what each tick does); resolves when they are recorded. */
  checkNow(): Promise<void>;
  choose(input?: ChooseInput): Choice;
  /** Feeds a proxied request's outcome to the breaker: false for network errors, timeouts and 5xx, never for 4xx. */
  reportResult(region: RegionName, ok: boolean): void;
  setWriter(region: RegionName): void;
  /**
   * Adopts a writer lease learned from a region (its /health, or a WRITER_MOVED answer) when its
   * epoch is higher than the one known; returns whether it changed anything. Every edge polls
   * every region, so all edges converge on the highest epoch within a health interval.
   */
  observeWriter(region: string, epoch: number): boolean;
  writer(): RegionName;
  writerEpoch(): number;
  endpoints(region: RegionName): RegionEndpoints;
  status(): RouterStatus;
}

/** Whether a string names a region. */
export function isRegionName(value: unknown): value is RegionName {
  return typeof value === 'string' && (REGION_NAMES as readonly string[]).includes(value);
}

/** The region hint of a request header value: trimmed, case-insensitive; undefined when it names no region. */
export function parseRegionHint(value: string | null | undefined): RegionName | undefined {
  const v = value?.trim().toLowerCase();
  return isRegionName(v) ? v : undefined;
}

/** Pure routing decision over which regions are routable now. */
export function chooseRegion(input: {
  readonly routable: (region: RegionName) => boolean;
  readonly nearest: RegionName;
  readonly writer: RegionName;
  readonly hint?: string | null;
  readonly write?: boolean;
}): Choice {
  const { routable, nearest, writer } = input;
  if (input.write) {
    return routable(writer)
      ? { region: writer, reason: 'writer' }
      : { region: undefined, reason: 'writer-unavailable' };
  }
  const hinted = parseRegionHint(input.hint);
  const preferred = hinted ?? nearest;
  // A hinted region that is down falls back to the nearest before any other region.
  const region = [preferred, nearest, ...REGION_NAMES].find(routable);
  if (region === undefined) return { region: undefined, reason: 'no-healthy-region' };
  if (region === preferred) return { region, reason: hinted ? 'hint' : 'nearest' };
  return { region, reason: 'failover', from: preferred };
}

interface RegionState {
  readonly name: RegionName;
  readonly endpoints: RegionEndpoints;
  readonly healthUrl: string;
  readonly breaker: Breaker;
  healthy: boolean;
  lastCheck: number | undefined;
  lastError: string | undefined;
  /** The health check under way, and whether it holds the breaker's half-open probe. */
  inFlight: { readonly controller: AbortController; readonly probe: boolean } | undefined;
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new TypeError(`${name} must be a number > 0`);
  return value;
}

function baseUrl(name: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TypeError(`${name}: "${raw}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`${name}: must be http(s)`);
  // Keep any path prefix (a gateway behind a path-routing proxy): append to it, do not replace it.
  return url.href.replace(/\/+$/, '');
}

/** Creates the router; call `start()` to begin health checks. */
export function createRegionRouter(opts: RegionRouterOptions): RegionRouter {
  const healthIntervalMs = positive('healthIntervalMs', opts.healthIntervalMs ?? 1000);
  const healthTimeoutMs = positive('healthTimeoutMs', opts.healthTimeoutMs ?? 500);
  const failureThreshold = opts.failureThreshold ?? 2;
  const openMs = opts.openMs ?? 2000;
  const clock = opts.clock ?? systemClock;
  const fetchFn = opts.fetch ?? ((input, init) => fetch(input, init));
  if (!isRegionName(opts.nearest)) throw new TypeError(`nearest: "${String(opts.nearest)}" is not a region`);
  if (!isRegionName(opts.writer)) throw new TypeError(`writer: "${String(opts.writer)}" is not a region`);

  const regions = {} as Record<RegionName, RegionState>;
  for (const name of REGION_NAMES) {
    const endpoints = opts.regions?.[name];
    if (endpoints === undefined) throw new TypeError(`regions.${name} is missing`);
    const gatewayUrl = baseUrl(`regions.${name}.gatewayUrl`, endpoints.gatewayUrl);
    const hubUrl = baseUrl(`regions.${name}.hubUrl`, endpoints.hubUrl);
    regions[name] = {
      name,
      endpoints: { gatewayUrl, hubUrl },
      healthUrl: `${gatewayUrl}/health`,
      breaker: createBreaker({ failureThreshold, openMs, now: () => clock.now() }),
      healthy: true,
      lastCheck: undefined,
      lastError: undefined,
      inFlight: undefined,
    };
  }

  let writer: RegionName = opts.writer;
  let writerEpoch = 0;
  let failovers = 0;

  function observeWriter(region: string, epoch: number): boolean {
    if (!isRegionName(region) || !Number.isSafeInteger(epoch) || epoch <= writerEpoch) return false;
    writer = region;
    writerEpoch = epoch;
    return true;
  }

  /** The highest-epoch writer lease a region's /health reports (`writers: [{ writer, epoch }]`). */
  function learnFrom(body: unknown): void {
    const leases = (body as { writers?: unknown } | null)?.writers;
    if (!Array.isArray(leases)) return;
    for (const l of leases) {
      const { writer: w, epoch } = (l ?? {}) as { writer?: unknown; epoch?: unknown };
      if (typeof w === 'string' && typeof epoch === 'number') observeWriter(w, epoch);
    }
  }
  let timer: unknown;
  let running = false;

  const routable = (name: RegionName) => regions[name].healthy && regions[name].breaker.state() === 'closed';

  /** GET /health within healthTimeoutMs; resolves to an error message, or undefined when healthy. */
  async function probe(region: RegionState, controller: AbortController): Promise<string | undefined> {
    let timeout: unknown;
    const timedOut = new Promise<string>((resolve) => {
      timeout = clock.setTimeout(() => {
        controller.abort();
        resolve(`no answer within ${healthTimeoutMs} ms`);
      }, healthTimeoutMs);
    });
    const attempt = (async () => {
      try {
        const res = await fetchFn(region.healthUrl, {
          signal: controller.signal,
          redirect: 'manual',
          headers: { accept: 'application/json' },
        });
        if (!res.ok) {
          await res.body?.cancel().catch(() => {});
          return `HTTP ${res.status}`;
        }
        // The body says who the writer is (the regions hold the lease): learn it.
        learnFrom(await res.json().catch(() => undefined));
        return undefined;
      } catch (err) {
        return err instanceof Error ? err.message || err.name : String(err);
      }
    })();
    try {
      // Race, not just abort: a fetch that ignores its signal must still count as timed out.
      return await Promise.race([attempt, timedOut]);
    } finally {
      clock.clearTimeout(timeout);
    }
  }

  async function check(region: RegionState): Promise<void> {
    if (region.inFlight !== undefined) return;
    const state = region.breaker.state();
    if (state === 'open') return; // backing off: not even health checks until openMs has passed
    if (state === 'half-open' && !region.breaker.tryProbe()) return;
    const check = { controller: new AbortController(), probe: state === 'half-open' };
    region.inFlight = check;
    const error = await probe(region, check.controller);
    if (region.inFlight !== check) return; // stopped meanwhile; stop() gave back the probe slot
    region.inFlight = undefined;
    region.lastCheck = clock.now();
    region.lastError = error;
    region.healthy = error === undefined;
    if (error === undefined) region.breaker.success();
    else region.breaker.failure();
  }

  function checkNow(): Promise<void> {
    return Promise.all(REGION_NAMES.map((name) => check(regions[name]))).then(() => {});
  }

  function tick(): void {
    if (!running) return;
    // Scheduled before checking, so the cadence stays one interval whatever a check takes.
    timer = clock.setTimeout(tick, healthIntervalMs);
    void checkNow();
  }

  return {
    start() {
      if (running) return;
      running = true;
      tick();
    },
    stop() {
      running = false;
      clock.clearTimeout(timer);
      timer = undefined;
      for (const name of REGION_NAMES) {
        const check = regions[name].inFlight;
        check?.controller.abort();
        // An abandoned probe says nothing, but must not keep the slot taken after a restart.
        if (check?.probe) regions[name].breaker.releaseProbe();
        regions[name].inFlight = undefined;
      }
    },
    checkNow,
    choose(input = {}) {
      const choice = chooseRegion({ routable, nearest: opts.nearest, writer, hint: input.hint, write: input.write });
      if (choice.reason === 'failover') failovers += 1;
      return choice;
    },
    reportResult(region, ok) {
      if (!isRegionName(region)) return;
      if (ok) regions[region].breaker.success();
      else regions[region].breaker.failure();
    },
    setWriter(region) {
      if (!isRegionName(region)) throw new TypeError(`"${String(region)}" is not a region`);
      writer = region;
    },
    observeWriter,
    writer: () => writer,
    writerEpoch: () => writerEpoch,
    endpoints: (region) => regions[region].endpoints,
    status() {
      const out = {} as Record<RegionName, RegionStatus>;
      for (const name of REGION_NAMES) {
        const r = regions[name];
        out[name] = {
          healthy: r.healthy,
          breaker: r.breaker.state(),
          lastCheck: r.lastCheck === undefined ? null : new Date(r.lastCheck).toISOString(),
          lastError: r.lastError ?? null,
          consecutiveFailures: r.breaker.consecutiveFailures(),
          routable: routable(name),
        };
      }
      return { nearest: opts.nearest, writer, writerEpoch, regions: out, failovers };
    },
  };
}
