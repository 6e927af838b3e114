/**
 * What each commerce event changed, for the region's caches and the edge's purge alike (one
 * switch). Stock changes make products stale, softly: stock is advisory and cached for
 * seconds anyway, so the edge may serve the stale answer while it refetches. Order state
 * changes are hard: a client who just saw "confirmed" must not be shown "pending" again; and
 * `User.orders` lists the order with its status, so the user's cached answers are stale too.
 */
import { COMMERCE_EVENTS, type InventoryChangeData } from '../../domains/commerce/events.ts';
import type { Envelope } from '../../infra/events/envelope.ts';
import type { EntityChange, EntityRef } from '../host/domain-module.ts';

const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v !== '';

/** The commerce events that change something cached (payment outcomes do not: the order's state change does). */
export const COMMERCE_CHANGING_EVENTS: readonly string[] = [
  COMMERCE_EVENTS.inventoryReserved,
  COMMERCE_EVENTS.inventoryReleased,
  COMMERCE_EVENTS.inventoryAdjusted,
  COMMERCE_EVENTS.orderCreated,
  COMMERCE_EVENTS.orderConfirmed,
  COMMERCE_EVENTS.orderCancelled,
];

/** The entities a commerce event changed; undefined for events that change nothing cached. */
export function commerceChangedEntities(event: Envelope): EntityChange | undefined {
  switch (event.type) {
    case COMMERCE_EVENTS.inventoryReserved:
    case COMMERCE_EVENTS.inventoryReleased: {
      const items = (event.data as Partial<InventoryChangeData> | null)?.items;
      if (!Array.isArray(items)) return undefined;
      const ids = items.map((i) => (i as { productId?: unknown } | null)?.productId).filter(nonEmpty);
      return { entities: [...new Set(ids)].map((id): EntityRef => ({ type: 'Product', id })), soft: true };
    }
    case COMMERCE_EVENTS.inventoryAdjusted: {
      const productId = (event.data as { productId?: unknown } | null)?.productId;
      return nonEmpty(productId) ? { entities: [{ type: 'Product', id: productId }], soft: true } : undefined;
    }
    case COMMERCE_EVENTS.orderCreated:
    case COMMERCE_EVENTS.orderConfirmed:
    case COMMERCE_EVENTS.orderCancelled: {
      const data = (event.data ?? {}) as { orderId?: unknown; userId?: unknown };
      // The subject is the order id too; data wins when both are there (it is what the schema checks).
      const orderId = nonEmpty(data.orderId) ? data.orderId : event.subject;
      const entities: EntityRef[] = nonEmpty(orderId) ? [{ type: 'Order', id: orderId }] : [];
      if (nonEmpty(data.userId)) entities.push({ type: 'User', id: data.userId });
      return { entities, soft: false };
    }
    default:
      return undefined;
  }
}
