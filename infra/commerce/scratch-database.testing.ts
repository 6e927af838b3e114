/**
 * A throwaway database on the east PostgreSQL for one integration test file: created and
 * migrated like any other, dropped afterwards. Rows written there never reach the
 * region's outbox relay (whose consumers would act on test orders), and no other
 * engineer's rows are counted or listed by the tests.
 */
import pg from 'pg';
import { createPostgres, type Postgres } from '../adapters/postgres.ts';
import { uniqueName } from '../adapters/testing.ts';
import { resolveEndpoints } from '../config/endpoints.ts';
import { migrate } from '../postgres/migrate.ts';
import { COMMERCE_MIGRATIONS } from './migrations.ts';

export interface ScratchDatabase {
  readonly postgres: Postgres;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

/** Creates and migrates a database named after `purpose` (a lowercase SQL identifier) and a fresh suffix. */
export async function scratchDatabase(purpose: string): Promise<ScratchDatabase> {
  const { postgresUrl } = resolveEndpoints('east', process.env);
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
    await migrate(postgres.pool, [COMMERCE_MIGRATIONS]);
  } catch (err) {
    await postgres.close();
    await serverQuery(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    throw err;
  }
  return {
    postgres,
    async drop() {
      try {
        await postgres.close();
      } finally {
        await serverQuery(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      }
    },
  };
}
