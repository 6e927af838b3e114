/**
 * Cache-first reads in Redis: read-through with single-flight (concurrent misses of a
 * key in this process share one origin load), TTL with ±jitter so keys loaded together
 * do not expire together, and a short negative cache for ids that do not exist.
 * Redis trouble degrades to loading from the origin, never to an error.
 */
import type { Redis } from 'ioredis';

/** Stored for a known-missing key (negative cache). */
const MISSING = '\u0000missing';

export interface ReadThroughOptions {
  readonly redis: Redis;
  /** Key prefix, e.g. "commerce:product". */
  readonly namespace: string;
  readonly ttlSeconds: number;
  readonly negativeTtlSeconds?: number;
  /** Fraction of the TTL to jitter by, both ways (0.1 = ±10%). */
  readonly jitter?: number;
  readonly random?: () => number;
}

export interface CacheStats {
  hits: number;
  negativeHits: number;
  misses: number;
  loads: number;
  coalesced: number;
  errors: number;
}

export interface ReadThroughCache<T> {
  get(id: string, load: () => Promise<T | undefined>): Promise<T | undefined>;
  invalidate(...ids: string[]): Promise<void>;
  readonly stats: Readonly<CacheStats>;
}

/** One cache's name and running counts, as a metrics reader sees it. */
export interface CacheInfo {
  readonly namespace: string;
  readonly stats: Readonly<CacheStats>;
}

// Caches by the Redis connection they use: a region's metrics read the caches over its own
// connection (two regions in one test process stay apart), and nothing outlives the connection.
const cachesByRedis = new WeakMap<Redis, Set<CacheInfo>>();

/** The caches created over one Redis connection, with their running stats (what /metrics reads). */
export function cachesOn(redis: Redis): readonly CacheInfo[] {
  return [...(cachesByRedis.get(redis) ?? [])];
}

/** A TTL within ±jitter of `seconds`, at least 1 s. */
export function jitteredTtl(seconds: number, jitter: number, random: () => number): number {
  return Math.max(1, Math.round(seconds * (1 + (random() * 2 - 1) * jitter)));
}

export function createReadThroughCache<T>(opts: ReadThroughOptions): ReadThroughCache<T> {
  const { redis, namespace, ttlSeconds } = opts;
  const negativeTtl = opts.negativeTtlSeconds ?? 5;
  const jitter = opts.jitter ?? 0.1;
  const random = opts.random ?? Math.random;
  const inflight = new Map<string, Promise<T | undefined>>();
  // Bumped by invalidate(): a load that started before an invalidation must not store
  // its (possibly stale) result afterwards.
  const generation = new Map<string, number>();
  const stats: CacheStats = { hits: 0, negativeHits: 0, misses: 0, loads: 0, coalesced: 0, errors: 0 };
  const keyOf = (id: string) => `${namespace}:${id}`;
  const known = cachesByRedis.get(redis) ?? new Set<CacheInfo>();
  cachesByRedis.set(redis, known);
  known.add({ namespace, stats });

  async function readCache(key: string): Promise<string | null> {
    try {
      return await redis.get(key);
    } catch {
      stats.errors++;
      return null;
    }
  }

  async function loadAndStore(id: string, load: () => Promise<T | undefined>): Promise<T | undefined> {
    const key = keyOf(id);
    const cached = await readCache(key);
    if (cached !== null) {
      if (cached === MISSING) {
        stats.negativeHits++;
        return undefined;
      }
      stats.hits++;
      return JSON.parse(cached) as T;
    }
    stats.misses++;
    const startedAt = generation.get(id) ?? 0;
    stats.loads++;
    const value = await load();
    if ((generation.get(id) ?? 0) === startedAt) {
      const ttl = jitteredTtl(value === undefined ? negativeTtl : ttlSeconds, jitter, random);
      await redis.set(key, value === undefined ? MISSING : JSON.stringify(value), 'EX', ttl).catch(() => {
        stats.errors++;
      });
    }
    return value;
  }

  return {
    stats,
    get(id, load) {
      const pending = inflight.get(id);
      if (pending) {
        stats.coalesced++;
        return pending;
      }
      const p = loadAndStore(id, load).finally(() => inflight.delete(id));
      inflight.set(id, p);
      return p;
    },
    async invalidate(...ids) {
      if (ids.length === 0) return;
      for (const id of ids) {
        generation.set(id, (generation.get(id) ?? 0) + 1);
        inflight.delete(id);
      }
      await redis.del(...ids.map(keyOf)).catch(() => {
        stats.errors++;
      });
    },
  };
}
