/**
 * The Inventory port on PostgreSQL. Each reserve and release is one transaction that
 * changes stock, records the reservation and appends its event to the outbox, so the
 * three commit or roll back together.
 *
 * Why it cannot oversell: every line is a conditional decrement
 * (`... SET stock = stock - $q WHERE id = $id AND stock >= $q`). Under READ COMMITTED a
 * concurrent writer of the same row waits for the row lock and then re-checks the WHERE
 * against the committed value, so the last units go to exactly as many callers as they
 * cover; the CHECK (stock >= 0) on products is the last line of defence.
 * Why it cannot deadlock: rows are locked in one global order (normalizeLines sorts by
 * product id), after a per-order advisory lock that serialises calls for one order.
 */
import type pg from 'pg';
import { PRODUCT_ID } from '../../domains/commerce/catalog.ts';
import { COMMERCE_EVENTS, domainEvent } from '../../domains/commerce/events.ts';
import {
  type AdjustmentResult,
  normalizeLines,
  type StockAdjustment,
  type StockLine,
  validateAdjustment,
} from '../../domains/commerce/inventory.ts';
import { ORDER_ID } from '../../domains/commerce/order.ts';
import { validateLines } from '../../domains/commerce/place-order.ts';
import type { Inventory } from '../../domains/commerce/ports.ts';
import { DomainError } from '../../domains/shared/errors.ts';
import { appendToOutbox } from '../events/outbox.ts';
import { currentTraceparent } from '../telemetry/context.ts';
import { inTransaction, translate } from './pg.ts';

/** The Inventory port plus the reads and outcomes the inventory gRPC service exposes. */
export interface StockInventory extends Inventory {
  /** Available units of each known product among `productIds` (unknown ids are absent). */
  getStock(productIds: readonly string[]): Promise<Map<string, number>>;
  /** `release`, telling whether this call gave stock back (false: nothing reserved, or already released). */
  releaseIfReserved(orderId: string, tenant: string, reason: string): Promise<boolean>;
  /**
   * Changes a product's stock outside an order, once per adjustment id (a repeat answers the first
   * result with `applied: false`). Stock never goes below zero: INSUFFICIENT_STOCK (details
   * productId, available, requested) and nothing changes; PRODUCT_NOT_FOUND for an unknown product.
   */
  adjustStock(adjustment: StockAdjustment): Promise<AdjustmentResult>;
}

export interface PostgresInventoryOptions {
  readonly region: 'east' | 'west';
  /** Attempts of one transaction when Postgres aborts it for a serialization failure or deadlock. */
  readonly maxAttempts?: number;
}

/** Same rule as the event envelope's `tenant`, so a reservation never writes an event the schema refuses. */
const TENANT = /^[a-z0-9-]{1,64}$/;
const MAX_REASON = 500;
const MAX_STOCK_QUERY = 100;
const SERVICE = 'inventory';
const STORE = 'inventory store';
function bad(message: string, field: string): DomainError {
  return new DomainError('BAD_USER_INPUT', message, { details: { field } });
}

function checkOrder(orderId: string, tenant: string): void {
  if (typeof orderId !== 'string' || !ORDER_ID.test(orderId)) throw bad('orderId must be a UUID', 'orderId');
  if (typeof tenant !== 'string' || !TENANT.test(tenant)) throw bad('tenant must be 1-64 of [a-z0-9-]', 'tenant');
}

function checkReason(reason: string): void {
  if (typeof reason !== 'string' || reason.trim() === '' || reason.length > MAX_REASON) {
    throw bad(`reason must be 1-${MAX_REASON} characters`, 'reason');
  }
}

/** Serialises every reserve and release of one order (taken first, so lock order stays global). */
async function lockOrder(client: pg.PoolClient, orderId: string): Promise<void> {
  await client.query(`SELECT pg_advisory_xact_lock(hashtextextended('inventory:' || $1, 0))`, [orderId]);
}

async function hasReservation(client: pg.PoolClient, orderId: string): Promise<boolean> {
  const res = await client.query('SELECT 1 FROM inventory_reservations WHERE order_id = $1 LIMIT 1', [orderId]);
  return (res.rowCount ?? 0) > 0;
}

/** Why a conditional decrement missed: the product is unknown, or it has too few units. */
async function shortageError(client: pg.PoolClient, line: StockLine): Promise<DomainError> {
  const res = await client.query<{ stock: number }>('SELECT stock FROM products WHERE id = $1', [line.productId]);
  const row = res.rows[0];
  if (!row) {
    return new DomainError('PRODUCT_NOT_FOUND', `unknown product ${line.productId}`, {
      details: { productId: line.productId },
    });
  }
  return new DomainError('INSUFFICIENT_STOCK', `only ${row.stock} of ${line.productId} left, ${line.quantity} asked`, {
    details: { productId: line.productId, available: row.stock, requested: line.quantity },
  });
}

async function takeStock(client: pg.PoolClient, lines: readonly StockLine[]): Promise<void> {
  for (const line of lines) {
    const res = await client.query(
      `UPDATE products SET stock = stock - $2, version = version + 1, updated_at = now()
       WHERE id = $1 AND stock >= $2 RETURNING stock`,
      [line.productId, line.quantity],
    );
    // Throwing rolls back the lines already taken: all or nothing.
    if (res.rowCount === 0) throw await shortageError(client, line);
  }
}

async function giveStockBack(client: pg.PoolClient, lines: readonly StockLine[]): Promise<void> {
  for (const line of lines) {
    await client.query(
      'UPDATE products SET stock = stock + $2, version = version + 1, updated_at = now() WHERE id = $1',
      [line.productId, line.quantity],
    );
  }
}

