/**
 * The standby copy of the peer region's orders, projected from its mirrored events: orders
 * with their lines, their idempotency keys (a client retrying after a failover gets the same
 * order, not a second one), state changes by version, and stock moved by the peer's
 * reservations and releases. So after a failover this region serves reads and takes writes at
 * once, and after it the old writer gets the orders the survivor took the same way.
 *
 * Why events and not PostgreSQL logical replication: the copy must run both ways (east's orders
 * to west, and after a failover west's back to east), which PostgreSQL 15 cannot do for one
 * table without replication loops; the events already cross regions through MirrorMaker 2, carry
 * everything an order needs, and are what every other consumer trusts. The price: the copy lags
 * by the replication lag (the drill measures it as RPO).
 *
 * Exactly once per event: the processed mark is written in the same transaction as the effect.
 */
import type pg from 'pg';
import type {
  InventoryChangeData,
  OrderCancelledData,
  OrderConfirmedData,
  OrderCreatedData,
} from '../../domains/commerce/events.ts';
import { COMMERCE_EVENTS } from '../../domains/commerce/events.ts';
import { normalizeLines } from '../../domains/commerce/inventory.ts';
import type { Envelope } from '../events/envelope.ts';
import { inTransaction } from './pg.ts';

/** The processed-events consumer name of the standby projection. */
export const STANDBY_CONSUMER = 'commerce-standby';

/** The region that wrote an event: `/regions/<region>/<service>`. */
function sourceRegion(event: Envelope): string | null {
  return /^\/regions\/([a-z0-9-]+)\//.exec(event.source)?.[1] ?? null;
}

async function applyCreated(client: pg.ClientBase, event: Envelope<OrderCreatedData>): Promise<void> {
  const d = event.data;
  const inserted = await client.query(
    `INSERT INTO orders (id, tenant, user_id, status, total_cents, currency, payment_token, cancel_reason, version,
                         created_at, updated_at, writer_region, writer_epoch)
     VALUES ($1, $2, $3, 'PENDING', $4, $5, $6, NULL, $7, $8, $8, $9, NULL)
     ON CONFLICT (id) DO NOTHING`,
    [
      d.orderId,
      event.tenant,
      d.userId,
      d.totalCents,
      d.currency,
      d.paymentToken,
      d.version,
      event.time,
      sourceRegion(event),
    ],
  );
  if (inserted.rowCount === 0) return;
  let line = 0;
  for (const item of d.items) {
    await client.query(
      'INSERT INTO order_items (order_id, line, product_id, quantity, unit_price_cents) VALUES ($1, $2, $3, $4, $5)',
      [d.orderId, line++, item.productId, item.quantity, item.unitPriceCents],
    );
  }
  if (d.idempotencyKey && d.requestHash) {
    await client.query(
      `INSERT INTO idempotency_keys (tenant, key, request_hash, order_id) VALUES ($1, $2, $3, $4)
       ON CONFLICT (tenant, key) DO NOTHING`,
      [event.tenant, d.idempotencyKey, d.requestHash, d.orderId],
    );
  }
}

async function applyState(
  client: pg.ClientBase,
  event: Envelope<OrderConfirmedData | OrderCancelledData>,
): Promise<void> {
  const d = event.data;
  const reason = 'reason' in d ? d.reason : null;
  // By version: a late or repeated event never moves an order backwards.
  const updated = await client.query(
    `UPDATE orders SET status = $2, cancel_reason = $3, version = $4, updated_at = $5
     WHERE id = $1 AND version < $4`,
    [d.orderId, d.status, reason, d.version, event.time],
  );
  if (updated.rowCount === 0 && !(await exists(client, 'SELECT 1 FROM orders WHERE id = $1', [d.orderId]))) {
    await defer(client, d.orderId, event);
  }
}

async function exists(client: pg.ClientBase, sql: string, params: unknown[]): Promise<boolean> {
  return ((await client.query(sql, params)).rowCount ?? 0) > 0;
}

/** Parks an event until the order it changes is in the copy (applyCreated replays it). */
async function defer(client: pg.ClientBase, orderId: string, event: Envelope): Promise<void> {
  await client.query(
    'INSERT INTO standby_deferred (event_id, order_id, envelope) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
    [event.id, orderId, JSON.stringify(event)],
  );
}

