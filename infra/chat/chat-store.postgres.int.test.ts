/** The ChatStore contract against PostgreSQL, on a scratch database of its own (its outbox rows reach no relay). */
import { after, before } from 'node:test';
import { chatStoreContract } from '../../domains/chat/chat-store.contract.test.ts';
import { type ScratchDatabase, scratchDatabase } from '../postgres/scratch-database.testing.ts';
import { createPostgresChatStore } from './chat-store.postgres.ts';
import { CHAT_MIGRATIONS } from './migrations.ts';

let db: ScratchDatabase;
before(async () => {
  db = await scratchDatabase('chat_store', [CHAT_MIGRATIONS]);
});
after(() => db?.drop());

chatStoreContract('postgres', () => ({
  store: createPostgresChatStore(db.postgres.pool, { region: 'east' }),
  async eventTypes(roomId) {
    const rows = await db.postgres.pool.query<{ topic: string }>(
      'SELECT topic FROM outbox WHERE aggregate_id = $1 ORDER BY seq',
      [roomId],
    );
    return rows.rows.map((r) => r.topic);
  },
}));