/** The Inventory port on PostgreSQL (plus getStock and releaseIfReserved); see the module comment. */
export function createPostgresInventory(pool: pg.Pool, opts: PostgresInventoryOptions): StockInventory {
  const tx = { maxAttempts: opts.maxAttempts ?? 4, store: STORE };
  const eventContext = () => ({ region: opts.region, service: SERVICE, traceparent: currentTraceparent() });

  async function reserve(orderId: string, tenant: string, lines: readonly StockLine[]): Promise<void> {
    checkOrder(orderId, tenant);
    const normalized = validateLines(lines);
    await inTransaction(
      pool,
      async (client) => {
        await lockOrder(client, orderId);
        // A known order is done, even when released since: reserving again would resurrect a cancelled order.
        if (await hasReservation(client, orderId)) return;
        await takeStock(client, normalized);
        await client.query(
          `INSERT INTO inventory_reservations (order_id, product_id, tenant, quantity, status)
         SELECT $1, product_id, $2, quantity, 'RESERVED'
         FROM unnest($3::text[], $4::int[]) AS l (product_id, quantity)`,
          [orderId, tenant, normalized.map((l) => l.productId), normalized.map((l) => l.quantity)],
        );
        const event = domainEvent(COMMERCE_EVENTS.inventoryReserved, orderId, tenant, { orderId, items: normalized });
        await appendToOutbox(client, [event], eventContext());
      },
      tx,
    );
  }

  async function releaseIfReserved(orderId: string, tenant: string, reason: string): Promise<boolean> {
    checkOrder(orderId, tenant);
    checkReason(reason);
    return inTransaction(
      pool,
      async (client) => {
        await lockOrder(client, orderId);
        // The tenant is part of the key: one tenant can never release another tenant's stock.
        const held = await client.query<{ product_id: string; quantity: number }>(
          `SELECT product_id, quantity FROM inventory_reservations
         WHERE order_id = $1 AND tenant = $2 AND status = 'RESERVED' FOR UPDATE`,
          [orderId, tenant],
        );
        if (held.rows.length === 0) return false;
        const items = normalizeLines(held.rows.map((r) => ({ productId: r.product_id, quantity: r.quantity })));
        await giveStockBack(client, items);
        await client.query(
          `UPDATE inventory_reservations SET status = 'RELEASED', released_at = now(), release_reason = $3
         WHERE order_id = $1 AND tenant = $2 AND status = 'RESERVED'`,
          [orderId, tenant, reason],
        );
        const event = domainEvent(COMMERCE_EVENTS.inventoryReleased, orderId, tenant, { orderId, items });
        await appendToOutbox(client, [event], eventContext());
        return true;
      },
      tx,
    );
  }

  async function adjustStock(adjustment: StockAdjustment): Promise<AdjustmentResult> {
    const a = validateAdjustment(adjustment, PRODUCT_ID);
    if (typeof a.tenant !== 'string' || !TENANT.test(a.tenant)) throw bad('tenant must be 1-64 of [a-z0-9-]', 'tenant');
    return inTransaction(
      pool,
      async (client) => {
        // Serialises repeats of one adjustment id, so exactly one of them applies it.
        await client.query(`SELECT pg_advisory_xact_lock(hashtextextended('adjustment:' || $1, 0))`, [a.adjustmentId]);
        const known = await client.query<{ product_id: string; available_after: number }>(
          'SELECT product_id, available_after FROM inventory_adjustments WHERE adjustment_id = $1',
          [a.adjustmentId],
        );
        const first = known.rows[0];
        if (first) return { productId: first.product_id, available: first.available_after, applied: false };
        // The same conditional update as a reservation: never below zero, whatever runs concurrently.
        const res = await client.query<{ stock: number }>(
          `UPDATE products SET stock = stock + $2, version = version + 1, updated_at = now()
           WHERE id = $1 AND stock + $2 >= 0 RETURNING stock`,
          [a.productId, a.delta],
        );
        const row = res.rows[0];
        if (!row) throw await shortageError(client, { productId: a.productId, quantity: -a.delta });
        await client.query(
          `INSERT INTO inventory_adjustments (adjustment_id, tenant, product_id, delta, available_after, reason)
           VALUES ($1, $2, $3, $4, $5, $6)`,
          [a.adjustmentId, a.tenant, a.productId, a.delta, row.stock, a.reason],
        );
        const event = domainEvent(COMMERCE_EVENTS.inventoryAdjusted, a.productId, a.tenant, {
          adjustmentId: a.adjustmentId,
          productId: a.productId,
          delta: a.delta,
          available: row.stock,
          reason: a.reason,
        });
        await appendToOutbox(client, [event], eventContext());
        return { productId: a.productId, available: row.stock, applied: true };
      },
      tx,
    );
  }

  async function getStock(productIds: readonly string[]): Promise<Map<string, number>> {
    if (productIds.length > MAX_STOCK_QUERY) throw bad(`at most ${MAX_STOCK_QUERY} product ids`, 'productIds');
    if (productIds.length === 0) return new Map();
    try {
      const res = await pool.query<{ id: string; stock: number }>(
        'SELECT id, stock FROM products WHERE id = ANY($1::text[])',
        [[...productIds]],
      );
      return new Map(res.rows.map((r) => [r.id, r.stock]));
    } catch (err) {
      throw translate(err, STORE);
    }
  }

  return {
    reserve,
    releaseIfReserved,
    getStock,
    adjustStock,
    async release(orderId, tenant, reason) {
      await releaseIfReserved(orderId, tenant, reason);
    },
  };
}
