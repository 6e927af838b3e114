/**
 * RolloutStore over PostgreSQL. A dispatcher step locks the rollout row (SKIP LOCKED: another
 * dispatcher's step is skipped, not waited for) and its job rows, sends, then writes the
 * changes and their outbox rows in the same transaction. A device report locks its job row,
 * so it waits for a step in progress and never overwrites one (nor is overwritten).
 */
import type pg from 'pg';
import type { RolloutStore } from '../../domains/iot/ports.ts';
import type { Job, JobStatus, Rollout, RolloutStatus } from '../../domains/iot/rollout.ts';
import type { DomainEvent } from '../../domains/shared/events.ts';
import { inTransaction, translate } from '../commerce/pg.ts';
import { appendToOutbox } from '../events/outbox.ts';
import { currentTraceparent } from '../telemetry/context.ts';

interface RolloutRow {
  id: string;
  tenant: string;
  version: string;
  url: string;
  checksum: string;
  max_concurrent: number;
  failure_threshold_percent: number;
  min_executed: number;
  job_timeout_ms: string;
  status: RolloutStatus;
  reason: string | null;
  created_at: Date;
  updated_at: Date;
}

interface JobRow {
  id: string;
  rollout_id: string;
  tenant: string;
  device_id: string;
  position: number;
  status: JobStatus;
  progress: number;
  reason: string | null;
  sent_at: Date | null;
  updated_at: Date;
  version: number;
}

const ROLLOUT_COLUMNS =
  'id, tenant, version, url, checksum, max_concurrent, failure_threshold_percent, min_executed, job_timeout_ms, ' +
  'status, reason, created_at, updated_at';
const JOB_COLUMNS =
  'id, rollout_id, tenant, device_id, position, status, progress, reason, sent_at, updated_at, version';

