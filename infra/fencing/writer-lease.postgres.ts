/**
 * Writer leases in the region's PostgreSQL (platform migration 0002): who may write a
 * single-writer aggregate, under which epoch. Epochs only grow: `propose` adopts a lease only
 * when its epoch is higher than the one held (or equal with the same writer), so leases from
 * any number of regions and edges converge on the highest.
 */
import type pg from 'pg';
import { DomainError } from '../../domains/shared/errors.ts';

/** Who may write an aggregate, under which epoch. */
export interface WriterLease {
  readonly aggregate: string;
  readonly writer: string;
  readonly epoch: number;
  readonly movedAt: string;
}

interface LeaseRow {
  aggregate: string;
  writer: string;
  epoch: string;
  moved_at: Date;
}

const toLease = (r: LeaseRow): WriterLease => ({
  aggregate: r.aggregate,
  writer: r.writer,
  epoch: Number(r.epoch),
  movedAt: r.moved_at.toISOString(),
});

/**
 * The lease of `aggregate` (its row locked FOR SHARE when asked, inside a transaction), created
 * at epoch 0 for `initialWriter` when there is none yet. Leases are never deleted: once there,
 * one round trip.
 */
export async function readLease(
  db: pg.Pool | pg.ClientBase,
  aggregate: string,
  initialWriter: string,
  lock: '' | 'FOR SHARE' = '',
): Promise<WriterLease> {
  const select = () =>
    db.query<LeaseRow>(`SELECT aggregate, writer, epoch, moved_at FROM writer_leases WHERE aggregate = $1 ${lock}`, [
      aggregate,
    ]);
  let { rows } = await select();
  if (rows.length === 0) {
    await db.query(
      'INSERT INTO writer_leases (aggregate, writer, epoch) VALUES ($1, $2, 0) ON CONFLICT (aggregate) DO NOTHING',
      [aggregate, initialWriter],
    );
    ({ rows } = await select());
  }
  return toLease(rows[0] as LeaseRow);
}

/** Adopts `writer` at `epoch` if that epoch is newer; returns the lease now held. */
export async function proposeLease(
  db: pg.Pool,
  aggregate: string,
  writer: string,
  epoch: number,
): Promise<WriterLease> {
  if (!Number.isSafeInteger(epoch) || epoch < 0)
    throw new DomainError('BAD_USER_INPUT', 'epoch must be a whole number ≥ 0');
  const { rows } = await db.query<LeaseRow>(
    `INSERT INTO writer_leases (aggregate, writer, epoch) VALUES ($1, $2, $3)
     ON CONFLICT (aggregate) DO UPDATE SET writer = EXCLUDED.writer, epoch = EXCLUDED.epoch, moved_at = now()
       WHERE writer_leases.epoch < EXCLUDED.epoch
     RETURNING aggregate, writer, epoch, moved_at`,
    [aggregate, writer, epoch],
  );
  if (rows[0]) return toLease(rows[0]);
  const held = await readLease(db, aggregate, writer);
  if (held.epoch === epoch && held.writer !== writer) {
    throw new DomainError('WRITER_CONFLICT', `epoch ${epoch} of ${aggregate} already belongs to ${held.writer}`, {
      details: { writer: held.writer, epoch: held.epoch },
    });
  }
  return held;
}

/**
 * Inside a write's transaction: fails with WRITER_MOVED unless `region` holds the lease, and
 * holds the lease row FOR SHARE until commit, so a move waits for this write to finish.
 */
export async function assertWriterInTransaction(
  client: pg.ClientBase,
  aggregate: string,
  region: string,
  initialWriter: string,
): Promise<WriterLease> {
  const lease = await readLease(client, aggregate, initialWriter, 'FOR SHARE');
  if (lease.writer !== region) throw writerMoved(lease);
  return lease;
}

/** The error a non-writer region answers a single-writer write with, naming the writer. */
export function writerMoved(lease: WriterLease): DomainError {
  return new DomainError(
    'WRITER_MOVED',
    `${lease.aggregate} are written in region ${lease.writer} (epoch ${lease.epoch}); send the write there`,
    { details: { writer: lease.writer, epoch: lease.epoch, aggregate: lease.aggregate } },
  );
}
