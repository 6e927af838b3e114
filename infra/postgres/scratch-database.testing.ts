/**
 * A throwaway database on a region's PostgreSQL (east by default) for one integration test file: created and
 * migrated like any other (the platform's migrations plus the sets given), dropped afterwards.
 * Rows written there never reach a running region's outbox relay, and lane locks are per
 * database, so no other relay takes its lanes.
 */
import pg from 'pg';
import { createPostgres, type Postgres } from '../adapters/postgres.ts';
import { uniqueName } from '../adapters/testing.ts';
import { type Region, resolveEndpoints } from '../config/endpoints.ts';
import { type MigrationSet, migrate } from './migrate.ts';

export interface ScratchDatabase {
  readonly postgres: Postgres;
  /** Its connection URL (for processes a test starts against it). */
  readonly url: string;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

/** Creates and migrates a database named after `purpose` (a lowercase SQL identifier) and a fresh suffix, on east's PostgreSQL unless `region` says otherwise. */
export async function scratchDatabase(
  purpose: string,
  sets: readonly MigrationSet[] = [],
  opts: { readonly region?: Region } = {},
): Promise<ScratchDatabase> {
  const { postgresUrl } = resolveEndpoints(opts.region ?? 'east', process.env);
  const database = uniqueName(`${purpose}_test`, '_');
  async function serverQuery(sql: string): Promise<void> {
    const client = new pg.Client({ connectionString: postgresUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  }
  await serverQuery(`CREATE DATABASE ${database}`);
  const url = new URL(postgresUrl);
  url.pathname = `/${database}`;
  const postgres = createPostgres({ url: url.toString(), maxConnections: 20, applicationName: `${purpose}-test` });
  try {
    await migrate(postgres.pool, sets);
  } catch (err) {
    await postgres.close();
    await serverQuery(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    throw err;
  }
  return {
    postgres,
    url: url.toString(),
    async drop() {
      try {
        await postgres.close();
      } finally {
        await serverQuery(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      }
    },
  };
}
