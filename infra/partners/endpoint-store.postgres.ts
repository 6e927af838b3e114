/**
 * The EndpointStore on PostgreSQL (webhook_endpoints). A save is optimistic: it names the version
 * it read, and writes its events to the outbox in the same transaction.
 */
import type pg from 'pg';
import type { WebhookEndpoint } from '../../domains/partners/endpoint.ts';
import type { EndpointStore } from '../../domains/partners/ports.ts';
import { DomainError } from '../../domains/shared/errors.ts';
import type { DomainEvent } from '../../domains/shared/events.ts';
import { appendToOutbox } from '../events/outbox.ts';
import { currentTraceparent } from '../telemetry/context.ts';
import { transaction, translate } from './pg.ts';

const STORE = 'webhook endpoint store';

export interface EndpointRow {
  id: string;
  tenant: string;
  url: string;
  description: string;
  event_types: string[];
  status: WebhookEndpoint['status'];
  disabled_reason: WebhookEndpoint['disabledReason'] | null;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
  failing_since: Date | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export const ENDPOINT_COLUMNS = `id, tenant, url, description, event_types, status, disabled_reason, secret,
  previous_secret, previous_secret_expires_at, failing_since, version, created_at, updated_at`;

/** A row as the domain's endpoint. */
export function endpointOf(r: EndpointRow): WebhookEndpoint {
  return {
    id: r.id,
    tenant: r.tenant,
    url: r.url,
    description: r.description,
    eventTypes: r.event_types,
    status: r.status,
    ...(r.disabled_reason ? { disabledReason: r.disabled_reason } : {}),
    secret: r.secret,
    ...(r.previous_secret && r.previous_secret_expires_at
      ? { previousSecret: { secret: r.previous_secret, expiresAt: r.previous_secret_expires_at.toISOString() } }
      : {}),
    ...(r.failing_since ? { failingSince: r.failing_since.toISOString() } : {}),
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    version: r.version,
  };
}

/** Where events partners write come from. */
export interface EventSource {
  readonly region: 'east' | 'west';
  readonly service: string;
}

export function eventContext(source: EventSource) {
  return { region: source.region, service: source.service, traceparent: currentTraceparent() };
}

/**
 * Writes the endpoint's settings if its version is still `version - 1`; false otherwise. The
 * failing stretch is the dispatcher's to move (without a version bump, so a user's edit never
 * conflicts with deliveries); enabling clears it.
 */
export async function writeEndpoint(client: pg.ClientBase, e: WebhookEndpoint): Promise<boolean> {
  const res = await client.query(
    `UPDATE webhook_endpoints SET url = $2, description = $3, event_types = $4, status = $5, disabled_reason = $6,
       secret = $7, previous_secret = $8, previous_secret_expires_at = $9,
       failing_since = CASE WHEN $5 = 'ENABLED' AND status = 'DISABLED' THEN NULL ELSE failing_since END,
       version = $10, updated_at = $11
     WHERE id = $1 AND version = $10 - 1`,
    [
      e.id,
      e.url,
      e.description,
      e.eventTypes,
      e.status,
      e.disabledReason ?? null,
      e.secret,
      e.previousSecret?.secret ?? null,
      e.previousSecret?.expiresAt ?? null,
      e.version,
      e.updatedAt,
    ],
  );
  return (res.rowCount ?? 0) === 1;
}

export function createPostgresEndpointStore(pool: pg.Pool, source: EventSource): EndpointStore {
  return {
    async create(e) {
      try {
        await pool.query(
          `INSERT INTO webhook_endpoints (id, tenant, url, description, event_types, status, disabled_reason, secret,
             previous_secret, previous_secret_expires_at, failing_since, version, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
          [
            e.id,
            e.tenant,
            e.url,
            e.description,
            e.eventTypes,
            e.status,
            e.disabledReason ?? null,
            e.secret,
            e.previousSecret?.secret ?? null,
            e.previousSecret?.expiresAt ?? null,
            e.failingSince ?? null,
            e.version,
            e.createdAt,
            e.updatedAt,
          ],
        );
      } catch (err) {
        throw translate(err, STORE);
      }
    },
    async get(tenant, id) {
      try {
        const res = await pool.query<EndpointRow>(
          `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1 AND tenant = $2`,
          [id, tenant],
        );
        return res.rows[0] && endpointOf(res.rows[0]);
      } catch (err) {
        throw translate(err, STORE);
      }
    },
    async list(tenant) {
      try {
        const res = await pool.query<EndpointRow>(
          `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE tenant = $1 ORDER BY created_at, id`,
          [tenant],
        );
        return res.rows.map(endpointOf);
      } catch (err) {
        throw translate(err, STORE);
      }
    },
    async save(e, events: readonly DomainEvent[] = []) {
      await transaction(pool, STORE, async (client) => {
        if (!(await writeEndpoint(client, e))) {
          throw new DomainError('CONFLICT', `endpoint ${e.id} changed meanwhile; read it again`, { retryable: true });
        }
        if (events.length > 0) await appendToOutbox(client, events, eventContext(source));
      });
    },
  };
}
