/**
 * The edge's GraphQL response cache, storage-agnostic and synchronous apart from single-flight.
 *
 * - Memory is bounded in bytes by an LRU (lru.ts).
 * - Admission is TinyLFU: every lookup is counted in a frequency sketch (sketch.ts); when the
 *   cache is full a new key is refused if any entry it would push out was asked for more often,
 *   so a flood of one-off queries cannot flush the hot keys. Ties admit (unlike Caffeine, which
 *   has a small admission window in front for that): among equally popular keys the cache stays
 *   a plain LRU and follows a shifting workload. Entries past their stale window never block.
 * - Freshness: `hit` while age < maxAge, `stale` until maxAge + swr (serve it and revalidate in
 *   the background, RFC 5861), then `miss` (and the entry is dropped).
 * - Purge by tag: hard deletes; soft makes the entry stale now, keeping it servable for its
 *   stale-while-revalidate window (never longer than it had left), so the next reader gets an
 *   answer at once while the refresh runs. With no SWR window a soft purge acts as a hard one.
 * - Refresh-ahead: a hit on a hot key in the last 10% of its max-age calls `refreshAhead(key)`
 *   once per stored entry, so popular responses are renewed before anyone sees them stale.
 * - Single-flight: concurrent identical misses share one origin call. Key it with the scoped
 *   cache key, so two users never share an origin response.
 * - Fills that raced a purge: an answer fetched while a purge of one of its tags arrived may
 *   hold the data from before the change, and storing it fresh would keep that for its whole
 *   max-age. A fill takes `purgeMark()` before it asks the origin and passes it to `store`. If a
 *   hard purge of one of the entry's tags came since, the entry is refused ('purged'); if only
 *   soft ones did, it is stored already stale ('stored-stale'): served at once, like the entry
 *   the soft purge made stale (and never older than it), while the next reader refreshes it.
 *   Refusing it instead would keep serving that older stale entry when purges of one change keep
 *   arriving (a write purges from each region). Purges are remembered per tag for
 *   PURGE_MEMORY_MS; a fill older than that counts as having raced a hard purge.
 */
import { bodyLength, utf8Length } from './bytes.ts';
import { createByteLru } from './lru.ts';
import type { CacheScope } from './scope.ts';
import { createFrequencySketch, type FrequencySketchOptions } from './sketch.ts';

/** One cached response. */
export interface CacheEntry {
  key: string;
  body: Uint8Array | string;
  status: number;
  headers: Readonly<Record<string, string>>;
  etag: string;
  /** Entity tags (`Product:42`) the response contains; purges address entries by them. */
  tags: readonly string[];
  scope: CacheScope;
  /** Clock time the response was produced. */
  storedAt: number;
  maxAgeMs: number;
  swrMs: number;
}

/** Result of a lookup: fresh hit, stale (serve and revalidate), or miss. */
export type LookupResult =
  | { state: 'miss' }
  | {
      state: 'hit' | 'stale';
      entry: CacheEntry;
      /** Milliseconds since the response was stored. */
      ageMs: number;
      /** Remaining freshness in milliseconds, negative once stale (RFC 9211 `ttl`). */
      ttlMs: number;
    };

/** What `store` did with an entry. */
export type StoreOutcome = 'stored' | 'stored-stale' | 'not-admitted' | 'too-large' | 'uncacheable' | 'purged';

/** Counters for metrics. */
export interface ResponseCacheStats {
  entries: number;
  bytes: number;
  hits: number;
  misses: number;
  stale: number;
  /** Entries removed or made stale by purges. */
  purged: number;
  /** Entries pushed out by the byte budget. */
  evictions: number;
  /** New entries refused by the admission policy. */
  rejected: number;
  /** refreshAhead calls made. */
  refreshes: number;
  /** Origin calls currently shared by single-flight. */
  inFlight: number;
}

/** Options of {@link createResponseCache}. */
export interface ResponseCacheOptions {
  maxBytes: number;
  clock?: () => number;
  /** Called (at most once per stored entry) when a hot key nears expiry; it should refetch and `store`. */
  refreshAhead?: (key: string) => void;
  /** Fraction of max-age before expiry from which refresh-ahead fires. */
  refreshAheadRatio?: number;
  sketch?: FrequencySketchOptions;
}

