/**
 * What commerce offers subscribers outside the platform (webhook endpoints): order status
 * changes. An order's payment token stays inside: it is a credential, not order status.
 */
import { COMMERCE_EVENTS } from '../../domains/commerce/events.ts';
import type { ExternalEvent } from '../host/domain-module.ts';

function withoutPaymentToken(data: unknown): Record<string, unknown> {
  const { paymentToken: _, ...rest } = (data ?? {}) as Record<string, unknown>;
  return rest;
}

/** Order created, confirmed and cancelled, as external subscribers receive them. */
export const COMMERCE_EXTERNAL_EVENTS: readonly ExternalEvent[] = [
  { type: COMMERCE_EVENTS.orderCreated, data: (event) => withoutPaymentToken(event.data) },
  { type: COMMERCE_EVENTS.orderConfirmed },
  { type: COMMERCE_EVENTS.orderCancelled },
];
