/** PostgreSQL adapter (node-postgres pool). */
import pg from 'pg';
import type { Dependency } from './dependency.ts';

export interface PostgresConfig {
  readonly url: string;
  readonly maxConnections?: number;
  readonly applicationName?: string;
}

export interface Postgres extends Dependency {
  readonly pool: pg.Pool;
}

export function createPostgres(config: PostgresConfig): Postgres {
  const pool = new pg.Pool({
    connectionString: config.url,
    max: config.maxConnections ?? 10,
    application_name: config.applicationName ?? 'meridian',
    connectionTimeoutMillis: 5000,
  });
  // An idle client that loses its server must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  let closed = false;
  return {
    name: 'postgres',
    pool,
    async ping() {
      const res = await pool.query<{ server_version: string }>('SHOW server_version');
      return res.rows[0]?.server_version ?? 'unknown';
    },
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}
