/**
 * Payment for a created order: ask the provider once, then confirm or cancel the order
 * (releasing its stock) exactly once per event, whatever the redeliveries.
 */
import { isDomainError } from '../shared/errors.ts';
import { COMMERCE_EVENTS, domainEvent, type OrderCreatedData } from './events.ts';
import { type Order, transition } from './order.ts';
import type { Clock, Inventory, OrderStore, PaymentProvider, PaymentResult } from './ports.ts';

export const PAYMENT_CONSUMER = 'commerce-payment-processor';

export interface ProcessPaymentDeps {
  readonly orders: OrderStore;
  readonly inventory: Inventory;
  readonly provider: PaymentProvider;
  readonly clock: Clock;
}

/**
 * Handles one order.created event. Throws a retryable DomainError when the provider
 * is unavailable (the caller retries with backoff; the order stays PENDING).
 */
export async function processPayment(
  deps: ProcessPaymentDeps,
  event: { readonly id: string; readonly tenant: string; readonly data: OrderCreatedData },
): Promise<Order> {
  const { orderId } = event.data;
  const current = await deps.orders.getOrder(orderId);
  let result: PaymentResult | undefined;
  if (current?.status === 'PENDING') {
    try {
      result = await deps.provider.authorize({
        orderId,
        amountCents: event.data.totalCents,
        currency: event.data.currency,
        paymentToken: event.data.paymentToken,
      });
    } catch (err) {
      if (!isDomainError(err, 'PAYMENT_PROVIDER_FAULT')) throw err;
      result = { outcome: 'DECLINED', reason: `payment provider fault: ${err.message}` };
    }
  }
  const decided = result;
  const { order } = await deps.orders.applyOnce(PAYMENT_CONSUMER, event.id, orderId, (o) => {
    if (o.status !== 'PENDING' || decided === undefined) return undefined;
    const now = deps.clock.now();
    const base = { orderId: o.id, amountCents: o.totalCents, currency: o.currency };
    if (decided.outcome === 'AUTHORIZED') {
      const next = transition(o, { to: 'CONFIRMED' }, now);
      return {
        order: next,
        events: [
          domainEvent(COMMERCE_EVENTS.paymentAuthorized, o.id, o.tenant, {
            ...base,
            authorizationId: decided.authorizationId,
          }),
          domainEvent(COMMERCE_EVENTS.orderConfirmed, o.id, o.tenant, {
            orderId: o.id,
            userId: o.userId,
            status: 'CONFIRMED',
            version: next.version,
          }),
        ],
      };
    }
    const next = transition(o, { to: 'CANCELLED', reason: decided.reason }, now);
    return {
      order: next,
      events: [
        domainEvent(COMMERCE_EVENTS.paymentDeclined, o.id, o.tenant, { ...base, reason: decided.reason }),
        domainEvent(COMMERCE_EVENTS.orderCancelled, o.id, o.tenant, {
          orderId: o.id,
          userId: o.userId,
          status: 'CANCELLED',
          reason: decided.reason,
          version: next.version,
        }),
      ],
    };
  });
  // Idempotent: also covers a crash between the commit above and this release.
  if (order.status === 'CANCELLED') {
    await deps.inventory.release(order.id, order.tenant, order.cancelReason ?? 'cancelled');
  }
  return order;
}
