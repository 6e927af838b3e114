/** The OrderStore contract against the real east PostgreSQL, in a scratch database of this run. */
import { after, before } from 'node:test';
import { orderStoreContract } from '../../domains/commerce/order-store.contract.test.ts';
import type { OrderStore } from '../../domains/commerce/ports.ts';
import { createPostgresOrderStore } from './order-store.postgres.ts';
import { type ScratchDatabase, scratchDatabase } from './scratch-database.testing.ts';

let db: ScratchDatabase;
let store: OrderStore;

before(async () => {
  db = await scratchDatabase('order_store');
  store = createPostgresOrderStore(db.postgres.pool, { region: 'east', service: 'commerce' });
});

after(async () => {
  await db?.drop();
});

orderStoreContract('postgres', () => ({
  store,
  async eventTypes(orderId) {
    const res = await db.postgres.pool.query<{ type: string }>(
      'SELECT topic AS type FROM outbox WHERE aggregate_id = $1 ORDER BY seq',
      [orderId],
    );
    return res.rows.map((r) => r.type);
  },
}));
