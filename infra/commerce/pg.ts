/** PostgreSQL transactions and error translation, shared by the commerce stores. */
import type pg from 'pg';
import { DomainError, isDomainError } from '../../domains/shared/errors.ts';

/** SQLSTATEs after which the whole transaction may simply be run again: serialization failure, deadlock. */
const RETRY_TRANSACTION = new Set(['40001', '40P01']);
/** SQLSTATE classes that mean our SQL or data is wrong, not that Postgres is unavailable. */
const BUG_CLASSES = new Set(['22', '23', '42']);

export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** Infrastructure failures become domain errors at this boundary; domain errors pass through. */
export function translate(err: unknown, store = 'database'): DomainError {
  if (isDomainError(err)) return err;
  const state = sqlState(err);
  if (state && BUG_CLASSES.has(state.slice(0, 2))) {
    return new DomainError('INTERNAL', `${store} rejected a statement (${state})`, { cause: err });
  }
  return new DomainError('DEPENDENCY_UNAVAILABLE', `${store} unavailable: ${(err as Error)?.message ?? err}`, {
    retryable: true,
    cause: err,
  });
}

function backoff(attempt: number): Promise<void> {
  const ms = 5 * 2 ** attempt + Math.random() * 10;
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rolls back; returns the error when the connection itself is broken (so the pool discards it). */
async function rollback(client: pg.PoolClient): Promise<Error | undefined> {
  try {
    await client.query('ROLLBACK');
    return undefined;
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

export interface TransactionOptions {
  /** Attempts when Postgres aborts the transaction for a conflict (40001/40P01). */
  readonly maxAttempts?: number;
  /** Names the store in translated errors. */
  readonly store?: string;
}

/** Runs `work` in one transaction, again when Postgres aborted it for a conflict. */
export async function inTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
  opts: TransactionOptions = {},
): Promise<T> {
  const maxAttempts = opts.maxAttempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      throw translate(err, opts.store);
    }
    let broken: Error | undefined;
    // A checked-out client has no error listener: a backend dying between our queries would crash the process.
    const swallow = () => {};
    client.on('error', swallow);
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      broken = await rollback(client);
      const state = sqlState(err);
      if (!(state && RETRY_TRANSACTION.has(state) && attempt < maxAttempts)) throw translate(err, opts.store);
    } finally {
      client.off('error', swallow);
      client.release(broken);
    }
    // Only a conflict gets here; the connection is back in the pool while we wait.
    await backoff(attempt);
  }
}
