/**
 * Cache-first reads in Redis: read-through with single-flight (concurrent misses of a
 * key in this process share one origin load), TTL with ±jitter so keys loaded together
 * do not expire together, and a short negative cache for ids that do not exist.
 * Redis trouble degrades to loading from the origin, never to an error.
 *
 * A load never stores what an invalidation made stale, whichever process of the region
 * invalidated: each key has a version in Redis (`<namespace>!version:<id>`), read on a miss
 * before the load, bumped by invalidate() with the delete, and the load's result is stored only if the version
 * is still the one it read (one script, so nothing comes between the check and the set). A
 * region runs its subgraphs and its processors in separate processes: a read that loaded the
 * old row while a processor applied a change and invalidated would otherwise put the old value
 * back for the entry's whole TTL.
 */
import type { Redis } from 'ioredis';

/** Stored for a known-missing key (negative cache). */
const MISSING = '\u0000missing';
/** How long a key's version outlives its last invalidation (far longer than any load). */
const VERSION_TTL_SECONDS = 3600;
/** For each pair (KEYS[2i-1] a version, KEYS[2i] its value): bump the version, keep it ARGV[1] s, drop the value. */
const INVALIDATE = `for i = 1, #KEYS, 2 do
  redis.call('INCR', KEYS[i]) redis.call('EXPIRE', KEYS[i], ARGV[1]) redis.call('DEL', KEYS[i + 1]) end`;
/** SET KEYS[1] ARGV[2] EX ARGV[3] if KEYS[2] (the version) is still ARGV[1] ('' when absent). */
const STORE_IF_UNCHANGED = `if (redis.call('GET', KEYS[2]) or '') == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) return 1 end return 0`;

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
  const stats: CacheStats = { hits: 0, negativeHits: 0, misses: 0, loads: 0, coalesced: 0, errors: 0 };
  const keyOf = (id: string) => `${namespace}:${id}`;
  const versionOf = (id: string) => `${namespace}!version:${id}`;
  const known = cachesByRedis.get(redis) ?? new Set<CacheInfo>();
  cachesByRedis.set(redis, known);
  known.add({ namespace, stats });

  async function redisOrUndefined<R>(command: () => Promise<R>): Promise<R | undefined> {
    try {
      return await command();
    } catch {
      stats.errors++;
      return undefined;
    }
  }

  async function loadAndStore(id: string, load: () => Promise<T | undefined>): Promise<T | undefined> {
    const cached = await redisOrUndefined(() => redis.get(keyOf(id)));
    if (cached != null) {
      if (cached === MISSING) {
        stats.negativeHits++;
        return undefined;
      }
      stats.hits++;
      return JSON.parse(cached) as T;
    }
    stats.misses++;
    // The version before the load (a second round trip, on misses only): an invalidation after
    // this read changes it, one before it happened after the change was written.
    const version = cached === undefined ? undefined : await redisOrUndefined(() => redis.get(versionOf(id)));
    stats.loads++;
    const value = await load();
    // Without the version it started from (Redis failed), a load stores nothing.
    if (version !== undefined) {
      const ttl = jitteredTtl(value === undefined ? negativeTtl : ttlSeconds, jitter, random);
      const text = value === undefined ? MISSING : JSON.stringify(value);
      await redisOrUndefined(() =>
        redis.eval(STORE_IF_UNCHANGED, 2, keyOf(id), versionOf(id), version ?? '', text, ttl),
      );
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
      const p = loadAndStore(id, load).finally(() => {
        // An invalidation meanwhile may have made way for a newer load of the same id.
        if (inflight.get(id) === p) inflight.delete(id);
      });
      inflight.set(id, p);
      return p;
    },
    async invalidate(...ids) {
      if (ids.length === 0) return;
      const keys: string[] = [];
      for (const id of ids) {
        inflight.delete(id);
        keys.push(versionOf(id), keyOf(id));
      }
      // One command (a script runs whole): cheaper than MULTI's five.
      await redisOrUndefined(() => redis.eval(INVALIDATE, keys.length, ...keys, VERSION_TTL_SECONDS));
    },
  };
}
