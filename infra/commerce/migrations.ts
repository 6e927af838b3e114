/** Commerce's PostgreSQL migrations (catalog, stock, orders, idempotency keys), applied by the region host. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MigrationSet } from '../postgres/migrate.ts';

export const COMMERCE_MIGRATIONS: MigrationSet = {
  name: 'commerce',
  dir: path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations'),
};
