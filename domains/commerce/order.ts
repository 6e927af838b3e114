/**
 * The order aggregate and its state machine:
 * PENDING → CONFIRMED, or PENDING → CANCELLED with a reason. Terminal states never move.
 */
import { DomainError } from '../shared/errors.ts';

export const ORDER_STATUSES = ['PENDING', 'CONFIRMED', 'CANCELLED'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export interface OrderLine {
  readonly productId: string;
  readonly quantity: number;
  readonly unitPriceCents: number;
}

export interface Order {
  readonly id: string;
  readonly tenant: string;
  readonly userId: string;
  readonly status: OrderStatus;
  readonly items: readonly OrderLine[];
  readonly totalCents: number;
  readonly currency: string;
  readonly paymentToken: string;
  readonly cancelReason: string | null;
  /** Increases by one on every state change; projections use it to ignore stale events. */
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export type OrderTransition = { readonly to: 'CONFIRMED' } | { readonly to: 'CANCELLED'; readonly reason: string };

/** Applies a transition; throws INVALID_TRANSITION from a terminal state. */
export function transition(order: Order, t: OrderTransition, now: string): Order {
  if (order.status !== 'PENDING') {
    throw new DomainError('INVALID_TRANSITION', `order ${order.id} is ${order.status}; cannot become ${t.to}`, {
      details: { orderId: order.id, from: order.status, to: t.to },
    });
  }
  return {
    ...order,
    status: t.to,
    cancelReason: t.to === 'CANCELLED' ? t.reason : null,
    version: order.version + 1,
    updatedAt: now,
  };
}

export function orderTotal(items: readonly OrderLine[]): number {
  return items.reduce((sum, l) => sum + l.quantity * l.unitPriceCents, 0);
}

/** Order ids are UUIDs. */
export const ORDER_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function assertOrderId(id: string): void {
  if (!ORDER_ID.test(id)) {
    throw new DomainError('BAD_USER_INPUT', `malformed order id "${id.slice(0, 80)}"`, { details: { field: 'id' } });
  }
}
