/**
 * Port: where Automatic Persisted Queries live (sha256 hash → query text). The memory adapter
 * is per edge instance; a shared adapter (e.g. Redis) can implement the same two methods.
 * Guarantees asked of an adapter: `get` returns only a query previously `set` under that hash
 * (the request parser verifies the hash before every `set`); entries may be forgotten at any
 * time (clients then resend the query, which is the APQ protocol's normal recovery).
 */

/** Hash → query storage for APQ. */
export interface PersistedQueryStore {
  get(sha256Hash: string): string | undefined | Promise<string | undefined>;
  set(sha256Hash: string, query: string): void | Promise<void>;
}
