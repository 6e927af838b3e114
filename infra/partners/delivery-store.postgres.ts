/**
 * The DeliveryStore on PostgreSQL: messages (one per tenant and event), deliveries (one per
 * endpoint and message, rounds for resends and replays) and attempts. An attempt is recorded in
 * one transaction with the delivery's new state, the endpoint's failing stretch, the endpoint's
 * disabling and every event these cause (outbox), guarded by the delivery's round and attempt
 * count — so a task done twice records once.
 */
import type pg from 'pg';
import type { Attempt, Delivery, DeliveryTask, WebhookMessage } from '../../domains/partners/message.ts';
import type { AttemptOutcome, DeliveryStore, DeliveryView } from '../../domains/partners/ports.ts';
import { appendToOutbox } from '../events/outbox.ts';
import {
  ENDPOINT_COLUMNS,
  type EndpointRow,
  type EventSource,
  endpointOf,
  eventContext,
  writeEndpoint,
} from './endpoint-store.postgres.ts';
import { transaction, translate } from './pg.ts';

const STORE = 'webhook delivery store';

interface DeliveryRow {
  endpoint_id: string;
  message_id: string;
  status: Delivery['status'];
  round: number;
  attempts: number;
  next_attempt_at: Date | null;
  last_status_code: number | null;
  last_error: string | null;
  updated_at: Date;
}

interface MessageRow {
  id: string;
  tenant: string;
  event_id: string;
  event_type: string;
  occurred_at: Date;
  payload: string;
}

interface AttemptRow {
  endpoint_id: string;
  message_id: string;
  round: number;
  attempt: number;
  at: Date;
  status_code: number | null;
  latency_ms: number;
  success: boolean;
  error: string | null;
  response_body: string | null;
}

function deliveryOf(r: DeliveryRow): Delivery {
  return {
    endpointId: r.endpoint_id,
    messageId: r.message_id,
    status: r.status,
    round: r.round,
    attempts: r.attempts,
    ...(r.next_attempt_at ? { nextAttemptAt: r.next_attempt_at.toISOString() } : {}),
    ...(r.last_status_code !== null ? { lastStatusCode: r.last_status_code } : {}),
    ...(r.last_error !== null ? { lastError: r.last_error } : {}),
    updatedAt: r.updated_at.toISOString(),
  };
}

function messageOf(r: MessageRow): WebhookMessage {
  return {
    id: r.id,
    tenant: r.tenant,
    eventId: r.event_id,
    eventType: r.event_type,
    occurredAt: r.occurred_at.toISOString(),
    payload: r.payload,
  };
}

function attemptOf(r: AttemptRow): Attempt {
  return {
    endpointId: r.endpoint_id,
    messageId: r.message_id,
    round: r.round,
    attempt: r.attempt,
    at: r.at.toISOString(),
    ...(r.status_code !== null ? { statusCode: r.status_code } : {}),
    latencyMs: r.latency_ms,
    success: r.success,
    ...(r.error !== null ? { error: r.error } : {}),
    ...(r.response_body !== null ? { responseBody: r.response_body } : {}),
  };
}

const MESSAGE_COLUMNS = 'm.id, m.tenant, m.event_id, m.event_type, m.occurred_at, m.payload';
const DELIVERY_COLUMNS =
  'd.endpoint_id, d.message_id, d.status, d.round, d.attempts, d.next_attempt_at, d.last_status_code, d.last_error, d.updated_at';

/** Starts the next round of each (endpoint, message): a new delivery at round 1, else round + 1; returns the first tasks. */
async function newRounds(
  client: pg.ClientBase,
  endpointId: string,
  messageIds: readonly string[],
  now: string,
): Promise<DeliveryTask[]> {
  if (messageIds.length === 0) return [];
  const res = await client.query<{ message_id: string; round: number }>(
    `INSERT INTO webhook_deliveries (endpoint_id, message_id, status, round, attempts, next_attempt_at, updated_at)
     SELECT $1, id, 'PENDING', 1, 0, $3, $3 FROM unnest($2::text[]) AS id
     ON CONFLICT (endpoint_id, message_id) DO UPDATE SET status = 'PENDING', round = webhook_deliveries.round + 1,
       attempts = 0, next_attempt_at = $3, last_status_code = NULL, last_error = NULL, updated_at = $3
     RETURNING message_id, round`,
    [endpointId, messageIds, now],
  );
  const at = Date.parse(now);
  return res.rows.map((r) => ({ endpointId, messageId: r.message_id, round: r.round, attempt: 1, notBefore: at }));
}

