/** The TelemetryWindows contract against the real east PostgreSQL, in a scratch database of this run. */
import { after, before } from 'node:test';
import type { TelemetryWindows } from '../../domains/iot/ports.ts';
import { telemetryWindowsContract } from '../../domains/iot/telemetry-windows.contract.test.ts';
import { type ScratchDatabase, scratchDatabase } from './scratch-database.testing.ts';
import { createPostgresTelemetryWindows } from './telemetry-windows.postgres.ts';

let db: ScratchDatabase;
let store: TelemetryWindows;

before(async () => {
  db = await scratchDatabase('telemetry_windows');
  store = createPostgresTelemetryWindows(db.postgres.pool);
});

after(async () => {
  await db?.drop();
});

telemetryWindowsContract('postgres', () => store);
