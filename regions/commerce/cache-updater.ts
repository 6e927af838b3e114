/**
 * The cache updater: a projection of commerce events onto the region's caches. Stock
 * changes drop the products (and catalog pages); order events drop the order. Works on
 * events from either region (local or mirrored `<peer>.` topics).
 */
import { COMMERCE_EVENTS, type InventoryChangeData } from '../../domains/commerce/events.ts';
import type { Envelope } from '../../infra/events/envelope.ts';

export interface CacheInvalidation {
  invalidateProducts(ids: readonly string[]): Promise<void>;
  invalidateOrders(ids: readonly string[]): Promise<void>;
}

/** The local topic an event type arrives on, with or without a region prefix. */
export function baseType(topicOrType: string): string {
  return topicOrType.replace(/^(east|west)\./, '');
}

export const CACHE_UPDATER_TOPICS = [
  COMMERCE_EVENTS.inventoryReserved,
  COMMERCE_EVENTS.inventoryReleased,
  COMMERCE_EVENTS.orderCreated,
  COMMERCE_EVENTS.orderConfirmed,
  COMMERCE_EVENTS.orderCancelled,
];

export async function invalidateFor(event: Envelope, caches: CacheInvalidation): Promise<void> {
  switch (baseType(event.type)) {
    case COMMERCE_EVENTS.inventoryReserved:
    case COMMERCE_EVENTS.inventoryReleased: {
      const data = event.data as InventoryChangeData;
      await caches.invalidateProducts(data.items.map((i) => i.productId));
      return;
    }
    case COMMERCE_EVENTS.orderCreated:
    case COMMERCE_EVENTS.orderConfirmed:
    case COMMERCE_EVENTS.orderCancelled:
      await caches.invalidateOrders([event.subject]);
      return;
  }
}
