import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { REGIONS, resolveEndpoints } from '../config/endpoints.ts';
import { createPostgres, type Postgres } from './postgres.ts';
import { closedPort, uniqueName } from './testing.ts';

for (const region of REGIONS) {
  describe(`postgres adapter (${region})`, () => {
    const endpoints = resolveEndpoints(region, process.env);
    let postgres: Postgres;

    before(() => {
      postgres = createPostgres({ url: endpoints.postgresUrl, applicationName: 'meridian-adapter-test' });
    });

    after(async () => {
      await postgres.close();
    });

    it('ping returns the server version', async () => {
      const version = await postgres.ping();
      assert.match(version, /^\d+(\.\d+)?\b/);
    });

    it('creates, writes, reads and drops a table', async () => {
      const table = uniqueName('adapter_test', '_');
      await postgres.pool.query(`CREATE TABLE ${table} (id int PRIMARY KEY, label text NOT NULL)`);
      try {
        const inserted = await postgres.pool.query(
          `INSERT INTO ${table} (id, label) VALUES ($1, $2), ($3, $4), ($5, $6)`,
          [2, 'beta', 1, 'alpha', 3, region],
        );
        assert.equal(inserted.rowCount, 3);

        const rows = await postgres.pool.query<{ id: number; label: string }>(
          `SELECT id, label FROM ${table} WHERE id >= $1 ORDER BY id`,
          [2],
        );
        assert.deepEqual(rows.rows, [
          { id: 2, label: 'beta' },
          { id: 3, label: region },
        ]);
      } finally {
        await postgres.pool.query(`DROP TABLE IF EXISTS ${table}`);
      }
      const gone = await postgres.pool.query<{ oid: string | null }>('SELECT to_regclass($1)::text AS oid', [table]);
      assert.equal(gone.rows[0]?.oid, null);
    });

    it('close is safe to call twice', async () => {
      const extra = createPostgres({ url: endpoints.postgresUrl });
      await extra.ping();
      await extra.close();
      await extra.close();
      assert.equal(extra.pool.ended, true);
    });
  });
}

describe('postgres adapter with the server down', () => {
  it('ping rejects when the server is unreachable', async () => {
    const down = createPostgres({ url: `postgres://meridian:meridian@127.0.0.1:${await closedPort()}/meridian` });
    try {
      await assert.rejects(down.ping(), /ECONNREFUSED/);
    } finally {
      await down.close();
    }
  });
});
