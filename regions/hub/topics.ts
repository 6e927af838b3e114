/**
 * Which commerce topics an actor may follow on the hub, and the topic names publishers use.
 * A denied topic and a topic about an order that does not exist look the same (false), so
 * the hub never tells a caller whether someone else's order exists.
 */
import type { Actor } from '../../domains/shared/actor.ts';

/** Looks up who owns an order; undefined when there is no such order. */
export type OrderOwnerLookup = (orderId: string) => Promise<{ tenant: string; userId: string } | undefined>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ORDER_TOPIC = /^order\.([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
/** Subject characters that may appear in a topic as they are; everything else is escaped. */
const PLAIN = /[a-z0-9_.-]/;

/** The topic with every event about one order: `order.<uuid>` (lower-case). */
export function orderTopic(orderId: string): string {
  const id = orderId.toLowerCase(); // RFC 9562: UUID hex digits compare case-insensitively
  if (!UUID.test(id)) throw new TypeError(`order id "${orderId}" is not a UUID`);
  return `order.${id}`;
}

/**
 * The topic with one user's order events: `user.<sub>.orders`. Topics are lower-case only,
 * but subjects are case-sensitive ("Alice" and "alice" are different users), so any byte
 * outside [a-z0-9_.-] is written as `:` plus two hex digits — an injective encoding, so no
 * two subjects share a topic. Common subjects (uuids, "u1") are unchanged.
 */
export function userOrdersTopic(userId: string): string {
  let encoded = '';
  for (const ch of userId) {
    if (PLAIN.test(ch)) encoded += ch;
    else for (const byte of new TextEncoder().encode(ch)) encoded += `:${byte.toString(16).padStart(2, '0')}`;
  }
  return `user.${encoded}.orders`;
}

/** Commerce topic rules: an order's topic for its owner (same tenant and user), a user's orders topic for that user. */
export function commerceTopicAuthorizer(deps: {
  orderOwner: OrderOwnerLookup;
}): (actor: Actor, topic: string) => Promise<boolean> {
  const { orderOwner } = deps;
  return async function authorizeCommerceTopic(actor, topic) {
    if (topic.startsWith('user.')) return topic === userOrdersTopic(actor.subject);
    const match = ORDER_TOPIC.exec(topic);
    if (match === null) return false;
    const owner = await orderOwner(match[1] as string);
    return owner !== undefined && owner.tenant === actor.tenant && owner.userId === actor.subject;
  };
}
