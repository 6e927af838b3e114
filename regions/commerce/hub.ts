/**
 * Commerce on the hub: the topics a client may follow (an order's, and a user's own orders),
 * and the projection of order events onto them. Topics are relative to the client's tenant
 * (the host scopes them), so the rules here only decide within one tenant.
 */
import { COMMERCE_EVENTS } from '../../domains/commerce/events.ts';
import type { Envelope } from '../../infra/events/envelope.ts';
import type { HubFeed, HubPublication, HubTopic } from '../host/domain-module.ts';
import { topicSegment } from '../hub/topics.ts';

/** Looks up who owns an order; undefined when there is no such order. */
export type OrderOwnerLookup = (orderId: string) => Promise<{ tenant: string; userId: string } | undefined>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ORDER_TOPIC = /^order\.([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
const USER_ORDERS_TOPIC = /^user\.[a-z0-9_.:-]+\.orders$/;

/** The topic with every event about one order: `order.<uuid>` (lower-case). */
export function orderTopic(orderId: string): string {
  const id = orderId.toLowerCase(); // RFC 9562: UUID hex digits compare case-insensitively
  if (!UUID.test(id)) throw new TypeError(`order id "${orderId}" is not a UUID`);
  return `order.${id}`;
}

/** The topic with one user's order events: `user.<sub>.orders` (the subject escaped by topicSegment). */
export function userOrdersTopic(userId: string): string {
  return `user.${topicSegment(userId)}.orders`;
}

/** Who may follow commerce topics: an order's topic its owner (same tenant and user), a user's orders topic that user. */
export function commerceHubTopics(orderOwner: OrderOwnerLookup): HubTopic[] {
  return [
    {
      pattern: ORDER_TOPIC,
      async authorize(actor, topic) {
        const match = ORDER_TOPIC.exec(topic);
        const owner = match ? await orderOwner(match[1] as string) : undefined;
        return owner !== undefined && owner.tenant === actor.tenant && owner.userId === actor.subject;
      },
    },
    { pattern: USER_ORDERS_TOPIC, authorize: async (actor, topic) => topic === userOrdersTopic(actor.subject) },
  ];
}

interface OrderStateData {
  readonly orderId: string;
  readonly userId: string;
  readonly status: string;
  readonly version: number;
  readonly reason?: string;
  readonly totalCents?: number;
  readonly currency?: string;
}

const ORDER_STATE_EVENTS: readonly string[] = [
  COMMERCE_EVENTS.orderCreated,
  COMMERCE_EVENTS.orderConfirmed,
  COMMERCE_EVENTS.orderCancelled,
];

/** Every order state change goes to `order.<id>` and to `user.<userId>.orders`, with the event id as message id. */
export const commerceHubFeed: HubFeed = {
  topics: ORDER_STATE_EVENTS,
  publications(event: Envelope): HubPublication[] {
    if (!ORDER_STATE_EVENTS.includes(event.type)) return [];
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
    const message = { id: event.id, event: event.type, data };
    return [
      { topic: orderTopic(d.orderId), message },
      { topic: userOrdersTopic(d.userId), message },
    ];
  },
};
