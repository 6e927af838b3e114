/**
 * Document locks against the real east PostgreSQL. Two lock sets stand for two processes of a
 * region (each has its own sessions); keys are this run's own.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { resolveEndpoints } from '../config/endpoints.ts';
import { createDocumentLocks, DOCUMENT_LOCK_NAMESPACE, type DocumentLocksDependency } from './document-locks.ts';
import { uniqueName } from './testing.ts';

const { postgresUrl } = resolveEndpoints('east', process.env);

describe('document locks (PostgreSQL advisory locks)', () => {
  let one: DocumentLocksDependency;
  let other: DocumentLocksDependency;
  let admin: pg.Client;

  before(async () => {
    one = createDocumentLocks({ url: postgresUrl, applicationName: 'meridian-locks-test-one', lockTimeoutMs: 800 });
    other = createDocumentLocks({ url: postgresUrl, applicationName: 'meridian-locks-test-other', lockTimeoutMs: 800 });
    admin = new pg.Client({ connectionString: postgresUrl });
    await admin.connect();
  });
  after(async () => {
    await one.close();
    await other.close();
    await one.close();
    await admin.end();
  });

  /** This file's sessions holding a document lock right now, by application name. */
  async function holders(): Promise<string[]> {
    const { rows } = await admin.query<{ app: string }>(
      `SELECT a.application_name AS app FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.classid = $1::int4::oid AND l.objsubid = 2 AND l.granted
          AND a.application_name LIKE 'meridian-locks-test-%'`,
      [DOCUMENT_LOCK_NAMESPACE],
    );
    return rows.map((r) => r.app).sort();
  }

  /** `one` holds `key` until `release()`; resolves once PostgreSQL shows it held. */
  async function heldByOne(key: string): Promise<{ release: () => void; holding: Promise<void> }> {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const holding = one.withLock(key, () => gate);
    while (!(await holders()).includes('meridian-locks-test-one')) await sleep(10);
    return { release, holding };
  }

  it('one holder at a time across processes, and in turn within one', async () => {
    const key = uniqueName('doc');
    let inside = 0;
    let most = 0;
    const order: string[] = [];
    const hold = (locks: DocumentLocksDependency, name: string) =>
      locks.withLock(key, async () => {
        inside++;
        most = Math.max(most, inside);
        await sleep(15);
        order.push(name);
        inside--;
        return name;
      });
    const results = await Promise.all([
      ...Array.from({ length: 5 }, (_, i) => hold(one, `one-${i}`)),
      ...Array.from({ length: 5 }, (_, i) => hold(other, `other-${i}`)),
    ]);
    assert.equal(most, 1, 'never two holders at once');
    assert.equal(order.length, 10);
    assert.deepEqual(results, [0, 1, 2, 3, 4].map((i) => `one-${i}`).concat([0, 1, 2, 3, 4].map((i) => `other-${i}`)));
    // Within one process, callers run in the order they asked.
    assert.deepEqual(
      order.filter((n) => n.startsWith('one-')),
      [0, 1, 2, 3, 4].map((i) => `one-${i}`),
    );
    assert.deepEqual(await holders(), [], 'every lock released');
  });

  it('different documents do not wait for each other', async () => {
    const started: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const a = one.withLock(uniqueName('doc-a'), async () => {
      started.push('a');
      await gate;
    });
    const b = other.withLock(uniqueName('doc-b'), async () => {
      started.push('b');
    });
    await b; // would never settle if b waited for a, which holds until released below
    assert.ok(started.includes('b'));
    release();
    await a;
  });

  it('a writer that waits longer than the timeout fails clearly and runs nothing', async () => {
    const key = uniqueName('doc');
    const { release, holding } = await heldByOne(key);
    let ran = false;
    await assert.rejects(
      other.withLock(key, async () => {
        ran = true;
      }),
      new RegExp(`document ${key} stayed locked for more than 800 ms`),
    );
    assert.equal(ran, false);
    release();
    await holding;
    assert.equal(await other.withLock(key, async () => 'free again'), 'free again');
  });

  it('a holder whose session dies releases the lock, and its dead connection is not reused', async () => {
    const key = uniqueName('doc');
    const { release, holding } = await heldByOne(key);
    await admin.query(
      `SELECT pg_terminate_backend(l.pid) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.classid = $1::int4::oid AND a.application_name = 'meridian-locks-test-one'`,
      [DOCUMENT_LOCK_NAMESPACE],
    );
    assert.equal(await other.withLock(key, async () => 'taken over'), 'taken over');
    release();
    // The dead session could not unlock; it is discarded rather than returned to the pool.
    await holding;
    assert.equal(await one.withLock(key, async () => 'still usable'), 'still usable');
  });

  it('a failing work releases the lock and rejects with its error', async () => {
    const key = uniqueName('doc');
    await assert.rejects(
      one.withLock(key, async () => {
        throw new Error('work failed');
      }),
      /work failed/,
    );
    assert.equal(await other.withLock(key, async () => 'next'), 'next');
    assert.deepEqual(await holders(), []);
  });
});
