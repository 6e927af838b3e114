/** PostgreSQL adapter (node-postgres pool). */
import pg from 'pg';
import type { Dependency } from './dependency.ts';

export interface PostgresConfig {
  readonly url: string;
  readonly maxConnections?: number;
  readonly applicationName?: string;
  /** How long to wait for a connection (5 s by default). */
  readonly connectionTimeoutMs?: number;
  /** Settings of every session (`-c name=value` at connect), e.g. `{ lock_timeout: '5000' }`. */
  readonly sessionSettings?: Readonly<Record<string, string>>;
}

export interface Postgres extends Dependency {
  readonly pool: pg.Pool;
}

export function createPostgres(config: PostgresConfig): Postgres {
  const pool = new pg.Pool({
    connectionString: config.url,
    max: config.maxConnections ?? 10,
    application_name: config.applicationName ?? 'meridian',
    connectionTimeoutMillis: config.connectionTimeoutMs ?? 5000,
    ...(config.sessionSettings
      ? {
          options: Object.entries(config.sessionSettings)
            .map(([name, value]) => `-c ${name}=${value}`)
            .join(' '),
        }
      : {}),
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
