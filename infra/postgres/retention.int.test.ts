/**
 * Retention of processed marks and published outbox rows, on a scratch database of east's real
 * PostgreSQL (migrated as a region's, so with migration 0003's indexes).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ConfigError } from '../config/endpoints.ts';
import { createRetention, DAY_MS, retentionSettings } from './retention.ts';
import { type ScratchDatabase, scratchDatabase } from './scratch-database.testing.ts';

describe('retention of processed marks and published outbox rows (real PostgreSQL)', () => {
  let db: ScratchDatabase;
  before(async () => {
    db = await scratchDatabase('retention');
  });
  after(async () => {
    await db?.drop();
  });
  const query = (sql: string, params: unknown[] = []) => db.postgres.pool.query(sql, params);

  /** A processed mark `ageDays` old; returns its event id. */
  async function mark(consumer: string, ageDays: number): Promise<string> {
    const id = randomUUID();
    await query(
      `INSERT INTO processed_events (consumer, event_id, processed_at) VALUES ($1, $2, now() - make_interval(hours => $3))`,
      [consumer, id, Math.round(ageDays * 24)],
    );
    return id;
  }
  /** An outbox row created `ageHours` ago, published `publishedHoursAgo` ago (null: unpublished). */
  async function outboxRow(ageHours: number, publishedHoursAgo: number | null): Promise<string> {
    const id = randomUUID();
    await query(
      `INSERT INTO outbox (event_id, topic, aggregate_id, lane, envelope, created_at, published_at)
       VALUES ($1, 't.v1', 'a', 0, '{}'::jsonb, now() - make_interval(hours => $2),
               CASE WHEN $3::int IS NULL THEN NULL ELSE now() - make_interval(hours => $3::int) END)`,
      [id, ageHours, publishedHoursAgo],
    );
    return id;
  }
  const marks = async () =>
    new Set((await query('SELECT event_id FROM processed_events')).rows.map((r) => r.event_id as string));
  const outbox = async () =>
    new Set((await query('SELECT event_id FROM outbox')).rows.map((r) => r.event_id as string));

  it('deletes marks past their time and published rows past theirs, batch after batch; keeps the rest and every unpublished row', async () => {
    await query('TRUNCATE processed_events, outbox');
    // The same event id under two consumers: each mark is its own row, judged by its own age.
    const shared = randomUUID();
    await query(
      `INSERT INTO processed_events (consumer, event_id, processed_at)
       VALUES ('c1', $1, now() - interval '9 days'), ('c2', $1, now() - interval '1 day')`,
      [shared],
    );
    const oldMarks = await Promise.all(Array.from({ length: 7 }, (_, i) => mark(`c${i % 2}`, 8.5 + i)));
    const youngMarks = await Promise.all([mark('c1', 7.9), mark('c1', 0), mark('c2', 3)]);
    const oldPublished = await Promise.all(Array.from({ length: 5 }, (_, i) => outboxRow(30 + i, 25 + i)));
    const kept = await Promise.all([
      outboxRow(48, null), // old but never published: the relay still owes it to Kafka
      outboxRow(48, 2), // created long ago, published recently
      outboxRow(1, 1),
    ]);

    // Batches of 2: several statements per table, every one of them needed.
    const retention = createRetention(db.postgres.pool, {
      processedMarksMs: 8 * DAY_MS,
      publishedOutboxMs: DAY_MS,
      batch: 2,
    });
    const pruned = await retention.runOnce();
    assert.deepEqual(pruned, { processedMarks: 8, outboxRows: 5 });

    const leftMarks = await marks();
    for (const id of oldMarks) assert.ok(!leftMarks.has(id), 'a mark older than 8 days is gone');
    for (const id of youngMarks) assert.ok(leftMarks.has(id), 'a younger mark stays');
    const byConsumer = await query('SELECT consumer FROM processed_events WHERE event_id = $1', [shared]);
    assert.deepEqual(
      byConsumer.rows.map((r) => r.consumer),
      ['c2'],
    );
    const leftOutbox = await outbox();
    for (const id of oldPublished) assert.ok(!leftOutbox.has(id), 'a row published over a day ago is gone');
    for (const id of kept) assert.ok(leftOutbox.has(id));

    assert.deepEqual(await retention.runOnce(), { processedMarks: 0, outboxRows: 0 }, 'a second run finds nothing');
  });

  it('a pruned mark no longer dedups (why marks outlive Kafka retention): the consumer inserts it again', async () => {
    await query('TRUNCATE processed_events');
    const id = await mark('c1', 9);
    await createRetention(db.postgres.pool, { processedMarksMs: 8 * DAY_MS, publishedOutboxMs: DAY_MS }).runOnce();
    const again = await query(
      'INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
      ['c1', id],
    );
    assert.equal(again.rowCount, 1);
  });

  it('started, it prunes at once and again every interval, and stops cleanly', async () => {
    await query('TRUNCATE processed_events');
    const retention = createRetention(db.postgres.pool, {
      processedMarksMs: 8 * DAY_MS,
      publishedOutboxMs: DAY_MS,
      intervalMs: 50,
    });
    await mark('c1', 10);
    retention.start();
    try {
      for (let i = 0; i < 100 && (await marks()).size > 0; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal((await marks()).size, 0, 'pruned at start');
      await mark('c1', 10);
      for (let i = 0; i < 100 && (await marks()).size > 0; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal((await marks()).size, 0, 'pruned again at the next interval');
    } finally {
      await retention.stop();
    }
    await mark('c1', 10);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await marks()).size, 1, 'nothing runs once stopped');
  });

  it("the prune's search can use migration 0003's BRIN index instead of reading the whole table", async () => {
    // One connection for the SET and the plans (a pool may hand each query another).
    const client = await db.postgres.pool.connect();
    try {
      await client.query('SET enable_seqscan = off');
      for (const [table, column, index] of [
        ['processed_events', 'processed_at', 'processed_events_processed_at'],
        ['outbox', 'created_at', 'outbox_created_at'],
      ]) {
        const plan = await client.query(
          `EXPLAIN (FORMAT JSON) SELECT ctid FROM ${table} WHERE ${column} < now() - make_interval(secs => $1 / 1000.0)`,
          [DAY_MS],
        );
        assert.match(JSON.stringify(plan.rows[0]), new RegExp(`"Index Name":"${index}"`), table);
      }
    } finally {
      await client.query('RESET enable_seqscan').catch(() => {});
      client.release();
    }
  });
});

