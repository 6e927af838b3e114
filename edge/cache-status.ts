/**
 * The Cache-Status response header, RFC 9211 §2: "Cache-Status = #( cache-identifier
 * *( ";" cache-param ) )", with the parameters hit, fwd, fwd-status, ttl, stored, detail.
 */
export const CACHE_NAME = 'meridian-edge';

export type CacheOutcome =
  | { kind: 'hit'; ttlMs: number }
  | { kind: 'stale'; ttlMs: number }
  | { kind: 'miss'; status: number; stored: boolean; ttlMs?: number }
  | { kind: 'revalidated'; status: number; stored: boolean; ttlMs?: number }
  | { kind: 'bypass'; reason: 'method' | 'bypass' | 'request'; status?: number };

const seconds = (ms: number) => Math.round(ms / 1000);

/** Formats one Cache-Status member for this cache. */
export function cacheStatus(o: CacheOutcome): string {
  switch (o.kind) {
    case 'hit':
      return `${CACHE_NAME}; hit; ttl=${seconds(o.ttlMs)}`;
    case 'stale':
      // Served from cache past freshness while a background refresh runs (stale-while-revalidate).
      return `${CACHE_NAME}; hit; ttl=${seconds(o.ttlMs)}; detail=stale`;
    case 'miss':
      return `${CACHE_NAME}; fwd=uri-miss; fwd-status=${o.status}${o.stored ? `; stored; ttl=${seconds(o.ttlMs ?? 0)}` : ''}`;
    case 'revalidated':
      return `${CACHE_NAME}; fwd=stale; fwd-status=${o.status}${o.stored ? `; stored; ttl=${seconds(o.ttlMs ?? 0)}` : ''}; detail=revalidated`;
    case 'bypass':
      return `${CACHE_NAME}; fwd=${o.reason}${o.status ? `; fwd-status=${o.status}` : ''}`;
  }
}
