/** Transactions and error translation for partners' PostgreSQL stores. */
import type pg from 'pg';
import { DomainError, isDomainError } from '../../domains/shared/errors.ts';

/** SQLSTATE classes that mean our SQL or data is wrong, not that Postgres is unavailable. */
const BUG_CLASSES = new Set(['22', '23', '42']);
/** Serialization failure and deadlock: the transaction may simply run again. */
const RETRY = new Set(['40001', '40P01']);

/** Infrastructure failures become domain errors at this boundary; domain errors pass through. */
export function translate(err: unknown, store: string): DomainError {
  if (isDomainError(err)) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && BUG_CLASSES.has(code.slice(0, 2))) {
    return new DomainError('INTERNAL', `${store} rejected a statement (${code})`, { cause: err });
  }
  return new DomainError('DEPENDENCY_UNAVAILABLE', `${store} unavailable: ${(err as Error)?.message ?? err}`, {
    retryable: true,
    cause: err,
  });
}

/** Runs `work` in one transaction (again, up to 4 times, when Postgres aborted it for a conflict). */
export async function transaction<T>(pool: pg.Pool, store: string, work: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      throw translate(err, store);
    }
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackErr) {
        broken = rollbackErr as Error;
      }
      const code = (err as { code?: unknown } | null)?.code;
      if (typeof code === 'string' && RETRY.has(code) && attempt < 4) continue;
      throw translate(err, store);
    } finally {
      client.release(broken);
    }
  }
}
