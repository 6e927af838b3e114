/**
 * Feeds the fan-out hub from commerce events: every order state change goes to
 * `order.<id>` and to `user.<userId>.orders`, with the event id as SSE id. A
 * projection of events, so it serves local and mirrored topics alike.
 */
import { COMMERCE_EVENTS } from '../../domains/commerce/events.ts';
import type { Envelope } from '../../infra/events/envelope.ts';
import type { Hub } from '../hub/hub.ts';
import { orderTopic, userOrdersTopic } from '../hub/topics.ts';
import { baseType } from './cache-updater.ts';

export const HUB_FEED_TOPICS = [
  COMMERCE_EVENTS.orderCreated,
  COMMERCE_EVENTS.orderConfirmed,
  COMMERCE_EVENTS.orderCancelled,
];

interface OrderStateData {
  readonly orderId: string;
  readonly userId: string;
  readonly status: string;
  readonly version: number;
  readonly reason?: string;
  readonly totalCents?: number;
  readonly currency?: string;
}

/** Publishes an order event to its order's and its user's topics. */
export function feedOrderEvent(hub: Pick<Hub, 'publish'>, event: Envelope): void {
  const type = baseType(event.type);
  if (!HUB_FEED_TOPICS.includes(type as (typeof HUB_FEED_TOPICS)[number])) return;
  const d = event.data as OrderStateData;
  const data = {
    orderId: d.orderId,
    status: d.status,
    version: d.version,
    ...(d.reason ? { reason: d.reason } : {}),
    ...(d.totalCents !== undefined ? { totalCents: d.totalCents, currency: d.currency } : {}),
    time: event.time,
    source: event.source,
  };
  const message = { id: event.id, event: type, data };
  hub.publish(orderTopic(d.orderId), message);
  hub.publish(userOrdersTopic(d.userId), message);
}
