/**
 * Payment for a created order: ask the provider once, then confirm or cancel the order
 * (releasing its stock) exactly once per event, whatever the redeliveries.
 */
import { DomainError, isDomainError } from '../shared/errors.ts';
import { COMMERCE_EVENTS, domainEvent, type OrderCreatedData } from './events.ts';
import { type Order, transition } from './order.ts';
import type { Clock, Inventory, KeyedOrder, OrderStore, PaymentProvider, PaymentResult } from './ports.ts';

export const PAYMENT_CONSUMER = 'commerce-payment-processor';

export interface ProcessPaymentDeps {
  readonly orders: OrderStore;
  readonly inventory: Inventory;
  readonly provider: PaymentProvider;
  readonly clock: Clock;
}

/** The cancel reason of an order that duplicates another under the same idempotency key. */
export const DUPLICATE_REASON = 'duplicate of order';

/**
 * The order this one duplicates, when its idempotency key has another order (a write in flight
 * in a failed writer region, retried in the new one). Charged at most once per key: an order
 * already confirmed under the key wins; otherwise the pending one accepted under the higher
 * writer epoch (the client's latest answer), then the later, then the greater id — the same
 * verdict in whichever region decides, and for whichever of the two is processed first.
 */
function duplicateOf(keyed: readonly KeyedOrder[] | undefined, event: PaymentEvent, self: Order): string | undefined {
  if (keyed === undefined) return undefined;
  const others = keyed.filter((o) => o.id !== self.id);
  const confirmed = others.find((o) => o.status === 'CONFIRMED');
  if (confirmed) return confirmed.id;
  const rank = (o: Pick<KeyedOrder, 'writerEpoch' | 'createdAt' | 'id'>) =>
    [o.writerEpoch ?? -1, o.createdAt, o.id] as const;
  const mine = rank({ writerEpoch: event.data.writerEpoch ?? null, createdAt: self.createdAt, id: self.id });
  const beats = (o: KeyedOrder) => {
    const theirs = rank(o);
    for (let i = 0; i < 3; i++)
      if (theirs[i] !== mine[i]) return (theirs[i] as number | string) > (mine[i] as number | string);
    return false;
  };
  return others.find((o) => o.status === 'PENDING' && beats(o))?.id;
}

type PaymentEvent = { readonly id: string; readonly tenant: string; readonly data: OrderCreatedData };

/**
 * Handles one order.created event. Throws a retryable DomainError when the provider
 * is unavailable (the caller retries with backoff; the order stays PENDING).
 */
export async function processPayment(deps: ProcessPaymentDeps, event: PaymentEvent): Promise<Order> {
  const { orderId, idempotencyKey } = event.data;
  // Both reads at once: the key's orders are needed whenever the order is still pending.
  const [current, keyed] = await Promise.all([
    deps.orders.getOrder(orderId),
    idempotencyKey === undefined ? undefined : deps.orders.ordersForKey(event.tenant, idempotencyKey),
  ]);
  if (current !== undefined && current.status !== 'PENDING') {
    // Already decided: a redelivery, or an order the other region paid while it was the writer
    // (a takeover group's backlog after a failback). Nothing to charge and nothing to change (the
    // transaction below would find the order final and change nothing), so no transaction: a
    // backlog of these is read, not written. A cancelled order's stock goes back, idempotently,
    // as below.
    if (current.status === 'CANCELLED') {
      await deps.inventory.release(current.id, current.tenant, current.cancelReason ?? 'cancelled');
    }
    return current;
  }
  let result: PaymentResult | undefined;
  const twin = current?.status === 'PENDING' ? duplicateOf(keyed, event, current) : undefined;
  if (twin !== undefined) {
    // The same request was written in two regions around a failover (in flight in the old
    // writer, retried in the new one): the order the key resolves to is the client's; this
    // one is never charged.
    result = { outcome: 'DECLINED', reason: `${DUPLICATE_REASON} ${twin}` };
  } else if (current?.status === 'PENDING') {
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
    if (o.status !== 'PENDING') return undefined;
    if (decided === undefined) {
      // The read above did not find the order (a stale read: a peer's order copied just now, a
      // cached miss), but it is here and PENDING: marking the event done would leave it unpaid
      // for good. Nothing is committed; the retry reads it again.
      throw new DomainError('ORDER_NOT_FOUND', `order ${o.id} was not found when its payment began; retrying`, {
        retryable: true,
        details: { orderId: o.id },
      });
    }
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
