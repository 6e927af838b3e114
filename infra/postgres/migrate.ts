/**
 * Brings a database up to date with sets of SQL migrations: the platform's own (the outbox
 * every domain writes to, processed-event marks) and one set per domain module, each a folder
 * of `NNNN_name.sql` files applied in name order, each file in its own transaction. Names are
 * recorded as `<set>/<file>`, so two domains may both have a `0001_…`. A cluster-wide advisory
 * lock makes concurrent starts safe; a changed file that was already applied is an error,
 * never silently re-run.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';

/** One folder of migrations under a name (`platform`, or a domain's name). */
export interface MigrationSet {
  readonly name: string;
  readonly dir: string;
}

export interface Migration {
  /** `<set>/<file>`, as recorded in schema_migrations. */
  readonly name: string;
  readonly sql: string;
  readonly checksum: string;
}

/** The platform's migrations: tables every domain shares (outbox, relay lanes, processed events). */
export const PLATFORM_MIGRATIONS: MigrationSet = {
  name: 'platform',
  dir: path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations'),
};

const LOCK_KEY = 4_100_001;
const SET_NAME = /^[a-z][a-z0-9-]{0,63}$/;

/** The migrations of the sets, in order: sets as given, files by name within a set. */
export function loadMigrations(sets: readonly MigrationSet[]): Migration[] {
  const seen = new Set<string>();
  return sets.flatMap((set) => {
    if (!SET_NAME.test(set.name)) throw new Error(`migration set name "${set.name}" must match ${SET_NAME.source}`);
    if (seen.has(set.name)) throw new Error(`migration set "${set.name}" is listed twice`);
    seen.add(set.name);
    return readdirSync(set.dir)
      .filter((f) => f.endsWith('.sql'))
      .sort()
      .map((file) => {
        const sql = readFileSync(path.join(set.dir, file), 'utf8');
        return { name: `${set.name}/${file}`, sql, checksum: createHash('sha256').update(sql).digest('hex') };
      });
  });
}

/** Applies pending migrations of the platform and the given sets; returns the names applied now. */
export async function migrate(pool: pg.Pool, sets: readonly MigrationSet[] = []): Promise<string[]> {
  const all = sets.some((s) => s.name === PLATFORM_MIGRATIONS.name) ? sets : [PLATFORM_MIGRATIONS, ...sets];
  const migrations = loadMigrations(all);
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Map(
      (await client.query<{ name: string; checksum: string }>('SELECT name, checksum FROM schema_migrations')).rows.map(
        (r) => [r.name, r.checksum],
      ),
    );
    const legacy = [...done.keys()].filter((name) => !name.includes('/'));
    if (legacy.length > 0) {
      throw new Error(
        `this database was migrated before migrations were grouped per domain (${legacy.join(', ')}); ` +
          'for the local stack run `npm run stack -- reset`',
      );
    }
    for (const m of migrations) {
      const previous = done.get(m.name);
      if (previous !== undefined) {
        if (previous !== m.checksum) {
          throw new Error(`migration ${m.name} changed after it was applied; add a new migration instead`);
        }
        continue;
      }
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)', [m.name, m.checksum]);
        await client.query('COMMIT');
        applied.push(m.name);
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${m.name} failed: ${(err as Error).message}`, { cause: err });
      }
    }
    return applied;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => {});
    client.release();
  }
}