describe('retention settings', () => {
  it('defaults: marks 8 days, published outbox rows 24 hours', () => {
    assert.deepEqual(retentionSettings({}), { processedMarksMs: 8 * DAY_MS, publishedOutboxMs: DAY_MS });
  });

  it('reads whole days and hours', () => {
    assert.deepEqual(
      retentionSettings({ PROCESSED_MARKS_RETENTION_DAYS: '30', PUBLISHED_OUTBOX_RETENTION_HOURS: '1' }),
      { processedMarksMs: 30 * DAY_MS, publishedOutboxMs: 3_600_000 },
    );
  });

  it('refuses marks kept less than Kafka keeps records, and anything not a whole number', () => {
    for (const [name, raw] of [
      ['PROCESSED_MARKS_RETENTION_DAYS', '6'],
      ['PROCESSED_MARKS_RETENTION_DAYS', '7.5'],
      ['PROCESSED_MARKS_RETENTION_DAYS', '-8'],
      ['PUBLISHED_OUTBOX_RETENTION_HOURS', '0'],
      ['PUBLISHED_OUTBOX_RETENTION_HOURS', '1h'],
    ] as const) {
      assert.throws(() => retentionSettings({ [name]: raw }), ConfigError, `${name}=${raw}`);
    }
  });
});
