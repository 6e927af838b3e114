import { webhookStoresContract } from '../../domains/partners/webhook-stores.contract.test.ts';
import { type ScratchDatabase, scratchDatabase } from '../postgres/scratch-database.testing.ts';
import { createPostgresDeliveryStore } from './delivery-store.postgres.ts';
import { createPostgresEndpointStore } from './endpoint-store.postgres.ts';
import { PARTNERS_MIGRATIONS } from './migrations.ts';

webhookStoresContract('postgres', async () => {
  const db: ScratchDatabase = await scratchDatabase('partners_stores', [PARTNERS_MIGRATIONS]);
  const source = { region: 'east' as const, service: 'partners' };
  return {
    endpoints: createPostgresEndpointStore(db.postgres.pool, source),
    deliveries: createPostgresDeliveryStore(db.postgres.pool, source),
    async eventTypes(subject) {
      const res = await db.postgres.pool.query<{ topic: string }>(
        'SELECT topic FROM outbox WHERE aggregate_id = $1 ORDER BY seq',
        [subject],
      );
      return res.rows.map((r) => r.topic);
    },
    close: () => db.drop(),
  };
});
