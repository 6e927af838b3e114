/**
 * Per-document write locks for the document store, held as PostgreSQL session advisory locks.
 *
 * Why: FerretDB v1 does not apply a single-document update atomically. Its update handler
 * (internal/handler/msg_update.go, common.UpdateDocument) reads the matching documents, applies
 * the operators in Go, and writes each whole document back with `UPDATE … SET _jsonb = $1
 * WHERE _id = $2` — no row lock between the read and the write, and the filter checked only on
 * what it read. Two concurrent updates of one document both match a version guard, and the later
 * write erases the earlier one (`$push`, `$inc` and `$set` alike): measured on v1.24.2, six
 * concurrent `$push`es to one document kept 1.5 of 6 on average, and a `{version: 0}` guard let
 * five of six writers through. MongoDB proper has none of this; on FerretDB v1 every
 * read-modify-write of a document must hold that document's lock.
 *
 * Session advisory locks, not transaction locks: the lock must outlive a PostgreSQL transaction
 * (the document outbox mover commits its copy, then clears the document, both under the lock).
 * A holder that dies releases its locks with its session. The pool is the locks' own, so a holder
 * never waits for a connection that a waiter on its lock holds.
 */
import type { Dependency } from './dependency.ts';
import { createPostgres } from './postgres.ts';

/** First key of the document locks: `pg_advisory_lock(DOCUMENT_LOCK_NAMESPACE, hashtext(key))`. */
export const DOCUMENT_LOCK_NAMESPACE = 4_100_020;

export interface DocumentLocks {
  /**
   * Runs `work` while it holds the lock of `key` (a collection and document id), in every process
   * of the region. Rejects without running `work` if the lock is not granted in time.
   */
  withLock<T>(key: string, work: () => Promise<T>): Promise<T>;
}

export interface DocumentLocksDependency extends DocumentLocks, Dependency {}

export interface DocumentLocksConfig {
  /** The region's PostgreSQL (any database every writer of the document store shares). */
  readonly url: string;
  readonly applicationName?: string;
  /** Locks held at once by this process (one connection each); 8 by default. */
  readonly maxConnections?: number;
  /** How long a writer waits for a document's lock before failing; 5 s by default. */
  readonly lockTimeoutMs?: number;
}

/** The lock key of one document. */
export const documentKey = (collection: string, id: unknown) => `${collection}/${String(id)}`;

export function createDocumentLocks(config: DocumentLocksConfig): DocumentLocksDependency {
  const lockTimeoutMs = config.lockTimeoutMs ?? 5000;
  const postgres = createPostgres({
    url: config.url,
    maxConnections: config.maxConnections ?? 8,
    applicationName: config.applicationName ?? 'meridian-document-locks',
    connectionTimeoutMs: lockTimeoutMs,
    sessionSettings: { lock_timeout: String(lockTimeoutMs) },
  });
  const { pool } = postgres;
  // Callers in this process queue here per key, so one connection (not one per caller) waits
  // in PostgreSQL for a lock another process holds.
  const queues = new Map<string, Promise<void>>();

  async function heldInPostgres<T>(key: string, work: () => Promise<T>): Promise<T> {
    const client = await pool.connect();
    // A session that dies while held (between queries) must not crash the process: the unlock
    // below then fails and discards it.
    const ignore = () => {};
    client.on('error', ignore);
    try {
      await client.query('SELECT pg_advisory_lock($1::int4, hashtext($2))', [DOCUMENT_LOCK_NAMESPACE, key]);
    } catch (err) {
      const timedOut = (err as { code?: string }).code === '55P03';
      client.off('error', ignore);
      client.release(timedOut ? undefined : (err as Error));
      if (timedOut) {
        throw new Error(`document ${key} stayed locked for more than ${lockTimeoutMs} ms`, { cause: err });
      }
      throw err;
    }
    try {
      return await work();
    } finally {
      // A session that cannot say unlock is destroyed: its end releases the lock.
      let broken: Error | undefined;
      await client
        .query('SELECT pg_advisory_unlock($1::int4, hashtext($2))', [DOCUMENT_LOCK_NAMESPACE, key])
        .catch((err: Error) => {
          broken = err;
        });
      client.off('error', ignore);
      client.release(broken);
    }
  }

  return {
    name: 'document-locks',
    async withLock(key, work) {
      const before = queues.get(key) ?? Promise.resolve();
      let done!: () => void;
      const gate = new Promise<void>((resolve) => {
        done = resolve;
      });
      const mine = before.then(() => gate);
      queues.set(key, mine);
      try {
        await before;
        return await heldInPostgres(key, work);
      } finally {
        done();
        if (queues.get(key) === mine) queues.delete(key);
      }
    },
    ping: () => postgres.ping(),
    close: () => postgres.close(),
  };
}
