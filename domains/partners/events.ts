/**
 * Partners' own events. The type is also the Kafka topic (`<domain>.<context>.<event>.v<N>`);
 * the envelope is added by infra. Two kinds: what the webhook machinery reports about itself
 * (an endpoint disabled, a message given up on), and what legacy partners send in over AMQP.
 */
import type { DomainEvent } from '../shared/events.ts';

export const PARTNERS_EVENTS = {
  endpointDisabled: 'partners.endpoint.disabled.v1',
  deliveryExhausted: 'partners.delivery.exhausted.v1',
  shipmentUpdated: 'partners.shipment.updated.v1',
  stockReported: 'partners.stock.reported.v1',
} as const;

export type PartnersEventType = (typeof PARTNERS_EVENTS)[keyof typeof PARTNERS_EVENTS];

/** Why an endpoint stopped receiving: a user said so, it answered 410 Gone, or it failed for too long. */
export type DisabledReason = 'MANUAL' | 'GONE' | 'FAILING';

export interface EndpointDisabledData {
  readonly endpointId: string;
  readonly url: string;
  readonly reason: DisabledReason;
  /** When the failing stretch began (FAILING only). */
  readonly failingSince?: string;
  readonly disabledAt: string;
}

export interface DeliveryExhaustedData {
  readonly endpointId: string;
  readonly messageId: string;
  readonly eventType: string;
  readonly attempts: number;
  readonly lastStatusCode?: number;
  readonly lastError?: string;
}

/** Event types legacy partners may send in (AMQP), unless a partner is limited to fewer. */
export const INBOUND_EVENT_TYPES: readonly string[] = [PARTNERS_EVENTS.shipmentUpdated, PARTNERS_EVENTS.stockReported];

/** A partners event before infra wraps it. */
export function partnersEvent<D>(type: PartnersEventType, subject: string, tenant: string, data: D): DomainEvent {
  return { type, subject, tenant, data };
}
