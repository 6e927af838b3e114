/**
 * OrderStore over PostgreSQL: orders, their lines, idempotency keys and outbox rows in
 * one transaction. Same-key callers are serialised by a transaction-scoped advisory
 * lock on (tenant, key); consumers' effects are deduplicated by processed_events.
 */
import type pg from 'pg';
import type { Order, OrderLine, OrderStatus } from '../../domains/commerce/order.ts';
import type { IdempotencyClaim, OrderStore, Placed } from '../../domains/commerce/ports.ts';
import { DomainError } from '../../domains/shared/errors.ts';
import { appendToOutbox } from '../events/outbox.ts';
import { assertWriterInTransaction, type WriterLease } from '../fencing/writer-lease.postgres.ts';
import { currentTraceparent } from '../telemetry/context.ts';
import { inTransaction, translate } from './pg.ts';

interface OrderRow {
  id: string;
  tenant: string;
  user_id: string;
  status: OrderStatus;
  total_cents: number;
  currency: string;
  payment_token: string;
  cancel_reason: string | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

const ORDER_COLUMNS =
  'id, tenant, user_id, status, total_cents, currency, payment_token, cancel_reason, version, created_at, updated_at';

async function loadItems(db: pg.ClientBase | pg.Pool, ids: string[]): Promise<Map<string, OrderLine[]>> {
  const rows = await db.query<{ order_id: string; product_id: string; quantity: number; unit_price_cents: number }>(
    'SELECT order_id, product_id, quantity, unit_price_cents FROM order_items WHERE order_id = ANY($1) ORDER BY line',
    [ids],
  );
  const byOrder = new Map<string, OrderLine[]>();
  for (const r of rows.rows) {
    const list = byOrder.get(r.order_id) ?? [];
    list.push({ productId: r.product_id, quantity: r.quantity, unitPriceCents: r.unit_price_cents });
    byOrder.set(r.order_id, list);
  }
  return byOrder;
}

function toOrder(r: OrderRow, items: OrderLine[]): Order {
  return {
    id: r.id,
    tenant: r.tenant,
    userId: r.user_id,
    status: r.status,
    items,
    totalCents: r.total_cents,
    currency: r.currency,
    paymentToken: r.payment_token,
    cancelReason: r.cancel_reason,
    version: r.version,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

async function fetchOrders(db: pg.ClientBase | pg.Pool, where: string, params: unknown[], lock = ''): Promise<Order[]> {
  const rows = (await db.query<OrderRow>(`SELECT ${ORDER_COLUMNS} FROM orders WHERE ${where} ${lock}`, params)).rows;
  if (rows.length === 0) return [];
  const items = await loadItems(
    db,
    rows.map((r) => r.id),
  );
  return rows.map((r) => toOrder(r, items.get(r.id) ?? []));
}

/**
 * A new order, its lines and its idempotency key in one statement (one round trip). The
 * foreign keys are checked at the end of the statement, when all three are in.
 */
async function insertPlacement(
  client: pg.ClientBase,
  o: Order,
  claim: IdempotencyClaim,
  lease: WriterLease | undefined,
): Promise<void> {
  await client.query(
    `WITH placed AS (
       INSERT INTO orders (${ORDER_COLUMNS}, writer_region, writer_epoch, idempotency_key)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)),
     lines AS (
       INSERT INTO order_items (order_id, line, product_id, quantity, unit_price_cents)
       SELECT $1, l.line - 1, l.product_id, l.quantity, l.unit_price_cents
       FROM unnest($15::text[], $16::int[], $17::int[]) WITH ORDINALITY AS l(product_id, quantity, unit_price_cents, line))
     INSERT INTO idempotency_keys (tenant, key, request_hash, order_id) VALUES ($19, $14, $18, $1)`,
    [
      o.id,
      o.tenant,
      o.userId,
      o.status,
      o.totalCents,
      o.currency,
      o.paymentToken,
      o.cancelReason,
      o.version,
      o.createdAt,
      o.updatedAt,
      lease?.writer ?? null,
      lease?.epoch ?? null,
      claim.key,
      o.items.map((i) => i.productId),
      o.items.map((i) => i.quantity),
      o.items.map((i) => i.unitPriceCents),
      claim.requestHash,
      claim.tenant,
    ],
  );
}

/**
 * One attempt at an idempotent placement: undefined when another transaction holds the
 * key's lock (a transaction-scoped advisory lock, released at COMMIT/ROLLBACK).
 */
async function placeUnderKey(
  client: pg.ClientBase,
  claim: IdempotencyClaim,
  decide: () => Promise<Placed>,
  write: (client: pg.ClientBase, placed: Placed) => Promise<unknown>,
  fence: (client: pg.ClientBase) => Promise<WriterLease | undefined>,
): Promise<{ order: Order; replayed: boolean } | undefined> {
  const lock = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock(hashtextextended($1, 7)) AS ok', [
    `${claim.tenant}/${claim.key}`,
  ]);
  if (!lock.rows[0]?.ok) return undefined;
  const known = await client.query<{ request_hash: string; order_id: string }>(
    'SELECT request_hash, order_id FROM idempotency_keys WHERE tenant = $1 AND key = $2',
    [claim.tenant, claim.key],
  );
  const row = known.rows[0];
  if (row) {
    if (row.request_hash !== claim.requestHash) {
      throw new DomainError('IDEMPOTENCY_KEY_REUSED', 'this idempotency key was used for a different request', {
        details: { orderId: row.order_id },
      });
    }
    const [order] = await fetchOrders(client, 'id = $1', [row.order_id]);
    if (!order) throw new DomainError('INTERNAL', `idempotency key points at missing order ${row.order_id}`);
    return { order, replayed: true };
  }
  // Held FOR SHARE until commit: a writer move waits for this order, and none commits after it.
  const lease = await fence(client);
  const placed = await decide();
  await insertPlacement(client, placed.order, claim, lease);
  await write(client, placed);
  return { order: placed.order, replayed: false };
}

export interface PostgresOrderStoreOptions {
  readonly region: string;
  /** The service named in the events' source, e.g. "commerce". */
  readonly service: string;
  /** How long a request waits for another one holding the same idempotency key. */
  readonly keyWaitMs?: number;
  /**
   * Single-writer fencing: every order write first checks, in its own transaction, that this
   * region holds the writer lease of `aggregate` (WRITER_MOVED otherwise); absent: no fencing.
   */
  readonly fence?: { readonly aggregate: string; readonly initialWriter: string };
}

export function createPostgresOrderStore(pool: pg.Pool, options: PostgresOrderStoreOptions): OrderStore {
  const opts = { keyWaitMs: 15_000, ...options };
  const outboxContext = () => ({ region: opts.region, service: opts.service, traceparent: currentTraceparent() });
  const writeEvents = (client: pg.ClientBase, placed: Placed) => appendToOutbox(client, placed.events, outboxContext());
  const fence = async (client: pg.ClientBase) =>
    opts.fence
      ? await assertWriterInTransaction(client, opts.fence.aggregate, opts.region, opts.fence.initialWriter)
      : undefined;

  return {
    async placeOnce(claim, decide) {
      const deadline = Date.now() + opts.keyWaitMs;
      for (;;) {
        const outcome = await inTransaction(pool, (client) => placeUnderKey(client, claim, decide, writeEvents, fence));
        if (outcome) return outcome;
        // Another request holds this key: wait without holding a connection, then look again.
        if (Date.now() > deadline) {
          throw new DomainError('DEPENDENCY_UNAVAILABLE', 'another request with this idempotency key is in progress', {
            retryable: true,
          });
        }
        await new Promise((r) => setTimeout(r, 5 + Math.random() * 20));
      }
    },

    applyOnce(consumer, eventId, orderId, change) {
      return inTransaction(pool, async (client) => {
        const [order] = await fetchOrders(client, 'id = $1', [orderId], 'FOR UPDATE');
        if (!order)
          throw new DomainError('ORDER_NOT_FOUND', `order ${orderId} does not exist`, { details: { orderId } });
        const mark = await client.query(
          'INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
          [consumer, eventId],
        );
        if (mark.rowCount === 0) return { order, applied: false };
        await fence(client);
        const placed = change(order);
        if (!placed) return { order, applied: true };
        const next = placed.order;
        await client.query(
          'UPDATE orders SET status = $2, cancel_reason = $3, version = $4, updated_at = $5 WHERE id = $1',
          [next.id, next.status, next.cancelReason, next.version, next.updatedAt],
        );
        await writeEvents(client, placed);
        return { order: next, applied: true };
      });
    },

    async ordersForKey(tenant, key) {
      try {
        const { rows } = await pool.query<{
          id: string;
          status: OrderStatus;
          writer_epoch: string | null;
          created_at: Date;
        }>(
          `SELECT id::text, status, writer_epoch, created_at FROM orders
           WHERE tenant = $1 AND idempotency_key = $2 ORDER BY created_at, id`,
          [tenant, key],
        );
        return rows.map((r) => ({
          id: r.id,
          status: r.status,
          writerEpoch: r.writer_epoch === null ? null : Number(r.writer_epoch),
          createdAt: r.created_at.toISOString(),
        }));
      } catch (err) {
        throw translate(err);
      }
    },

    async getOrder(id) {
      try {
        return (await fetchOrders(pool, 'id = $1', [id]))[0];
      } catch (err) {
        throw translate(err);
      }
    },

    async listOrdersForUser(tenant, userId, first) {
      try {
        return await fetchOrders(pool, 'tenant = $1 AND user_id = $2 ORDER BY created_at DESC LIMIT $3', [
          tenant,
          userId,
          first,
        ]);
      } catch (err) {
        throw translate(err);
      }
    },
  };
}
