/**
 * A region role without an HTTP port of its own serves /metrics when MERIDIAN_METRICS_PORT is
 * set: the outbox relay as its own process (on a scratch database, so it meets no other rows).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../infra/adapters/free-port.ts';
import { type ScratchDatabase, scratchDatabase } from '../infra/postgres/scratch-database.testing.ts';
import { parsePromText } from '../regions/ops/prom-text.ts';
import { type RoleProcess, startRole } from './support/role-process.ts';

let scratch: ScratchDatabase;
let relay: RoleProcess | undefined;
const output: string[] = [];

before(async () => {
  scratch = await scratchDatabase('relay_metrics');
});
after(async () => {
  await relay?.kill('SIGTERM');
  await scratch?.drop();
});

describe('/metrics of a process without an HTTP port', () => {
  it('the outbox relay serves its outbox backlog on MERIDIAN_METRICS_PORT', async () => {
    const port = await freePort();
    relay = await startRole(
      'regions/outbox-relay/main.ts',
      ['east'],
      { ...process.env, MERIDIAN_EAST_POSTGRES_URL: scratch.url, MERIDIAN_METRICS_PORT: String(port) },
      output,
    );
    assert.ok(
      output.some((l) => l.includes(`metrics on http://127.0.0.1:${port}/metrics`)),
      output.join('\n'),
    );
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.equal(res.status, 200);
    const samples = parsePromText(await res.text());
    const value = (name: string) => samples.find((s) => s.name === name)?.value;
    assert.equal(value('meridian_region_outbox_backlog'), 0, 'a fresh database has nothing to publish');
    assert.equal(value('meridian_region_outbox_oldest_unpublished_seconds'), 0);
    assert.equal(samples.find((s) => s.name === 'meridian_region_info')?.labels.region, 'east');
  });

  it('refuses a port that is not one, before starting', async () => {
    const lines: string[] = [];
    await assert.rejects(
      startRole(
        'regions/outbox-relay/main.ts',
        ['east'],
        { ...process.env, MERIDIAN_EAST_POSTGRES_URL: scratch.url, MERIDIAN_METRICS_PORT: 'x' },
        lines,
      ),
      /exited 78/,
    );
    assert.ok(
      lines.some((l) => l.includes('MERIDIAN_METRICS_PORT')),
      lines.join('\n'),
    );
  });
});
