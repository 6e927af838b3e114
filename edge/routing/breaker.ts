/**
 * A circuit breaker for one region, pure: it reads time from `now()` and never sets a timer,
 * so tests drive it with a fake clock.
 *
 * closed → open after `failureThreshold` consecutive failures (health checks and reported
 * requests count alike); open → half-open once `openMs` has passed; in half-open exactly one
 * probe may be claimed (`tryProbe`), and its success closes the breaker while a failure opens
 * it again for another `openMs`.
 */

/** The three breaker states. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** Options of createBreaker. */
export interface BreakerOptions {
  readonly failureThreshold: number;
  readonly openMs: number;
  readonly now: () => number;
}

/** One region's breaker. */
export interface Breaker {
  state(): BreakerState;
  consecutiveFailures(): number;
  success(): void;
  failure(): void;
  /** Claims the single half-open probe; false when not half-open or a probe is already out. */
  tryProbe(): boolean;
  /** Gives a claimed probe back without a verdict (it was abandoned, e.g. on stop). */
  releaseProbe(): void;
}

/** Creates a closed breaker. */
export function createBreaker(opts: BreakerOptions): Breaker {
  const { failureThreshold, openMs, now } = opts;
  if (!Number.isInteger(failureThreshold) || failureThreshold < 1) {
    throw new TypeError('failureThreshold must be an integer ≥ 1');
  }
  if (!Number.isFinite(openMs) || openMs < 0) throw new TypeError('openMs must be a number ≥ 0');

  let failures = 0;
  let openedAt: number | undefined;
  let probing = false;

  function state(): BreakerState {
    if (openedAt === undefined) return 'closed';
    // Half-open is derived from the clock rather than set by a timer: nothing to schedule or leak.
    return now() - openedAt >= openMs ? 'half-open' : 'open';
  }

  function open(): void {
    openedAt = now();
    probing = false;
  }

  return {
    state,
    consecutiveFailures: () => failures,
    success() {
      const s = state();
      // A late success from a request sent before the breaker opened says nothing about now.
      if (s === 'open') return;
      failures = 0;
      openedAt = undefined;
      probing = false;
    },
    failure() {
      failures += 1;
      const s = state();
      if (s === 'half-open') open();
      else if (s === 'closed' && failures >= failureThreshold) open();
    },
    tryProbe() {
      if (state() !== 'half-open' || probing) return false;
      probing = true;
      return true;
    },
    releaseProbe() {
      probing = false;
    },
  };
}
