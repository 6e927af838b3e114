/**
 * Cache-first order reads: getOrder is read through Redis (writes go straight to the
 * store and are invalidated by the cache updater from the order's events).
 */
import type { Redis } from 'ioredis';
import type { Order } from '../../domains/commerce/order.ts';
import type { OrderStore } from '../../domains/commerce/ports.ts';
import { createReadThroughCache, type ReadThroughCache } from '../cache/read-through.ts';

export interface CachedOrderStore extends OrderStore {
  invalidateOrders(ids: readonly string[]): Promise<void>;
  readonly orderCache: ReadThroughCache<Order>;
}

export function createCachedOrderStore(store: OrderStore, redis: Redis, ttlSeconds = 30): CachedOrderStore {
  const orderCache = createReadThroughCache<Order>({
    redis,
    namespace: 'commerce:order',
    ttlSeconds,
    negativeTtlSeconds: 2,
  });
  return {
    ...store,
    orderCache,
    getOrder: (id) => orderCache.get(id, () => store.getOrder(id)),
    // A state change must never be served stale to the one who made it.
    placeOnce: async (claim, decide) => {
      const result = await store.placeOnce(claim, decide);
      await orderCache.invalidate(result.order.id);
      return result;
    },
    applyOnce: async (consumer, eventId, orderId, change) => {
      const result = await store.applyOnce(consumer, eventId, orderId, change);
      await orderCache.invalidate(orderId);
      return result;
    },
    invalidateOrders: (ids) => orderCache.invalidate(...ids),
  };
}
