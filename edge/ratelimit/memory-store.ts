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
   * bucket is dropped (it restarts full), which bounds memory under a flood of new IPs.
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
}

/** Creates an in-memory store. */
export function createMemoryStore(opts: MemoryStoreOptions = {}): MemoryStore {
  const maxKeys = opts.maxKeys ?? 100_000;
  const sweepEvery = opts.sweepEvery ?? 1_000;
  const entries = new Map<string, Entry>();
  let takesSinceSweep = 0;

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
    // Delete then set moves the key to the end of the Map's insertion order: a cheap LRU.
    entries.delete(key);
    entries.set(key, { state, fullAtMs: nowMs + msUntilFull(state.tokens, policy) });
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