function toRollout(r: RolloutRow): Rollout {
  return {
    id: r.id,
    tenant: r.tenant,
    version: r.version,
    url: r.url,
    checksum: r.checksum,
    policy: {
      maxConcurrent: r.max_concurrent,
      failureThresholdPercent: r.failure_threshold_percent,
      minExecuted: r.min_executed,
      jobTimeoutMs: Number(r.job_timeout_ms),
    },
    status: r.status,
    reason: r.reason,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

function toJob(r: JobRow): Job {
  return {
    id: r.id,
    rolloutId: r.rollout_id,
    tenant: r.tenant,
    deviceId: r.device_id,
    position: r.position,
    status: r.status,
    progress: r.progress,
    reason: r.reason,
    sentAt: r.sent_at ? r.sent_at.toISOString() : null,
    updatedAt: r.updated_at.toISOString(),
    version: r.version,
  };
}

async function saveJob(client: pg.ClientBase, j: Job): Promise<void> {
  await client.query(
    'UPDATE iot_jobs SET status = $2, progress = $3, reason = $4, sent_at = $5, updated_at = $6, version = $7 WHERE id = $1',
    [j.id, j.status, j.progress, j.reason, j.sentAt, j.updatedAt, j.version],
  );
}

export function createPostgresRolloutStore(pool: pg.Pool, opts: { region: string; service: string }): RolloutStore {
  const ctx = () => ({ region: opts.region, service: opts.service, traceparent: currentTraceparent() });
  const write = (client: pg.ClientBase, events: readonly DomainEvent[]) => appendToOutbox(client, events, ctx());
  const tx = <T>(work: (client: pg.PoolClient) => Promise<T>) => inTransaction(pool, work, { store: 'rollouts' });
  const jobsOf = async (db: pg.ClientBase | pg.Pool, id: string, lock = '') =>
    (
      await db.query<JobRow>(`SELECT ${JOB_COLUMNS} FROM iot_jobs WHERE rollout_id = $1 ORDER BY position ${lock}`, [
        id,
      ])
    ).rows.map(toJob);

  return {
    create(rollout, jobs, events) {
      return tx(async (client) => {
        const p = rollout.policy;
        await client.query(
          `INSERT INTO iot_rollouts (${ROLLOUT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
          [
            rollout.id,
            rollout.tenant,
            rollout.version,
            rollout.url,
            rollout.checksum,
            p.maxConcurrent,
            p.failureThresholdPercent,
            p.minExecuted,
            p.jobTimeoutMs,
            rollout.status,
            rollout.reason,
            rollout.createdAt,
            rollout.updatedAt,
          ],
        );
        await client.query(
          `INSERT INTO iot_jobs (${JOB_COLUMNS})
           SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::int[], $6::text[], $7::int[],
             $8::text[], $9::timestamptz[], $10::timestamptz[], $11::int[])`,
          [
            jobs.map((j) => j.id),
            jobs.map((j) => j.rolloutId),
            jobs.map((j) => j.tenant),
            jobs.map((j) => j.deviceId),
            jobs.map((j) => j.position),
            jobs.map((j) => j.status),
            jobs.map((j) => j.progress),
            jobs.map((j) => j.reason),
            jobs.map((j) => j.sentAt),
            jobs.map((j) => j.updatedAt),
            jobs.map((j) => j.version),
          ],
        );
        await write(client, events);
      });
    },

    async get(tenant, id) {
      try {
        const res = await pool.query<RolloutRow>(
          `SELECT ${ROLLOUT_COLUMNS} FROM iot_rollouts WHERE id = $1 AND tenant = $2`,
          [id, tenant],
        );
        const row = res.rows[0];
        return row && { rollout: toRollout(row), jobs: await jobsOf(pool, id) };
      } catch (err) {
        throw translate(err, 'rollouts');
      }
    },

    async jobsOfDevice(tenant, deviceId, first) {
      try {
        const res = await pool.query<JobRow>(
          `SELECT ${JOB_COLUMNS} FROM iot_jobs WHERE tenant = $1 AND device_id = $2 ORDER BY updated_at DESC, id LIMIT $3`,
          [tenant, deviceId, first],
        );
        return res.rows.map(toJob);
      } catch (err) {
        throw translate(err, 'rollouts');
      }
    },

    async active(limit) {
      try {
        const res = await pool.query<{ id: string }>(
          `SELECT id FROM iot_rollouts WHERE status = 'IN_PROGRESS' ORDER BY created_at LIMIT $1`,
          [limit],
        );
        return res.rows.map((r) => r.id);
      } catch (err) {
        throw translate(err, 'rollouts');
      }
    },

    step(id, plan, send, commit) {
      return tx(async (client) => {
        const res = await client.query<RolloutRow>(
          `SELECT ${ROLLOUT_COLUMNS} FROM iot_rollouts WHERE id = $1 FOR UPDATE SKIP LOCKED`,
          [id],
        );
        const row = res.rows[0];
        if (!row) return false;
        const rollout = toRollout(row);
        const jobs = await jobsOf(client, id, 'FOR UPDATE');
        const p = plan(rollout, jobs);
        const sent: Job[] = [];
        for (const job of p.send) {
          try {
            await send(rollout, job);
            sent.push(job);
          } catch {
            // Stays QUEUED: the next step sends it again.
          }
        }
        const c = commit(rollout, jobs, p, sent);
        const r = c.value.rollout;
        if (r.status !== rollout.status || r.reason !== rollout.reason) {
          await client.query('UPDATE iot_rollouts SET status = $2, reason = $3, updated_at = $4 WHERE id = $1', [
            id,
            r.status,
            r.reason,
            r.updatedAt,
          ]);
        }
        for (const j of c.value.jobs) await saveJob(client, j);
        await write(client, c.events);
        return true;
      });
    },

    reportOnce(consumer, eventId, tenant, deviceId, jobId, change) {
      return tx(async (client) => {
        const res = await client.query<JobRow>(
          `SELECT ${JOB_COLUMNS} FROM iot_jobs WHERE id = $1 AND tenant = $2 AND device_id = $3 FOR UPDATE`,
          [jobId, tenant, deviceId],
        );
        const row = res.rows[0];
        if (!row) return undefined;
        const mark = await client.query(
          'INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
          [consumer, eventId],
        );
        if (mark.rowCount === 0) return undefined;
        const r = await client.query<RolloutRow>(`SELECT ${ROLLOUT_COLUMNS} FROM iot_rollouts WHERE id = $1`, [
          row.rollout_id,
        ]);
        const c = change(toJob(row), toRollout(r.rows[0] as RolloutRow));
        if (!c) return undefined;
        await saveJob(client, c.value);
        await write(client, c.events);
        return c.value;
      });
    },
  };
}