/** A GraphQL response cache. */
export interface ResponseCache {
  /** The entry's state under `key`; every call also counts as one access of the key. */
  lookup(key: string): LookupResult;
  /**
   * Stores (or replaces) an entry, subject to the byte budget and admission policy. With `since`
   * (a `purgeMark()` taken before the origin was asked): refuses it ('purged') when a hard purge
   * of one of its tags came after the mark, stores it stale ('stored-stale') when soft ones did.
   */
  store(entry: CacheEntry, since?: number): StoreOutcome;
  /** Where purges stand now: take it before asking the origin, pass it to `store`. */
  purgeMark(): number;
  /** Hard-deletes the entries carrying any of `tags`, or with `soft` makes them stale; returns how many. */
  purgeTags(tags: Iterable<string>, options?: { soft?: boolean }): number;
  /** Removes one entry. */
  delete(key: string): boolean;
  /** Runs `fn` once for all concurrent callers with the same key; all get its result (or its error). */
  singleFlight<T>(key: string, fn: () => Promise<T>): Promise<T>;
  /** Whether the key is frequently asked for. */
  isHot(key: string): boolean;
  stats(): ResponseCacheStats;
  clear(): void;
}

/** How long a tag's last purges are remembered for fills that started before them (far longer than any origin call). */
export const PURGE_MEMORY_MS = 60_000;

/** Fixed per-entry bookkeeping counted against the budget (node, slot, index entries). */
const ENTRY_OVERHEAD_BYTES = 128;

interface Slot {
  entry: CacheEntry;
  freshUntil: number;
  staleUntil: number;
  refreshRequested: boolean;
}

function slotSize(slot: Slot): number {
  const { entry } = slot;
  let size = ENTRY_OVERHEAD_BYTES + bodyLength(entry.body) + utf8Length(entry.etag);
  for (const tag of entry.tags) size += utf8Length(tag);
  for (const name in entry.headers) size += utf8Length(name) + utf8Length(entry.headers[name] ?? '');
  return size;
}

