/** Fixtures for inventory tests against the real PostgreSQL (adapter and gRPC service). */
import { randomUUID } from 'node:crypto';
import type { Postgres } from '../adapters/postgres.ts';
import type { Envelope } from '../events/envelope.ts';

export interface ReservationRow {
  readonly product_id: string;
  readonly quantity: number;
  readonly status: string;
  readonly release_reason: string | null;
}

/** Test products and orders of one suite, removed with their reservations and outbox rows afterwards. */
export function inventoryFixtures(pool: () => Postgres['pool']) {
  const productIds: string[] = [];
  const orderIds: string[] = [];
  return {
    async product(stock: number, id = `p-test-${randomUUID().replaceAll('-', '').slice(0, 20)}`): Promise<string> {
      await pool().query('INSERT INTO products (id, sku, name, price_cents, stock) VALUES ($1, $1, $2, 100, $3)', [
        id,
        'inventory test product',
        stock,
      ]);
      productIds.push(id);
      return id;
    },
    /** Products holding `stocks` units, their ids in ascending order (as the Inventory contract wants them). */
    async products(stocks: readonly number[]): Promise<string[]> {
      const base = `p-test-${randomUUID().replaceAll('-', '').slice(0, 20)}`;
      const ids: string[] = [];
      for (const [i, stock] of stocks.entries())
        ids.push(await this.product(stock, `${base}-${String(i).padStart(2, '0')}`));
      return ids;
    },
    order(): string {
      const id = randomUUID();
      orderIds.push(id);
      return id;
    },
    async stockOf(productId: string): Promise<number | undefined> {
      const res = await pool().query<{ stock: number }>('SELECT stock FROM products WHERE id = $1', [productId]);
      return res.rows[0]?.stock;
    },
    async reservations(orderId: string): Promise<ReservationRow[]> {
      const res = await pool().query<ReservationRow>(
        `SELECT product_id, quantity, status, release_reason FROM inventory_reservations
         WHERE order_id = $1 ORDER BY product_id COLLATE "C"`,
        [orderId],
      );
      return res.rows;
    },
    async outbox(orderId: string): Promise<Envelope[]> {
      const res = await pool().query<{ envelope: Envelope }>(
        'SELECT envelope FROM outbox WHERE aggregate_id = $1 ORDER BY seq',
        [orderId],
      );
      return res.rows.map((r) => r.envelope);
    },
    async cleanup(): Promise<void> {
      await pool().query('DELETE FROM outbox WHERE aggregate_id = ANY($1::text[])', [[...orderIds, ...productIds]]);
      await pool().query('DELETE FROM inventory_adjustments WHERE product_id = ANY($1::text[])', [productIds]);
      await pool().query(
        'DELETE FROM inventory_reservations WHERE order_id = ANY($1::uuid[]) OR product_id = ANY($2::text[])',
        [orderIds, productIds],
      );
      await pool().query('DELETE FROM products WHERE id = ANY($1::text[])', [productIds]);
    },
  };
}
