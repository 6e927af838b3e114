/**
 * Telemetry analytics: per device and metric, one-minute tumbling windows by device time
 * (count, min, max, avg, last). A reading belongs to the window its `ts` falls in; it counts
 * if it arrived (bridge `receivedAt`) no later than GRACE_MS after that window closed, so a
 * device that buffered readings while offline still lands in its windows, and a window is
 * final GRACE_MS after it closes. Later readings stay in the raw topic but change no window.
 * Aggregation is order-free (count, min, max, sum; `last` is the value at the latest `ts`,
 * ties broken by `seq`), so applying each reading once in any order gives the same windows.
 */
import { bad, type Reading } from './device.ts';

export const WINDOW_MS = 60_000;
export const GRACE_MS = 120_000;
/** A query spans at most one day of windows. */
export const MAX_QUERY_MS = 24 * 60 * 60 * 1000;
export const METRIC = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

export interface TelemetryWindow {
  readonly metric: string;
  /** Window start (ISO, on a minute). */
  readonly start: string;
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly sum: number;
  readonly last: number;
  readonly lastTs: string;
  readonly lastSeq: number;
}

/** One metric of one reading, placed in its window. */
export interface WindowPoint {
  readonly metric: string;
  readonly start: string;
  readonly value: number;
  readonly ts: string;
  readonly seq: number;
}

/** The start of the window `ts` falls in. */
export function windowStart(ts: string): string {
  const ms = Date.parse(ts);
  return new Date(ms - (((ms % WINDOW_MS) + WINDOW_MS) % WINDOW_MS)).toISOString();
}

/** True when the reading arrived after its window's grace period. */
export function isLate(reading: Pick<Reading, 'ts' | 'receivedAt'>, graceMs = GRACE_MS): boolean {
  const end = Date.parse(windowStart(reading.ts)) + WINDOW_MS;
  return Date.parse(reading.receivedAt) > end + graceMs;
}

/** The points a reading adds to windows: none when it is late. */
export function windowPoints(reading: Reading, graceMs = GRACE_MS): WindowPoint[] {
  if (isLate(reading, graceMs)) return [];
  const start = windowStart(reading.ts);
  return Object.entries(reading.metrics).map(([metric, value]) => ({
    metric,
    start,
    value,
    ts: reading.ts,
    seq: reading.seq,
  }));
}

/** True when (ts, seq) comes after the window's last reading. */
function later(p: WindowPoint, w: TelemetryWindow): boolean {
  const a = Date.parse(p.ts);
  const b = Date.parse(w.lastTs);
  return a > b || (a === b && p.seq > w.lastSeq);
}

/** The window with one more point. */
export function fold(w: TelemetryWindow | undefined, p: WindowPoint): TelemetryWindow {
  if (!w) {
    return {
      metric: p.metric,
      start: p.start,
      count: 1,
      min: p.value,
      max: p.value,
      sum: p.value,
      last: p.value,
      lastTs: p.ts,
      lastSeq: p.seq,
    };
  }
  const newer = later(p, w);
  return {
    ...w,
    count: w.count + 1,
    min: Math.min(w.min, p.value),
    max: Math.max(w.max, p.value),
    sum: w.sum + p.value,
    last: newer ? p.value : w.last,
    lastTs: newer ? p.ts : w.lastTs,
    lastSeq: newer ? p.seq : w.lastSeq,
  };
}

/** Windows computed from readings (each applied once): the reference a store must agree with. */
export function computeWindows(readings: readonly Reading[], graceMs = GRACE_MS): Map<string, TelemetryWindow> {
  const out = new Map<string, TelemetryWindow>();
  for (const r of readings) {
    for (const p of windowPoints(r, graceMs)) {
      const key = `${p.metric} ${p.start}`;
      out.set(key, fold(out.get(key), p));
    }
  }
  return out;
}

/** Validated arguments of `telemetry(metric, from, to)`: the windows starting in [from, to). */
export function telemetryRange(metric: string, from: string, to: string): { metric: string; from: string; to: string } {
  const fail = (message: string, field: string): never => {
    throw bad(message, field);
  };
  if (!METRIC.test(metric)) fail('metric must be 1-64 of [A-Za-z0-9_.-], starting with a letter', 'metric');
  const a = Date.parse(from);
  const b = Date.parse(to);
  if (Number.isNaN(a)) fail('from must be an ISO date-time', 'from');
  if (Number.isNaN(b)) fail('to must be an ISO date-time', 'to');
  if (b <= a) fail('to must be after from', 'to');
  if (b - a > MAX_QUERY_MS) fail('at most one day of windows per query', 'to');
  return { metric, from: new Date(a).toISOString(), to: new Date(b).toISOString() };
}
