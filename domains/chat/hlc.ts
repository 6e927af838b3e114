/**
 * Hybrid logical clock timestamps for chat: every message (and membership change) gets one in
 * the region that made it, so both regions sort a room's history the same way. A timestamp is
 * (wall ms, counter, region): the wall clock when it moves forward, the counter when two events
 * fall in the same millisecond or a clock lags behind what it has seen, and the region to break
 * the last tie (two regions are never equal). Encoded as a fixed-width string that sorts like
 * the tuple: `000001764500000000.000000.east`.
 *
 * A region timestamps a new message after everything it holds for that room (the room's
 * newest timestamp is the floor), so a reply always sorts after what its sender saw.
 */

/** A decoded timestamp. */
export interface Hlc {
  readonly wall: number;
  readonly counter: number;
  readonly region: string;
}

const WALL_DIGITS = 18;
const COUNTER_DIGITS = 6;
const MAX_COUNTER = 10 ** COUNTER_DIGITS - 1;
const REGION = /^[a-z][a-z0-9-]{0,31}$/;
const ENCODED = /^(\d{18})\.(\d{6})\.([a-z][a-z0-9-]{0,31})$/;

/** The sortable text form; string order equals (wall, counter, region) order. */
export function encodeHlc(h: Hlc): string {
  if (!Number.isSafeInteger(h.wall) || h.wall < 0)
    throw new RangeError(`hlc wall ${h.wall} is not a non-negative integer`);
  if (!Number.isInteger(h.counter) || h.counter < 0 || h.counter > MAX_COUNTER) {
    throw new RangeError(`hlc counter ${h.counter} is out of range`);
  }
  if (!REGION.test(h.region)) throw new RangeError(`hlc region "${h.region}" is not a region name`);
  return `${String(h.wall).padStart(WALL_DIGITS, '0')}.${String(h.counter).padStart(COUNTER_DIGITS, '0')}.${h.region}`;
}

/** Whether a string is an encoded timestamp. */
export function isHlc(text: string): boolean {
  return ENCODED.test(text);
}

/** Decodes a timestamp; RangeError for anything else. */
export function decodeHlc(text: string): Hlc {
  const m = ENCODED.exec(text);
  if (!m) throw new RangeError(`"${text}" is not an hlc timestamp`);
  return { wall: Number(m[1]), counter: Number(m[2]), region: m[3] as string };
}

/**
 * The timestamp of a new event at wall time `now` in `region`, later than `floor` (the newest
 * timestamp the event must follow), if any.
 */
export function nextHlc(now: number, region: string, floor?: string): string {
  const f = floor === undefined ? undefined : decodeHlc(floor);
  if (f === undefined || now > f.wall) return encodeHlc({ wall: now, counter: 0, region });
  // The floor is at or ahead of our clock: stay on its wall time and count past it. A counter
  // at its maximum moves to the next millisecond instead (still after the floor).
  if (f.counter >= MAX_COUNTER) return encodeHlc({ wall: f.wall + 1, counter: 0, region });
  return encodeHlc({ wall: f.wall, counter: f.counter + 1, region });
}

/** A process-wide clock: never issues a timestamp at or before one it issued or observed. */
export interface HybridClock {
  /** A new timestamp, after `floor` (e.g. the room's newest) and after everything this clock saw. */
  next(floor?: string): string;
  /** Takes in a timestamp made elsewhere (a replicated event), so later ones sort after it. */
  observe(timestamp: string): void;
}

/** Creates a clock for `region` over a wall clock (ms). */
export function createHybridClock(region: string, wall: () => number): HybridClock {
  if (!REGION.test(region)) throw new RangeError(`"${region}" is not a region name`);
  let last: string | undefined;
  const later = (a: string | undefined, b: string | undefined) =>
    a === undefined ? b : b === undefined || a > b ? a : b;
  return {
    next(floor) {
      last = nextHlc(wall(), region, later(last, floor));
      return last;
    },
    observe(timestamp) {
      if (isHlc(timestamp)) last = later(last, timestamp);
    },
  };
}
