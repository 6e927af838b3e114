/**
 * Remembers which scope each operation's responses had. The scope of a response is only known
 * once the origin answers (from its Cache-Control), but the lookup needs the scoped key first.
 * So the edge keys this index by the operation's PUBLIC key (no identity in it), learns the scope
 * from each origin response, and on the next request computes the key for that scope. Unknown →
 * treat as a miss. (Apollo Router's entity cache learns "private" queries the same way.)
 */
import { createByteLru } from './lru.ts';
import type { CacheScope } from './scope.ts';

/** Operation → scope of its last cacheable response. */
export interface ScopeIndex {
  get(operationKey: string): CacheScope | undefined;
  set(operationKey: string, scope: CacheScope): void;
  delete(operationKey: string): void;
}

/** A byte-bounded, least-recently-used scope index. */
export function createScopeIndex(options: { maxBytes?: number } = {}): ScopeIndex {
  // 48: the scope string plus map and list node bookkeeping, roughly; the LRU adds the key.
  const lru = createByteLru<CacheScope>({ maxBytes: options.maxBytes ?? 1 << 20, sizeOf: () => 48 });
  return {
    get: (key) => lru.get(key),
    set(key, scope) {
      lru.set(key, scope);
    },
    delete(key) {
      lru.delete(key);
    },
  };
}
