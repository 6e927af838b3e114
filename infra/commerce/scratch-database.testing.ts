/**
 * A throwaway, migrated commerce database for one integration test file (see
 * infra/postgres/scratch-database.testing.ts): test orders never reach a running region's
 * relay and consumers, and no other engineer's rows are counted or listed by the tests.
 */
import {
  scratchDatabase as platformScratchDatabase,
  type ScratchDatabase,
} from '../postgres/scratch-database.testing.ts';
import { COMMERCE_MIGRATIONS } from './migrations.ts';

export type { ScratchDatabase };

/** Creates a database named after `purpose` with the platform's and commerce's migrations. */
export function scratchDatabase(purpose: string): Promise<ScratchDatabase> {
  return platformScratchDatabase(purpose, [COMMERCE_MIGRATIONS]);
}