export function createPostgresDeliveryStore(pool: pg.Pool, source: EventSource): DeliveryStore {
  const read = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (err) {
      throw translate(err, STORE);
    }
  };
  return {
    async addMessage(message, now) {
      try {
        // One statement, so one round trip and atomic: the message (only for a tenant with an
        // endpoint), a delivery to every endpoint that takes it, and the deliveries of the message
        // still unattempted — those inserted now (RETURNING) and, on a repeat, those from before (the
        // statement's snapshot). The message id derives from the event id, so a repeat finds the
        // same row; the foreign key is checked at the end of the statement.
        const res = await pool.query<{ endpoint_id: string }>(
          `WITH takers AS (
             SELECT id FROM webhook_endpoints
             WHERE tenant = $2 AND status = 'ENABLED' AND $4 = ANY(event_types) AND created_at <= $5
           ), msg AS (
             INSERT INTO webhook_messages (id, tenant, event_id, event_type, occurred_at, payload)
             SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS (SELECT 1 FROM webhook_endpoints WHERE tenant = $2)
             ON CONFLICT DO NOTHING
           ), added AS (
             INSERT INTO webhook_deliveries (endpoint_id, message_id, status, round, attempts, next_attempt_at, updated_at)
             SELECT id, $1, 'PENDING', 1, 0, $7, $7 FROM takers
             ON CONFLICT DO NOTHING
             RETURNING endpoint_id
           )
           SELECT endpoint_id FROM added
           UNION
           SELECT d.endpoint_id FROM webhook_deliveries d JOIN webhook_messages m ON m.id = d.message_id
           WHERE d.message_id = $1 AND m.tenant = $2 AND d.status = 'PENDING' AND d.round = 1 AND d.attempts = 0`,
          [message.id, message.tenant, message.eventId, message.eventType, message.occurredAt, message.payload, now],
        );
        const at = Date.parse(now);
        return res.rows.map((r) => ({
          endpointId: r.endpoint_id,
          messageId: message.id,
          round: 1,
          attempt: 1,
          notBefore: at,
        }));
      } catch (err) {
        throw translate(err, STORE);
      }
    },

    state(endpointId, messageId) {
      return read(async () => {
        const res = await pool.query<DeliveryRow & { m: MessageRow; e: EndpointRow }>(
          `SELECT ${DELIVERY_COLUMNS}, row_to_json(m) AS m, row_to_json(e) AS e
           FROM webhook_deliveries d
           JOIN webhook_messages m ON m.id = d.message_id
           JOIN (SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1) e ON e.id = d.endpoint_id
           WHERE d.endpoint_id = $1 AND d.message_id = $2`,
          [endpointId, messageId],
        );
        const row = res.rows[0];
        if (!row) return undefined;
        // row_to_json gives timestamps as text: back to Dates, as the row mappers expect.
        const m = { ...row.m, occurred_at: new Date(row.m.occurred_at) };
        const e = row.e as unknown as Record<string, unknown>;
        const dates = ['previous_secret_expires_at', 'failing_since', 'created_at', 'updated_at'] as const;
        for (const k of dates) e[k] = e[k] === null ? null : new Date(e[k] as string);
        return { delivery: deliveryOf(row), message: messageOf(m), endpoint: endpointOf(e as unknown as EndpointRow) };
      });
    },

    async recordAttempt(outcome: AttemptOutcome) {
      const a = outcome.attempt;
      if (a.success && outcome.events.length === 0) {
        // The common case in one statement (atomic, one round trip) and without locking the
        // endpoint row, so an endpoint's concurrent deliveries do not queue behind each other.
        try {
          const res = await pool.query<{ n: string }>(
            `WITH d AS (
               UPDATE webhook_deliveries SET status = $5, attempts = $4, next_attempt_at = NULL, last_status_code = $6,
                 last_error = NULL, updated_at = $7
               WHERE endpoint_id = $1 AND message_id = $2 AND round = $3 AND attempts = $4 - 1 AND status = 'PENDING'
               RETURNING 1
             ), a AS (
               INSERT INTO webhook_attempts (endpoint_id, message_id, round, attempt, at, status_code, latency_ms,
                 success, response_body)
               SELECT $1, $2, $3, $4, $7, $6, $8, true, $9 WHERE EXISTS (SELECT 1 FROM d)
             ), h AS (
               UPDATE webhook_endpoints SET failing_since = NULL
               WHERE id = $1 AND failing_since IS NOT NULL AND EXISTS (SELECT 1 FROM d)
             )
             SELECT count(*) AS n FROM d`,
            [
              a.endpointId,
              a.messageId,
              a.round,
              a.attempt,
              outcome.status,
              a.statusCode ?? null,
              a.at,
              a.latencyMs,
              a.responseBody ?? null,
            ],
          );
          return res.rows[0]?.n === '1';
        } catch (err) {
          throw translate(err, STORE);
        }
      }
      return transaction(pool, STORE, async (client) => {
        // The endpoint row first (a lock order every attempt and every management save shares).
        const locked = await client.query<EndpointRow>(
          `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1 FOR UPDATE`,
          [a.endpointId],
        );
        const row = locked.rows[0];
        if (!row) return false;
        const moved = await client.query(
          `UPDATE webhook_deliveries SET status = $5, attempts = $4, next_attempt_at = $6, last_status_code = $7,
             last_error = $8, updated_at = $9
           WHERE endpoint_id = $1 AND message_id = $2 AND round = $3 AND attempts = $4 - 1 AND status = 'PENDING'`,
          [
            a.endpointId,
            a.messageId,
            a.round,
            a.attempt,
            outcome.status,
            outcome.nextAttemptAt ?? null,
            a.statusCode ?? null,
            a.error ?? null,
            a.at,
          ],
        );
        if ((moved.rowCount ?? 0) === 0) return false;
        await client.query(
          `INSERT INTO webhook_attempts (endpoint_id, message_id, round, attempt, at, status_code, latency_ms, success,
             error, response_body)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
          [
            a.endpointId,
            a.messageId,
            a.round,
            a.attempt,
            a.at,
            a.statusCode ?? null,
            a.latencyMs,
            a.success,
            a.error ?? null,
            a.responseBody ?? null,
          ],
        );
        if (outcome.events.length > 0) await appendToOutbox(client, outcome.events, eventContext(source));
        // The failing stretch: ended by a success, started by the first failure after one.
        const failingSince = a.success ? null : (row.failing_since ?? new Date(a.at));
        const health = endpointOf({ ...row, failing_since: failingSince });
        const effect = a.success ? { events: [] } : outcome.endpointEffect(health);
        if ((row.failing_since?.getTime() ?? null) !== (failingSince?.getTime() ?? null)) {
          await client.query('UPDATE webhook_endpoints SET failing_since = $2 WHERE id = $1', [
            a.endpointId,
            failingSince,
          ]);
        }
        if (effect.endpoint) await writeEndpoint(client, { ...effect.endpoint, version: row.version + 1 });
        if (effect.events.length > 0) await appendToOutbox(client, effect.events, eventContext(source));
        return true;
      });
    },

    deliveries(tenant, endpointId, page) {
      return read(async () => {
        const res = await pool.query<DeliveryRow & MessageRow>(
          `SELECT ${DELIVERY_COLUMNS}, ${MESSAGE_COLUMNS}
           FROM webhook_deliveries d JOIN webhook_messages m ON m.id = d.message_id
           WHERE d.endpoint_id = $1 AND m.tenant = $2
             AND ($4::text IS NULL OR (m.occurred_at, m.id) < (SELECT occurred_at, id FROM webhook_messages WHERE id = $4))
           ORDER BY m.occurred_at DESC, m.id DESC LIMIT $3`,
          [endpointId, tenant, page.first, page.before ?? null],
        );
        return res.rows.map((r): DeliveryView => ({ delivery: deliveryOf(r), message: messageOf(r) }));
      });
    },

    attempts(tenant, endpointId, messageId) {
      return read(async () => {
        const res = await pool.query<AttemptRow>(
          `SELECT a.* FROM webhook_attempts a JOIN webhook_messages m ON m.id = a.message_id
           WHERE a.endpoint_id = $1 AND a.message_id = $2 AND m.tenant = $3 ORDER BY a.round, a.attempt`,
          [endpointId, messageId, tenant],
        );
        return res.rows.map(attemptOf);
      });
    },

    resend(tenant, endpointId, messageId, now) {
      return transaction(pool, STORE, async (client) => {
        const known = await client.query('SELECT 1 FROM webhook_messages WHERE id = $1 AND tenant = $2', [
          messageId,
          tenant,
        ]);
        if ((known.rowCount ?? 0) === 0) return undefined;
        const [task] = await newRounds(client, endpointId, [messageId], now);
        return task;
      });
    },

    replay(tenant, endpointId, range, eventTypes, now) {
      return transaction(pool, STORE, async (client) => {
        const res = await client.query<{ id: string }>(
          `SELECT id FROM webhook_messages
           WHERE tenant = $1 AND occurred_at >= $2 AND occurred_at < $3 AND event_type = ANY($4::text[])
           ORDER BY occurred_at, id`,
          [tenant, range.since, range.until, eventTypes],
        );
        const tasks = await newRounds(
          client,
          endpointId,
          res.rows.map((r) => r.id),
          now,
        );
        // Queued in event order.
        const order = new Map(res.rows.map((r, i) => [r.id, i]));
        return tasks.sort((x, y) => (order.get(x.messageId) ?? 0) - (order.get(y.messageId) ?? 0));
      });
    },

    overdue(now, graceMs, limit) {
      return transaction(pool, STORE, async (client) => {
        const res = await client.query<{ endpoint_id: string; message_id: string; round: number; attempts: number }>(
          `UPDATE webhook_deliveries d SET next_attempt_at = $1::timestamptz + make_interval(secs => $2 / 1000.0)
           FROM (SELECT endpoint_id, message_id FROM webhook_deliveries
                 WHERE status = 'PENDING' AND next_attempt_at < $1::timestamptz - make_interval(secs => $2 / 1000.0)
                 ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) due
           WHERE d.endpoint_id = due.endpoint_id AND d.message_id = due.message_id
           RETURNING d.endpoint_id, d.message_id, d.round, d.attempts`,
          [now, graceMs, limit],
        );
        const at = Date.parse(now);
        return res.rows.map((r) => ({
          endpointId: r.endpoint_id,
          messageId: r.message_id,
          round: r.round,
          attempt: r.attempts + 1,
          notBefore: at,
        }));
      });
    },
  };
}
