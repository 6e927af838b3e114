/**
 * TelemetryWindows over PostgreSQL: a reading's points are upserted in one statement, in the
 * transaction that writes the processed mark, so a redelivered event changes nothing.
 * Aggregates are order-free: `last` moves only to a later (ts, seq).
 */
import type pg from 'pg';
import type { TelemetryWindows } from '../../domains/iot/ports.ts';
import { fold, type TelemetryWindow } from '../../domains/iot/windows.ts';
import { inTransaction, translate } from '../commerce/pg.ts';

interface WindowRow {
  metric: string;
  window_start: Date;
  count: string;
  min: number;
  max: number;
  sum: number;
  last: number;
  last_ts: Date;
  last_seq: string;
}

export function createPostgresTelemetryWindows(pool: pg.Pool): TelemetryWindows {
  return {
    addOnce(consumer, eventId, tenant, deviceId, points) {
      return inTransaction(
        pool,
        async (client) => {
          const mark = await client.query(
            'INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
            [consumer, eventId],
          );
          if (mark.rowCount === 0) return false;
          if (points.length === 0) return true;
          await client.query(
            `INSERT INTO iot_telemetry_windows AS w
               (tenant, device_id, metric, window_start, count, min, max, sum, last, last_ts, last_seq)
             SELECT $1, $2, p.metric, p.start, 1, p.value, p.value, p.value, p.value, p.ts, p.seq
             FROM unnest($3::text[], $4::timestamptz[], $5::float8[], $6::timestamptz[], $7::bigint[])
               AS p(metric, start, value, ts, seq)
             ON CONFLICT (tenant, device_id, metric, window_start) DO UPDATE SET
               count = w.count + 1,
               min = LEAST(w.min, EXCLUDED.min),
               max = GREATEST(w.max, EXCLUDED.max),
               sum = w.sum + EXCLUDED.sum,
               last = CASE WHEN (EXCLUDED.last_ts, EXCLUDED.last_seq) > (w.last_ts, w.last_seq) THEN EXCLUDED.last ELSE w.last END,
               last_seq = CASE WHEN (EXCLUDED.last_ts, EXCLUDED.last_seq) > (w.last_ts, w.last_seq) THEN EXCLUDED.last_seq ELSE w.last_seq END,
               last_ts = GREATEST(w.last_ts, EXCLUDED.last_ts)`,
            [
              tenant,
              deviceId,
              points.map((p) => p.metric),
              points.map((p) => p.start),
              points.map((p) => p.value),
              points.map((p) => p.ts),
              points.map((p) => p.seq),
            ],
          );
          return true;
        },
        { store: 'telemetry windows' },
      );
    },

    addManyOnce(consumer, items) {
      if (items.length === 0) return Promise.resolve(0);
      return inTransaction(
        pool,
        async (client) => {
          const marked = await client.query<{ event_id: string }>(
            `INSERT INTO processed_events (consumer, event_id) SELECT $1, unnest($2::uuid[])
             ON CONFLICT DO NOTHING RETURNING event_id`,
            [consumer, items.map((i) => i.eventId)],
          );
          const fresh = new Set(marked.rows.map((r) => r.event_id));
          // Each new event once (a run may hold a redelivery of the same event), folded per window.
          const windows = new Map<string, { tenant: string; deviceId: string; w: TelemetryWindow }>();
          for (const item of items) {
            if (!fresh.delete(item.eventId)) continue;
            for (const p of item.points) {
              const k = `${item.tenant}/${item.deviceId}/${p.metric}/${p.start}`;
              const cur = windows.get(k);
              windows.set(k, { tenant: item.tenant, deviceId: item.deviceId, w: fold(cur?.w, p) });
            }
          }
          const rows = [...windows.values()];
          if (rows.length) {
            await client.query(
              `INSERT INTO iot_telemetry_windows AS w
                 (tenant, device_id, metric, window_start, count, min, max, sum, last, last_ts, last_seq)
               SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::bigint[], $6::float8[],
                 $7::float8[], $8::float8[], $9::float8[], $10::timestamptz[], $11::bigint[])
               ON CONFLICT (tenant, device_id, metric, window_start) DO UPDATE SET
                 count = w.count + EXCLUDED.count,
                 min = LEAST(w.min, EXCLUDED.min),
                 max = GREATEST(w.max, EXCLUDED.max),
                 sum = w.sum + EXCLUDED.sum,
                 last = CASE WHEN (EXCLUDED.last_ts, EXCLUDED.last_seq) > (w.last_ts, w.last_seq) THEN EXCLUDED.last ELSE w.last END,
                 last_seq = CASE WHEN (EXCLUDED.last_ts, EXCLUDED.last_seq) > (w.last_ts, w.last_seq) THEN EXCLUDED.last_seq ELSE w.last_seq END,
                 last_ts = GREATEST(w.last_ts, EXCLUDED.last_ts)`,
              [
                rows.map((r) => r.tenant),
                rows.map((r) => r.deviceId),
                rows.map((r) => r.w.metric),
                rows.map((r) => r.w.start),
                rows.map((r) => r.w.count),
                rows.map((r) => r.w.min),
                rows.map((r) => r.w.max),
                rows.map((r) => r.w.sum),
                rows.map((r) => r.w.last),
                rows.map((r) => r.w.lastTs),
                rows.map((r) => r.w.lastSeq),
              ],
            );
          }
          return marked.rows.length;
        },
        { store: 'telemetry windows' },
      );
    },

    async query(tenant, deviceId, metric, from, to) {
      try {
        const res = await pool.query<WindowRow>(
          `SELECT metric, window_start, count, min, max, sum, last, last_ts, last_seq FROM iot_telemetry_windows
           WHERE tenant = $1 AND device_id = $2 AND metric = $3 AND window_start >= $4 AND window_start < $5
           ORDER BY window_start`,
          [tenant, deviceId, metric, from, to],
        );
        return res.rows.map(
          (r): TelemetryWindow => ({
            metric: r.metric,
            start: r.window_start.toISOString(),
            count: Number(r.count),
            min: r.min,
            max: r.max,
            sum: r.sum,
            last: r.last,
            lastTs: r.last_ts.toISOString(),
            lastSeq: Number(r.last_seq),
          }),
        );
      } catch (err) {
        throw translate(err, 'telemetry windows');
      }
    },
  };
}
