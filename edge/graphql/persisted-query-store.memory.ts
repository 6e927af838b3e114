/** In-memory APQ store bounded by bytes (least recently used queries are forgotten first). */
import { utf8Length } from '../cache/bytes.ts';
import { createByteLru } from '../cache/lru.ts';
import type { PersistedQueryStore } from './persisted-query-store.ts';

/** A memory PersistedQueryStore holding at most `maxBytes` of hashes and queries (default 4 MiB). */
export function createMemoryPersistedQueryStore(options: { maxBytes?: number } = {}): PersistedQueryStore {
  const lru = createByteLru<string>({ maxBytes: options.maxBytes ?? 4 << 20, sizeOf: utf8Length });
  return {
    get: (hash) => lru.get(hash),
    set(hash, query) {
      lru.set(hash, query);
    },
  };
}
