/**
 * Retention of the platform's bookkeeping rows in a region's PostgreSQL, which would otherwise
 * grow with every event for ever:
 *
 * - **Processed marks** (`processed_events`, one per event per idempotent consumer; the telemetry
 *   windows write one per device reading). A mark matters only while its event can still be
 *   delivered again, and Kafka keeps records 7 days (`log.retention.hours=168`), mirrored copies
 *   included: no redelivery is older. Kept 8 days by default.
 * - **Published outbox rows.** Nothing reads them once published (the relay works on unpublished
 *   rows and on its lanes' in-flight records); kept a day for inspection. An unpublished row is
 *   never deleted, however old.
 *
 * Deleted in batches, one statement each (no long transaction, no lock beyond the rows), oldest
 * first through the BRIN indexes of migration 0003, every `intervalMs`. Every process of a region
 * may run it: deleting the same rows twice is harmless.
 */
import type { Pool } from 'pg';
import { ConfigError } from '../config/endpoints.ts';

export interface RetentionOptions {
  /** How long processed marks are kept (ms); at least Kafka's retention. */
  readonly processedMarksMs: number;
  /** How long published outbox rows are kept (ms). */
  readonly publishedOutboxMs: number;
  /** Rows per DELETE. */
  readonly batch?: number;
  readonly intervalMs?: number;
  readonly onError?: (err: unknown) => void;
}

export interface Pruned {
  readonly processedMarks: number;
  readonly outboxRows: number;
}

export interface Retention {
  /** Deletes everything past its time now, batch after batch. */
  runOnce(): Promise<Pruned>;
  /** Runs now and then every `intervalMs` until stopped. */
  start(): void;
  stop(): Promise<void>;
}

export const DAY_MS = 86_400_000;
/** Kafka's retention on this platform (infra/stack: log.retention.hours=168) and a day's margin. */
export const PROCESSED_MARKS_RETENTION_MS = 8 * DAY_MS;
export const PUBLISHED_OUTBOX_RETENTION_MS = DAY_MS;

/**
 * The region's retention settings: MERIDIAN_<REGION>_PROCESSED_MARKS_RETENTION_DAYS (8) and
 * MERIDIAN_<REGION>_PUBLISHED_OUTBOX_RETENTION_HOURS (24), whole numbers. Marks are never kept
 * less than 7 days, Kafka's retention: a shorter time would let a redelivery count twice.
 */
export function retentionSettings(settings: Readonly<Record<string, string>>): {
  processedMarksMs: number;
  publishedOutboxMs: number;
} {
  const whole = (name: string, fallback: number, min: number) => {
    const raw = settings[name];
    if (raw === undefined) return fallback;
    if (!/^\d{1,6}$/.test(raw) || Number(raw) < min) {
      throw new ConfigError(`MERIDIAN_<REGION>_${name}: "${raw}" is not a whole number of at least ${min}`);
    }
    return Number(raw);
  };
  return {
    processedMarksMs: whole('PROCESSED_MARKS_RETENTION_DAYS', PROCESSED_MARKS_RETENTION_MS / DAY_MS, 7) * DAY_MS,
    publishedOutboxMs:
      whole('PUBLISHED_OUTBOX_RETENTION_HOURS', PUBLISHED_OUTBOX_RETENTION_MS / 3_600_000, 1) * 3_600_000,
  };
}

const PRUNE_MARKS = `
  DELETE FROM processed_events WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM processed_events WHERE processed_at < now() - make_interval(secs => $1 / 1000.0) LIMIT $2))`;
const PRUNE_OUTBOX = `
  DELETE FROM outbox WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM outbox
    WHERE created_at < now() - make_interval(secs => $1 / 1000.0)
      AND published_at < now() - make_interval(secs => $1 / 1000.0)
    LIMIT $2))`;

export function createRetention(pool: Pool, opts: RetentionOptions): Retention {
  const batch = opts.batch ?? 10_000;
  const intervalMs = opts.intervalMs ?? 5 * 60_000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = false;

  async function drain(sql: string, keepMs: number): Promise<number> {
    let total = 0;
    while (!stopped) {
      const { rowCount } = await pool.query(sql, [keepMs, batch]);
      total += rowCount ?? 0;
      if ((rowCount ?? 0) < batch) break;
    }
    return total;
  }

  async function runOnce(): Promise<Pruned> {
    return {
      processedMarks: await drain(PRUNE_MARKS, opts.processedMarksMs),
      outboxRows: await drain(PRUNE_OUTBOX, opts.publishedOutboxMs),
    };
  }

  function tick() {
    running = runOnce()
      .catch((err) => opts.onError?.(err))
      .finally(() => {
        running = undefined;
        if (!stopped) {
          timer = setTimeout(tick, intervalMs);
          timer.unref();
        }
      });
  }

  return {
    runOnce,
    start() {
      stopped = false;
      tick();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
