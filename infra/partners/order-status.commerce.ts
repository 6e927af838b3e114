/**
 * Partners' OrderStatusReader through commerce's own OrderStore port (read-only; commerce's
 * adapter, commerce's mapping). Partners see the status, never the order's lines or payment.
 */
import type { OrderStore } from '../../domains/commerce/ports.ts';
import type { OrderStatusReader } from '../../domains/partners/ports.ts';

export function commerceOrderStatus(orders: Pick<OrderStore, 'getOrder'>): OrderStatusReader {
  return {
    async orderStatus(orderId) {
      const order = await orders.getOrder(orderId);
      if (!order) return undefined;
      return {
        orderId: order.id,
        tenant: order.tenant,
        status: order.status,
        updatedAt: order.updatedAt,
        ...(order.cancelReason ? { cancelReason: order.cancelReason } : {}),
      };
    },
  };
}
