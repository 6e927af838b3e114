/** Small helpers for PostgreSQL transactions and error translation. */
import type pg from 'pg';
import { DomainError, isDomainError } from '../../domains/shared/errors.ts';

/** SQLSTATEs worth retrying the whole transaction for: serialization failure, deadlock. */
const RETRYABLE_SQLSTATE = new Set(['40001', '40P01']);

/** Runs `work` in a transaction, retrying serialization failures and deadlocks. */
export async function inTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
  attempts = 5,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      throw unavailable(err);
    }
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      const code = (err as { code?: string }).code;
      if (code && RETRYABLE_SQLSTATE.has(code) && attempt < attempts) continue;
      throw isDomainError(err) ? err : unavailable(err);
    } finally {
      client.release();
    }
  }
}

/** A storage failure as the domain sees it: retryable, cause kept. */
export function unavailable(err: unknown): DomainError {
  return new DomainError('DEPENDENCY_UNAVAILABLE', `database error: ${(err as Error).message}`, {
    retryable: true,
    cause: err,
  });
}
