/** The DeviceRegistry contract against the real east PostgreSQL, in a scratch database of this run. */
import { after, before } from 'node:test';
import { deviceRegistryContract } from '../../domains/iot/device-registry.contract.test.ts';
import { createPostgresDeviceRegistry, type PostgresDeviceRegistry } from './device-registry.postgres.ts';
import { type ScratchDatabase, scratchDatabase } from './scratch-database.testing.ts';

let db: ScratchDatabase;
let store: PostgresDeviceRegistry;

before(async () => {
  db = await scratchDatabase('device_registry');
  store = createPostgresDeviceRegistry(db.postgres.pool, { region: 'east', service: 'iot' });
});

after(async () => {
  await db?.drop();
});

deviceRegistryContract('postgres', () => ({
  registry: store,
  activity: store,
  replica: store,
  async eventTypes(mqttId) {
    const res = await db.postgres.pool.query<{ type: string }>(
      'SELECT topic AS type FROM outbox WHERE aggregate_id = $1 ORDER BY seq',
      [mqttId],
    );
    return res.rows.map((r) => r.type);
  },
  hashOf: (tenant, id) => store.credentialHash(tenant, id),
}));
