/**
 * The ProductCatalog contract against the real east PostgreSQL. Each test states the whole
 * catalog, so it runs in a scratch database of this run (never the region's catalog).
 */
import { after, before } from 'node:test';
import { catalogContract } from '../../domains/commerce/catalog.contract.test.ts';
import { createPostgresCatalog } from './catalog.postgres.ts';
import { type ScratchDatabase, scratchDatabase } from './scratch-database.testing.ts';

let db: ScratchDatabase;

before(async () => {
  db = await scratchDatabase('catalog');
});

after(async () => {
  await db?.drop();
});

catalogContract('postgres', async (products) => {
  const { pool } = db.postgres;
  await pool.query('DELETE FROM products');
  for (const p of products) {
    await pool.query(
      `INSERT INTO products (id, sku, name, description, price_cents, currency, stock)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [p.id, p.sku, p.name, p.description, p.priceCents, p.currency, p.stock],
    );
  }
  return createPostgresCatalog(pool);
});
