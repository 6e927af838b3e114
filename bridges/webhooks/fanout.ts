/**
 * Kafka → the delivery queue: each domain event a module offers outside becomes a webhook message
 * of its tenant, with a delivery (and a queued first attempt) per subscribed endpoint. What an
 * endpoint sees of the event is what the owning module says (`data`), never more.
 */
import { type FanOutDeps, fanOut } from '../../domains/partners/deliver.ts';
import type { Envelope } from '../../infra/events/envelope.ts';

/** An event type offered outside and what subscribers see of it (a module's external event, structurally). */
export interface OfferedType {
  readonly type: string;
  data?(event: Envelope): Record<string, unknown>;
}

export interface WebhookFanout {
  /** The event types it consumes (local topic names). */
  readonly types: readonly string[];
  /** Handles one event at least once (idempotent: one message per tenant and event). */
  handle(event: Envelope): Promise<void>;
  readonly stats: { events: number; queued: number };
}

export function createWebhookFanout(deps: FanOutDeps, offered: readonly OfferedType[]): WebhookFanout {
  const byType = new Map(offered.map((o) => [o.type, o]));
  const stats = { events: 0, queued: 0 };
  return {
    types: [...byType.keys()],
    stats,
    async handle(event) {
      const offer = byType.get(event.type);
      if (!offer) return;
      const data = offer.data ? offer.data(event) : event.data;
      stats.events++;
      stats.queued += await fanOut(deps, {
        id: event.id,
        type: event.type,
        tenant: event.tenant,
        time: event.time,
        data,
      });
    },
  };
}
