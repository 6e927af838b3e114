/**
 * In-process RateLimitStore: a Map of bucket states. Right for one edge instance, or as the
 * fallback when no Redis is configured (each instance then enforces its own budget).
 * No timers: expired buckets are swept during takes, so nothing keeps a runtime alive and
 * the module stays portable across Deno, Node and workers.
 */
import { type BucketPolicy, type BucketResult, type BucketState, msUntilFull, takeFromBucket } from './bucket.ts';
import type { RateLimitStore } from './store.ts';

/** Options of createMemoryStore. */
export interface MemoryStoreOptions {
  /**
   * Upper bound on tracked keys; 100 000 by default. Beyond it the least recently used
   * bucket is dropped (it restarts full), which bounds memory under a flood of new IPs; "used"
   * to within half of maxKeys insertions (see take).
   */
  readonly maxKeys?: number;
  /** Sweep full buckets every this many takes; 1 000 by default. */
  readonly sweepEvery?: number;
}

/** An in-memory store, with the key count exposed for tests and metrics. */
export interface MemoryStore extends RateLimitStore {
  /** Buckets currently tracked. */
  size(): number;
}

interface Entry {
  state: BucketState;
  /** When the bucket is full again and the entry can go. */
  fullAtMs: number;
  /** The store's insertion count when the entry was last (re)inserted: its place in the LRU order. */
  insertedAt: number;
}

/** Creates an in-memory store. */
export function createMemoryStore(opts: MemoryStoreOptions = {}): MemoryStore {
  const maxKeys = opts.maxKeys ?? 100_000;
  const sweepEvery = opts.sweepEvery ?? 1_000;
  const entries = new Map<string, Entry>();
  let takesSinceSweep = 0;
  let insertions = 0;
  const refreshAfter = Math.floor(maxKeys / 2);

  function sweep(nowMs: number): void {
    for (const [key, entry] of entries) if (entry.fullAtMs <= nowMs) entries.delete(key);
  }

  async function take(key: string, cost: number, policy: BucketPolicy, nowMs: number): Promise<BucketResult> {
    if (++takesSinceSweep >= sweepEvery) {
      takesSinceSweep = 0;
      sweep(nowMs);
    }
    const previous = entries.get(key);
    const { state, result } = takeFromBucket(previous?.state, policy, cost, nowMs);
    const fullAtMs = nowMs + msUntilFull(state.tokens, policy);
    if (previous !== undefined && insertions - previous.insertedAt <= refreshAfter) {
      // Recently (re)inserted: still far from the front of the order, so it stays where it is.
      previous.state = state;
      previous.fullAtMs = fullAtMs;
    } else {
      // Delete then set moves the key to the end of the Map's insertion order: an LRU that moves a
      // key at most once per maxKeys / 2 insertions rather than on every take (a Map delete and set
      // were a third of a take). Eviction takes the oldest insertion, so a key used within the
      // last maxKeys / 2 insertions is never dropped.
      entries.delete(key);
      entries.set(key, { state, fullAtMs, insertedAt: ++insertions });
    }
    if (entries.size > maxKeys) {
      sweep(nowMs);
      for (const oldest of entries.keys()) {
        if (entries.size <= maxKeys) break;
        entries.delete(oldest);
      }
    }
    return result;
  }

  return { take, size: () => entries.size, inProcess: true };
}
