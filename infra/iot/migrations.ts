/** IoT's PostgreSQL migrations (device registry, telemetry windows, rollouts), applied by the region host. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MigrationSet } from '../postgres/migrate.ts';

export const IOT_MIGRATIONS: MigrationSet = {
  name: 'iot',
  dir: path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations'),
};
