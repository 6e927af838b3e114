/** ProductCatalog over PostgreSQL. */
import type pg from 'pg';
import type { Product } from '../../domains/commerce/catalog.ts';
import type { ProductCatalog } from '../../domains/commerce/ports.ts';
import { translate } from './pg.ts';

interface ProductRow {
  id: string;
  sku: string;
  name: string;
  description: string;
  price_cents: number;
  currency: string;
  stock: number;
}

const COLUMNS = 'id, sku, name, description, price_cents, currency, stock';

export function toProduct(r: ProductRow): Product {
  return {
    id: r.id,
    sku: r.sku,
    name: r.name,
    description: r.description,
    priceCents: r.price_cents,
    currency: r.currency,
    stock: r.stock,
  };
}

export function createPostgresCatalog(pool: pg.Pool): ProductCatalog {
  const query = async (sql: string, params: unknown[]) => {
    try {
      return (await pool.query<ProductRow>(sql, params)).rows.map(toProduct);
    } catch (err) {
      throw translate(err);
    }
  };
  return {
    async getProduct(id) {
      return (await query(`SELECT ${COLUMNS} FROM products WHERE id = $1`, [id]))[0];
    },
    async countProducts() {
      try {
        return (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM products')).rows[0]?.n ?? 0;
      } catch (err) {
        throw translate(err);
      }
    },
    listProducts(first, after) {
      return after
        ? query(`SELECT ${COLUMNS} FROM products WHERE id > $1 ORDER BY id LIMIT $2`, [after, first])
        : query(`SELECT ${COLUMNS} FROM products ORDER BY id LIMIT $1`, [first]);
    },
  };
}
