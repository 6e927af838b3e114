/** Partners' PostgreSQL migrations (webhook endpoints, messages, deliveries, attempts; legacy partners), applied by the region host. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MigrationSet } from '../postgres/migrate.ts';

export const PARTNERS_MIGRATIONS: MigrationSet = {
  name: 'partners',
  dir: path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations'),
};
