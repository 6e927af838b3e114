/** The RolloutStore contract against the real east PostgreSQL, in a scratch database of this run. */
import { after, before } from 'node:test';
import type { RolloutStore } from '../../domains/iot/ports.ts';
import { rolloutStoreContract } from '../../domains/iot/rollout-store.contract.test.ts';
import { createPostgresRolloutStore } from './rollout-store.postgres.ts';
import { type ScratchDatabase, scratchDatabase } from './scratch-database.testing.ts';

let db: ScratchDatabase;
let store: RolloutStore;

before(async () => {
  db = await scratchDatabase('rollouts');
  store = createPostgresRolloutStore(db.postgres.pool, { region: 'east', service: 'iot' });
});

after(async () => {
  await db?.drop();
});

rolloutStoreContract('postgres', () => ({
  store,
  async eventTypes(subject) {
    const res = await db.postgres.pool.query<{ type: string }>(
      'SELECT topic AS type FROM outbox WHERE aggregate_id = $1 ORDER BY seq',
      [subject],
    );
    return res.rows.map((r) => r.type);
  },
}));
