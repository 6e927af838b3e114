/**
 * Token-bucket arithmetic, pure: no clock, no storage. A bucket holds at most `capacity`
 * tokens and gains `refillPerSecond` continuously; a request spends `cost` tokens or is
 * denied without spending anything (so a client hammering a full bucket does not push its
 * own recovery further out). The Redis store's Lua script mirrors takeTokens line by line;
 * resultOf is shared so both stores report identical numbers.
 */

/** How big a bucket is and how fast it refills. */
export interface BucketPolicy {
  readonly capacity: number;
  readonly refillPerSecond: number;
}

/** What a store keeps per key: the tokens left at the moment of the last update. */
export interface BucketState {
  readonly tokens: number;
  readonly updatedAtMs: number;
}

/** The outcome of one take, in whole units for headers. */
export interface BucketResult {
  readonly allowed: boolean;
  /** Whole tokens left after this take (a denied take leaves the bucket as it was). */
  readonly remaining: number;
  /** Seconds until the bucket is full again. */
  readonly resetSeconds: number;
  /** Seconds until a request of this cost would be allowed; 0 when allowed. */
  readonly retryAfterSeconds: number;
}

/** Rejects policies that would divide by zero or never allow anything. */
export function assertPolicy(policy: BucketPolicy, name = 'policy'): void {
  const { capacity, refillPerSecond } = policy;
  if (!Number.isFinite(capacity) || capacity <= 0) throw new RangeError(`${name}.capacity must be a positive number`);
  if (!Number.isFinite(refillPerSecond) || refillPerSecond <= 0) {
    throw new RangeError(`${name}.refillPerSecond must be a positive number`);
  }
}

/** Tokens in the bucket at `nowMs`: a missing state is a full bucket; clocks going backwards add nothing. */
export function tokensAt(state: BucketState | undefined, policy: BucketPolicy, nowMs: number): number {
  if (state === undefined) return policy.capacity;
  const elapsedMs = Math.max(0, nowMs - state.updatedAtMs);
  return Math.min(policy.capacity, state.tokens + (elapsedMs * policy.refillPerSecond) / 1000);
}

/**
 * Spends `cost` tokens if the bucket holds them. A negative cost returns tokens (capped at
 * capacity); the limiter uses it to undo a take when a later bucket denies the request.
 */
export function takeTokens(
  state: BucketState | undefined,
  policy: BucketPolicy,
  cost: number,
  nowMs: number,
): { allowed: boolean; state: BucketState } {
  const tokens = tokensAt(state, policy, nowMs);
  const allowed = tokens >= cost;
  const after = allowed ? Math.min(policy.capacity, tokens - cost) : tokens;
  return { allowed, state: { tokens: after, updatedAtMs: nowMs } };
}

// Float noise (e.g. 0.1 + 0.2) must not turn "exactly refilled" into one extra second.
const EPSILON = 1e-9;

function ceilSeconds(seconds: number): number {
  return Math.max(0, Math.ceil(seconds - EPSILON));
}

/** Derives the header numbers from the tokens left after a take. */
export function resultOf(allowed: boolean, tokens: number, policy: BucketPolicy, cost: number): BucketResult {
  const { capacity, refillPerSecond } = policy;
  const resetSeconds = ceilSeconds((capacity - tokens) / refillPerSecond);
  let retryAfterSeconds = 0;
  if (!allowed) {
    // A cost above capacity can never pass; report the time to a full bucket instead of infinity.
    retryAfterSeconds = cost > capacity ? resetSeconds : ceilSeconds((cost - tokens) / refillPerSecond);
    retryAfterSeconds = Math.max(1, retryAfterSeconds);
  }
  return { allowed, remaining: Math.max(0, Math.floor(tokens + EPSILON)), resetSeconds, retryAfterSeconds };
}

/** One take, state in and out: the whole algorithm for in-process stores and tests. */
export function takeFromBucket(
  state: BucketState | undefined,
  policy: BucketPolicy,
  cost: number,
  nowMs: number,
): { state: BucketState; result: BucketResult } {
  const taken = takeTokens(state, policy, cost, nowMs);
  return { state: taken.state, result: resultOf(taken.allowed, taken.state.tokens, policy, cost) };
}

/** Milliseconds until a bucket with `tokens` is full, after which its state can be forgotten. */
export function msUntilFull(tokens: number, policy: BucketPolicy): number {
  return Math.max(0, Math.ceil(((policy.capacity - tokens) * 1000) / policy.refillPerSecond));
}
