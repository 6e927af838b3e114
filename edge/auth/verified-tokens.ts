/**
 * Tokens that verified, remembered until they expire, so a client sending the same token on
 * every request pays for one signature check rather than one per request (an ES256 verify costs
 * a few hundred microseconds; a cache hit at the edge costs less than that in total).
 *
 * What makes a remembered verdict safe to reuse, checked on every use:
 * - the key is the exact token text, signature included: only the very bytes that verified match;
 * - the time claims are checked again against the clock, with the same skew jose allows
 *   (RFC 7519 §4.1.4 "MUST NOT be accepted for processing" on or after `exp`; §4.1.5 before `nbf`);
 * - the key set that verified it must still be the one a verification would use now
 *   (KeyResolver.isCurrent): after any reload of the issuer's keys — the periodic refresh or a
 *   rotation's unknown kid — every token is verified afresh, so a key removed from the JWKS stops
 *   verifying exactly when it would without this cache.
 * Only successes are kept; a failure is always recomputed. Memory is bounded by the tokens'
 * length (oldest first out).
 */

/** A remembered successful verification. */
export interface VerifiedEntry<C> {
  readonly claims: C;
  /** `exp` and `nbf` in seconds since the epoch (nbf absent: -Infinity). */
  readonly exp: number;
  readonly nbf: number;
  /** The key-set generation that verified it. */
  readonly generation: number;
}

/** Remembered verifications by token. */
export interface VerifiedTokens<C> {
  /** The entry for `token` if it is still valid at `nowMs` under `isCurrent`; stale entries are dropped. */
  get(token: string, nowMs: number, isCurrent: (generation: number) => boolean): VerifiedEntry<C> | undefined;
  set(token: string, entry: VerifiedEntry<C>): void;
  readonly size: number;
}

/** Per-entry bookkeeping charged against the budget on top of the token's length. */
const ENTRY_OVERHEAD = 200;

/** A verified-token memory of at most `maxBytes` (0 disables it), with jose's clock tolerance in seconds. */
export function createVerifiedTokens<C>(maxBytes: number, toleranceSeconds: number): VerifiedTokens<C> {
  const entries = new Map<string, VerifiedEntry<C>>();
  let bytes = 0;
  const drop = (token: string) => {
    if (entries.delete(token)) bytes -= token.length + ENTRY_OVERHEAD;
  };
  return {
    get(token, nowMs, isCurrent) {
      const entry = entries.get(token);
      if (entry === undefined) return undefined;
      // jose's own arithmetic: whole seconds, expired once exp <= now - tolerance.
      const now = Math.floor(nowMs / 1000);
      if (entry.exp <= now - toleranceSeconds || entry.nbf > now + toleranceSeconds || !isCurrent(entry.generation)) {
        drop(token);
        return undefined;
      }
      return entry;
    },
    set(token, entry) {
      const size = token.length + ENTRY_OVERHEAD;
      if (size > maxBytes) return;
      drop(token);
      while (bytes + size > maxBytes) {
        const oldest = entries.keys().next().value as string;
        drop(oldest);
      }
      entries.set(token, entry);
      bytes += size;
    },
    get size() {
      return entries.size;
    },
  };
}
