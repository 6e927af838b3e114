/**
 * The edge purge feed: a projection of commerce events onto the hub topic `edge.purge`,
 * which every edge instance follows to drop cached GraphQL responses tagged with the
 * entities an event changed (`Product:42`, `Order:<id>`, `User:<id>`, i.e. `<__typename>:<id>`
 * as the edge tags cached data). Because it projects Kafka events, a write through any path
 * — GraphQL, a bridge, a processor, the other region via mirroring — purges the edge.
 *
 * Stock changes purge softly (the edge may serve the stale response while it refetches: stock
 * is advisory and cached for seconds anyway); order state changes purge hard (a client who
 * just saw "confirmed" must not be shown "pending" again).
 *
 * The hub message id is the event id, so a Kafka redelivery is dropped by the hub, and the
 * same event arriving through both regions (local in one, mirrored in the other) is dropped
 * by the edge subscriber.
 */
import { COMMERCE_EVENTS, type InventoryChangeData } from '../../domains/commerce/events.ts';
import { type Actor, hasScope } from '../../domains/shared/actor.ts';
import type { Envelope } from '../../infra/events/envelope.ts';
import type { Hub } from '../hub/hub.ts';
import { baseType } from './cache-updater.ts';

/** The hub topic the edge subscribes to. */
export const PURGE_TOPIC = 'edge.purge';

/** The scope a token needs to follow PURGE_TOPIC: edge instances hold it, clients do not. */
export const PURGE_SCOPE = 'edge:purge';

/** The Kafka topics (local names; mirrored `<region>.` copies alike) this feed consumes. */
export const PURGE_FEED_TOPICS = [
  COMMERCE_EVENTS.inventoryReserved,
  COMMERCE_EVENTS.inventoryReleased,
  COMMERCE_EVENTS.orderCreated,
  COMMERCE_EVENTS.orderConfirmed,
  COMMERCE_EVENTS.orderCancelled,
];

/** The `data` of a purge message on PURGE_TOPIC. */
export interface PurgeMessageData {
  readonly tags: readonly string[];
  /** true: mark stale (serve while revalidating); false: drop now. */
  readonly soft: boolean;
  /** The CloudEvents source of the event that caused the purge, e.g. `/regions/east/commerce`. */
  readonly source: string;
  readonly type: string;
  readonly time: string;
}

interface OrderRefData {
  readonly orderId?: unknown;
  readonly userId?: unknown;
}

const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v !== '';

/** The entity tags whose cached responses an event makes stale; empty for events that change no cached entity. */
export function purgeTagsFor(event: Envelope): string[] {
  switch (baseType(event.type)) {
    case COMMERCE_EVENTS.inventoryReserved:
    case COMMERCE_EVENTS.inventoryReleased: {
      const items = (event.data as Partial<InventoryChangeData> | null)?.items;
      if (!Array.isArray(items)) return [];
      const ids = items.map((i) => (i as { productId?: unknown } | null)?.productId).filter(nonEmpty);
      return [...new Set(ids)].map((id) => `Product:${id}`);
    }
    case COMMERCE_EVENTS.orderCreated:
    case COMMERCE_EVENTS.orderConfirmed:
    case COMMERCE_EVENTS.orderCancelled: {
      const data = (event.data ?? {}) as OrderRefData;
      // The subject is the order id too; data wins when both are there (it is what the schema checks).
      const orderId = nonEmpty(data.orderId) ? data.orderId : event.subject;
      const tags = nonEmpty(orderId) ? [`Order:${orderId}`] : [];
      // User.orders lists the order with its status, so the user's cached responses are stale too.
      if (nonEmpty(data.userId)) tags.push(`User:${data.userId}`);
      return tags;
    }
    default:
      return [];
  }
}

/** Whether an event's purge may be soft: only stock changes, where a moment of staleness is harmless. */
export function isSoftPurge(event: Envelope): boolean {
  const type = baseType(event.type);
  return type === COMMERCE_EVENTS.inventoryReserved || type === COMMERCE_EVENTS.inventoryReleased;
}

/** Publishes the event's purge to PURGE_TOPIC; false when it purges nothing or the hub already had that id. */
export function feedPurges(hub: Pick<Hub, 'publish'>, event: Envelope): boolean {
  const tags = purgeTagsFor(event);
  if (tags.length === 0) return false;
  const data: PurgeMessageData = {
    tags,
    soft: isSoftPurge(event),
    source: event.source,
    type: baseType(event.type),
    time: event.time,
  };
  return hub.publish(PURGE_TOPIC, { id: event.id, event: 'purge', data });
}

/** Whether an actor may follow PURGE_TOPIC: only with the `edge:purge` scope. */
export function purgeTopicAuthorizer(actor: Actor): boolean {
  return hasScope(actor, PURGE_SCOPE);
}

/** Wraps a hub topic authorizer so PURGE_TOPIC is decided by purgeTopicAuthorizer and every other topic by `inner`. */
export function withPurgeTopic(
  inner: (actor: Actor, topic: string) => Promise<boolean>,
): (actor: Actor, topic: string) => Promise<boolean> {
  return async function authorizeWithPurge(actor, topic) {
    return topic === PURGE_TOPIC ? purgeTopicAuthorizer(actor) : inner(actor, topic);
  };
}
