import type { DomainEvent as AnyDomainEvent } from '../shared/events.ts';

/**
 * Commerce domain events. The type is also the Kafka topic
 * (`<domain>.<context>.<event>.v<N>`); the subject is the aggregate id (the Kafka key).
 * The envelope (id, source, time, traceparent) is added by infra when it is written.
 */
export const COMMERCE_EVENTS = {
  orderCreated: 'commerce.order.created.v1',
  orderConfirmed: 'commerce.order.confirmed.v1',
  orderCancelled: 'commerce.order.cancelled.v1',
  paymentAuthorized: 'commerce.payment.authorized.v1',
  paymentDeclined: 'commerce.payment.declined.v1',
  inventoryReserved: 'commerce.inventory.reserved.v1',
  inventoryReleased: 'commerce.inventory.released.v1',
  inventoryAdjusted: 'commerce.inventory.adjusted.v1',
} as const;

export type CommerceEventType = (typeof COMMERCE_EVENTS)[keyof typeof COMMERCE_EVENTS];

export interface OrderLineData {
  readonly productId: string;
  readonly quantity: number;
  readonly unitPriceCents: number;
}

export interface OrderCreatedData {
  readonly orderId: string;
  readonly userId: string;
  readonly status: 'PENDING';
  readonly items: readonly OrderLineData[];
  readonly totalCents: number;
  readonly currency: string;
  readonly paymentToken: string;
  readonly version: number;
  /** The idempotency key and request hash it was placed under, so a standby copy answers retries alike. */
  readonly idempotencyKey?: string;
  readonly requestHash?: string;
  /** The writer lease epoch it was accepted under. */
  readonly writerEpoch?: number;
}

export interface OrderConfirmedData {
  readonly orderId: string;
  readonly userId: string;
  readonly status: 'CONFIRMED';
  readonly version: number;
}

export interface OrderCancelledData {
  readonly orderId: string;
  readonly userId: string;
  readonly status: 'CANCELLED';
  readonly reason: string;
  readonly version: number;
}

export interface PaymentAuthorizedData {
  readonly orderId: string;
  readonly authorizationId: string;
  readonly amountCents: number;
  readonly currency: string;
}

export interface PaymentDeclinedData {
  readonly orderId: string;
  readonly reason: string;
  readonly amountCents: number;
  readonly currency: string;
}

export interface InventoryChangeData {
  readonly orderId: string;
  readonly items: ReadonlyArray<{ readonly productId: string; readonly quantity: number }>;
}

export interface InventoryAdjustedData {
  readonly adjustmentId: string;
  readonly productId: string;
  readonly delta: number;
  readonly available: number;
  readonly reason: string;
}

export interface CommerceEventData {
  'commerce.order.created.v1': OrderCreatedData;
  'commerce.order.confirmed.v1': OrderConfirmedData;
  'commerce.order.cancelled.v1': OrderCancelledData;
  'commerce.payment.authorized.v1': PaymentAuthorizedData;
  'commerce.payment.declined.v1': PaymentDeclinedData;
  'commerce.inventory.reserved.v1': InventoryChangeData;
  'commerce.inventory.released.v1': InventoryChangeData;
  'commerce.inventory.adjusted.v1': InventoryAdjustedData;
}

/** A commerce event before infra wraps it; the subject is the order id (the product id for an adjustment). */
export type DomainEvent<T extends CommerceEventType = CommerceEventType> = AnyDomainEvent<T, CommerceEventData[T]>;

export function domainEvent<T extends CommerceEventType>(
  type: T,
  subject: string,
  tenant: string,
  data: CommerceEventData[T],
): DomainEvent<T> {
  return { type, subject, tenant, data };
}
