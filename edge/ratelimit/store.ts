/**
 * The port the limiter owns: one atomic take on one named bucket. Guarantees every adapter
 * gives: a take is atomic per key (concurrent takes on a key never both spend the same
 * token); a denied take changes nothing; a negative cost returns tokens, capped at capacity;
 * a key whose bucket would be full again may be forgotten (a missing key is a full bucket).
 * Contract suite: store.contract.ts, run by each adapter's tests.
 */
import type { BucketPolicy, BucketResult } from './bucket.ts';

/** Where bucket state lives: in this process (memory-store.ts) or shared by edge instances (redis-store.ts). */
export interface RateLimitStore {
  /**
   * True for a store answering from this process's memory: it cannot hang, so the limiter
   * skips the timeout it puts around a take on a remote store.
   */
  readonly inProcess?: boolean;
  /**
   * Spends `cost` tokens from the bucket at `key`. `nowMs` is the caller's clock; an adapter
   * shared by several processes may use its server's clock instead, so their clocks need not agree.
   */
  take(key: string, cost: number, policy: BucketPolicy, nowMs: number): Promise<BucketResult>;
}
