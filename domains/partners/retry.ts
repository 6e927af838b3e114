/**
 * The retry schedule of webhook deliveries: the delay before each attempt, the first usually 0.
 * Svix's schedule is the default: immediately, then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and
 * 10 h again; after the last attempt the message is failed (and kept for replay).
 *
 * Standard Webhooks, "Deliverability and reliability": "retry delivery following a retry schedule
 * spanning multiple days, with an exponential backoff. It's recommended to also add some level of
 * random jitter". And "some responses may also include a `Retry-After` header (e.g. `503 Service
 * Unavailable`), which should be taken into consideration when scheduling the next attempt."
 */
import { DomainError } from '../shared/errors.ts';

export interface RetrySchedule {
  /** Delay before attempt n+1 is `delaysMs[n]`; the schedule has `delaysMs.length` attempts. */
  readonly delaysMs: readonly number[];
}

export const SVIX_SCHEDULE = '0,5s,5m,30m,2h,5h,10h,10h';
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** A Retry-After never pushes one attempt further than this. */
export const MAX_RETRY_AFTER_MS = 24 * 3_600_000;
const MAX_ATTEMPTS = 50;

/** A duration such as `250ms`, `5s`, `5m`, `2h`, `5d` or plain milliseconds. */
export function parseDuration(text: string, what = 'duration'): number {
  const m = /^(\d{1,9})(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) throw new DomainError('BAD_USER_INPUT', `${what}: "${text}" is not a duration (e.g. 500ms, 5s, 5m, 2h, 5d)`);
  return Number(m[1]) * (UNIT_MS[m[2] ?? 'ms'] as number);
}

/** Parses `0,5s,5m,30m` into a schedule of 1-50 attempts. */
export function parseSchedule(text: string): RetrySchedule {
  const delaysMs = text.split(',').map((d) => parseDuration(d, 'retry schedule'));
  if (delaysMs.length === 0 || delaysMs.length > MAX_ATTEMPTS) {
    throw new DomainError('BAD_USER_INPUT', `retry schedule must have 1-${MAX_ATTEMPTS} attempts`);
  }
  return { delaysMs };
}

/**
 * RFC 9110 §10.2.3: `Retry-After = HTTP-date / delay-seconds`. The delay it asks for, in ms from
 * `now`; undefined when absent or malformed (then the schedule alone decides).
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d{1,10}$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/**
 * When the attempt after attempt `made` (1-based) is due, in ms from now; undefined when `made` was
 * the last. Delays of a second or more get ±10% jitter; a Retry-After longer than the schedule's
 * delay wins, up to MAX_RETRY_AFTER_MS.
 */
export function nextDelay(
  schedule: RetrySchedule,
  made: number,
  retryAfterMs: number | undefined,
  random: () => number,
): number | undefined {
  const base = schedule.delaysMs[made];
  if (base === undefined) return undefined;
  const jittered = base >= 1000 ? Math.round(base * (0.9 + random() * 0.2)) : base;
  return retryAfterMs === undefined ? jittered : Math.max(jittered, Math.min(retryAfterMs, MAX_RETRY_AFTER_MS));
}
