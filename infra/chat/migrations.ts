/** Chat's PostgreSQL migrations (rooms, members, messages, read markers), applied by the region host. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MigrationSet } from '../postgres/migrate.ts';

export const CHAT_MIGRATIONS: MigrationSet = {
  name: 'chat',
  dir: path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations'),
};