/** A new response cache. */
export function createResponseCache(options: ResponseCacheOptions): ResponseCache {
  const clock = options.clock ?? Date.now;
  const refreshAheadRatio = options.refreshAheadRatio ?? 0.1;
  const sketch = createFrequencySketch(options.sketch);
  const tagIndex = new Map<string, Set<string>>();
  const flights = new Map<string, Promise<unknown>>();
  const counters = { hits: 0, misses: 0, stale: 0, purged: 0, evictions: 0, rejected: 0, refreshes: 0 };
  /** Purges so far, numbered; per tag, its last purge's number, its last hard one's, and when (oldest first). */
  let purges = 0;
  const purgedTags = new Map<string, { seq: number; hardSeq: number; at: number }>();
  /** The highest purge number forgotten: a fill that started before it cannot be checked. */
  let forgotten = 0;
  const forgetOld = (now: number) => {
    for (const [tag, mark] of purgedTags) {
      if (mark.at > now - PURGE_MEMORY_MS) break;
      purgedTags.delete(tag);
      forgotten = Math.max(forgotten, mark.seq);
    }
  };
  /** Which purges of `tags` came after purge mark `since`: none, only soft ones, or a hard one. */
  const racedSince = (tags: readonly string[], since: number): 'none' | 'soft' | 'hard' => {
    if (since >= purges) return 'none';
    if (since < forgotten) return 'hard';
    let raced: 'none' | 'soft' = 'none';
    for (const tag of tags) {
      const mark = purgedTags.get(tag);
      if (mark === undefined || mark.seq <= since) continue;
      if (mark.hardSeq > since) return 'hard';
      raced = 'soft';
    }
    return raced;
  };

  const untag = (key: string, tags: readonly string[]): void => {
    for (const tag of tags) {
      const keys = tagIndex.get(tag);
      if (!keys) continue;
      keys.delete(key);
      if (keys.size === 0) tagIndex.delete(tag);
    }
  };
  const lru = createByteLru<Slot>({
    maxBytes: options.maxBytes,
    sizeOf: slotSize,
    onEvict(key, slot) {
      untag(key, slot.entry.tags);
      counters.evictions++;
    },
  });
  const remove = (key: string): boolean => {
    const slot = lru.peek(key);
    if (!slot) return false;
    untag(key, slot.entry.tags);
    return lru.delete(key);
  };

  /** TinyLFU: may `key` push out the coldest entries it needs room from? */
  const admit = (key: string, size: number, now: number): boolean => {
    const needed = lru.bytes + size - lru.maxBytes;
    if (needed <= 0) return true;
    const candidate = sketch.estimate(key);
    let freed = 0;
    for (const [victimKey, victim, victimSize] of lru.coldest()) {
      if (victim.staleUntil > now && sketch.estimate(victimKey) > candidate) return false;
      freed += victimSize;
      if (freed >= needed) return true;
    }
    return true;
  };

  return {
    lookup(key) {
      sketch.increment(key);
      const slot = lru.get(key);
      const now = clock();
      if (!slot || now >= slot.staleUntil) {
        if (slot) remove(key);
        counters.misses++;
        return { state: 'miss' };
      }
      const { entry } = slot;
      const ageMs = Math.max(0, now - entry.storedAt);
      const ttlMs = slot.freshUntil - now;
      if (ttlMs <= 0) {
        counters.stale++;
        return { state: 'stale', entry, ageMs, ttlMs };
      }
      counters.hits++;
      if (
        options.refreshAhead &&
        !slot.refreshRequested &&
        ttlMs <= entry.maxAgeMs * refreshAheadRatio &&
        sketch.isHot(key)
      ) {
        slot.refreshRequested = true;
        counters.refreshes++;
        try {
          options.refreshAhead(key);
        } catch {
          // A failing refresh must not fail the hit it rode on; the entry just expires normally.
        }
      }
      return { state: 'hit', entry, ageMs, ttlMs };
    },

    purgeMark() {
      return purges;
    },

    store(entry, since) {
      if (!(entry.maxAgeMs > 0)) return 'uncacheable';
      const raced = since === undefined ? 'none' : racedSince(entry.tags, since);
      // Without a stale window, stale is gone: a soft purge acts as a hard one here too.
      if (raced === 'hard' || (raced === 'soft' && !(entry.swrMs > 0))) return 'purged';
      const tags = [...new Set(entry.tags)];
      const freshUntil = entry.storedAt + entry.maxAgeMs;
      const slot: Slot = {
        entry: tags.length === entry.tags.length ? entry : { ...entry, tags },
        freshUntil,
        staleUntil: freshUntil + Math.max(0, entry.swrMs),
        refreshRequested: false,
      };
      const now = clock();
      if (raced === 'soft') {
        // As a soft purge arriving now would leave it.
        slot.freshUntil = Math.min(slot.freshUntil, now);
        slot.staleUntil = Math.min(slot.staleUntil, now + entry.swrMs);
      }
      if (slot.staleUntil <= now) return 'uncacheable';
      const size = lru.sizeOf(entry.key, slot);
      if (size > lru.maxBytes) return 'too-large';
      // A key already cached has earned its place; only newcomers go through admission.
      if (!remove(entry.key) && !admit(entry.key, size, now)) {
        counters.rejected++;
        return 'not-admitted';
      }
      lru.set(entry.key, slot);
      for (const tag of slot.entry.tags) {
        const keys = tagIndex.get(tag);
        if (keys) keys.add(entry.key);
        else tagIndex.set(tag, new Set([entry.key]));
      }
      return raced === 'soft' ? 'stored-stale' : 'stored';
    },

    purgeTags(tags, purgeOptions = {}) {
      const keys = new Set<string>();
      const now = clock();
      const seq = ++purges;
      forgetOld(now);
      for (const tag of tags) {
        for (const key of tagIndex.get(tag) ?? []) keys.add(key);
        const hardSeq = purgeOptions.soft ? (purgedTags.get(tag)?.hardSeq ?? 0) : seq;
        purgedTags.delete(tag); // re-inserted last: the map stays in purge order for forgetOld
        purgedTags.set(tag, { seq, hardSeq, at: now });
      }
      let count = 0;
      for (const key of keys) {
        if (!purgeOptions.soft) {
          if (remove(key)) count++;
          continue;
        }
        const slot = lru.peek(key);
        if (!slot) continue;
        slot.freshUntil = Math.min(slot.freshUntil, now);
        slot.staleUntil = Math.min(slot.staleUntil, now + Math.max(0, slot.entry.swrMs));
        count++;
      }
      counters.purged += count;
      return count;
    },

    delete: remove,

    singleFlight<T>(key: string, fn: () => Promise<T>): Promise<T> {
      const existing = flights.get(key);
      if (existing) return existing as Promise<T>;
      // fn runs synchronously here, so every caller arriving before it settles finds the flight.
      const flight = new Promise<T>((resolve) => resolve(fn())).finally(() => {
        flights.delete(key);
      });
      flights.set(key, flight);
      return flight;
    },

    isHot(key) {
      return sketch.isHot(key);
    },

    stats() {
      return { entries: lru.size, bytes: lru.bytes, inFlight: flights.size, ...counters };
    },

    clear() {
      lru.clear();
      tagIndex.clear();
      // Like a hard purge of everything: fills already asking the origin are refused.
      purgedTags.clear();
      forgotten = ++purges;
    },
  };
}