/** Applies what was parked for an order that is now in the copy, oldest version first. */
async function replayDeferred(client: pg.ClientBase, orderId: string): Promise<void> {
  const { rows } = await client.query<{ event_id: string; envelope: Envelope }>(
    'DELETE FROM standby_deferred WHERE order_id = $1 RETURNING event_id, envelope',
    [orderId],
  );
  const version = (e: Envelope) => (e.data as { version?: number }).version ?? 0;
  for (const { envelope } of rows.sort((a, b) => version(a.envelope) - version(b.envelope))) {
    await applyEvent(client, envelope);
  }
}

async function applyStock(
  client: pg.ClientBase,
  event: Envelope<InventoryChangeData>,
  reserve: boolean,
): Promise<void> {
  const { orderId, items } = event.data;
  // In product id order, as the writer locks them (normalizeLines), whatever order the event
  // lists them in: two orders' stock changes applied at once cannot deadlock.
  for (const item of normalizeLines(items)) {
    if (reserve) {
      const row = await client.query(
        `INSERT INTO inventory_reservations (order_id, product_id, tenant, quantity, status)
         VALUES ($1, $2, $3, $4, 'RESERVED') ON CONFLICT (order_id, product_id) DO NOTHING`,
        [orderId, item.productId, event.tenant, item.quantity],
      );
      if (row.rowCount === 1) {
        await client.query(
          'UPDATE products SET stock = stock - $2, version = version + 1, updated_at = now() WHERE id = $1',
          [item.productId, item.quantity],
        );
      }
    } else {
      const row = await client.query(
        `UPDATE inventory_reservations SET status = 'RELEASED', released_at = now(), release_reason = 'peer released'
         WHERE order_id = $1 AND product_id = $2 AND status = 'RESERVED' RETURNING quantity`,
        [orderId, item.productId],
      );
      const released = (row.rows[0] as { quantity?: number } | undefined)?.quantity;
      if (released === undefined) {
        const sql = 'SELECT 1 FROM inventory_reservations WHERE order_id = $1 AND product_id = $2';
        // Released before the reservation arrived: parked, replayed when the reservation is projected.
        if (!(await exists(client, sql, [orderId, item.productId]))) await defer(client, orderId, event);
      } else {
        await client.query(
          'UPDATE products SET stock = stock + $2, version = version + 1, updated_at = now() WHERE id = $1',
          [item.productId, released],
        );
      }
    }
  }
}

/** Applies one event to the copy (inside the caller's transaction). */
async function applyEvent(client: pg.ClientBase, event: Envelope): Promise<void> {
  switch (event.type) {
    case COMMERCE_EVENTS.orderCreated:
      await applyCreated(client, event as Envelope<OrderCreatedData>);
      await replayDeferred(client, (event.data as OrderCreatedData).orderId);
      break;
    case COMMERCE_EVENTS.orderConfirmed:
    case COMMERCE_EVENTS.orderCancelled:
      await applyState(client, event as Envelope<OrderConfirmedData | OrderCancelledData>);
      break;
    case COMMERCE_EVENTS.inventoryReserved:
      await applyStock(client, event as Envelope<InventoryChangeData>, true);
      await replayDeferred(client, (event.data as InventoryChangeData).orderId);
      break;
    case COMMERCE_EVENTS.inventoryReleased:
      await applyStock(client, event as Envelope<InventoryChangeData>, false);
      break;
  }
}

/** Applies one of the peer's commerce events to this region's copy; false when it was applied before. */
export async function applyPeerEvent(pool: pg.Pool, event: Envelope): Promise<boolean> {
  return inTransaction(pool, async (client) => {
    // One order's events apply one at a time. They come from different topics, so different
    // processors apply them concurrently; without this lock, a confirmation that finds no order
    // parks itself while the order's creation, committing at the same moment, replays a park
    // that is not yet visible to it, and the confirmation stays parked for good.
    const orderId = (event.data as { orderId?: unknown } | null)?.orderId;
    if (typeof orderId === 'string') {
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`standby:${orderId}`]);
    }
    const mark = await client.query(
      'INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
      [STANDBY_CONSUMER, event.id],
    );
    if (mark.rowCount === 0) return false;
    await applyEvent(client, event);
    return true;
  });
}
