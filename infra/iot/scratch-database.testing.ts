/**
 * A throwaway, migrated IoT database for one integration test file (see
 * infra/postgres/scratch-database.testing.ts): no running region relays its outbox or lists its devices.
 */
import {
  scratchDatabase as platformScratchDatabase,
  type ScratchDatabase,
} from '../postgres/scratch-database.testing.ts';
import { IOT_MIGRATIONS } from './migrations.ts';

export type { ScratchDatabase };

/** Creates a database named after `purpose` with the platform's and IoT's migrations. */
export function scratchDatabase(purpose: string): Promise<ScratchDatabase> {
  return platformScratchDatabase(purpose, [IOT_MIGRATIONS]);
}
