/**
 * Who may receive a cached response. PUBLIC: anyone; TENANT: callers of the same tenant; USER:
 * only the same user of the same tenant. When two signals disagree the narrower one wins, so a
 * mistake costs hit rate, never a leak.
 */

/** The scopes, from widest to narrowest. */
export const CACHE_SCOPES = ['PUBLIC', 'TENANT', 'USER'] as const;

/** Audience of a cached response. */
export type CacheScope = (typeof CACHE_SCOPES)[number];

/** The narrower of two scopes. */
export function narrowestScope(a: CacheScope, b: CacheScope): CacheScope {
  return CACHE_SCOPES.indexOf(a) >= CACHE_SCOPES.indexOf(b) ? a : b;
}

/** The scope named by `value` (case-insensitive), or undefined. */
export function parseScope(value: string): CacheScope | undefined {
  const upper = value.trim().toUpperCase();
  return (CACHE_SCOPES as readonly string[]).includes(upper) ? (upper as CacheScope) : undefined;
}
