/** The event envelope of ARCHITECTURE.md, with CloudEvents 1.0 attribute names. */
import type { DomainEvent } from '../../domains/shared/events.ts';
import { messageTraceparent } from '../telemetry/context.ts';

export interface Envelope<D = unknown> {
  readonly specversion: '1.0';
  /** uuid; the idempotency key of every consumer. */
  readonly id: string;
  /** `<domain>.<context>.<event>.v<N>`, also the topic. */
  readonly type: string;
  /** `/regions/<region>/<service>` */
  readonly source: string;
  readonly time: string;
  /** Aggregate id, also the Kafka key. */
  readonly subject: string;
  readonly tenant: string;
  readonly traceparent: string;
  readonly datacontenttype: 'application/json';
  readonly data: D;
}

export interface EnvelopeContext {
  readonly region: string;
  readonly service: string;
  /** The caller's traceparent, when no span is active: the event's creation span is its child. */
  readonly traceparent?: string | null;
  readonly now?: () => string;
  readonly uuid?: () => string;
}

export function eventSource(region: string, service: string): string {
  return `/regions/${region}/${service}`;
}

/** Wraps a domain event for the wire. */
export function envelope(event: DomainEvent, ctx: EnvelopeContext): Envelope {
  return {
    specversion: '1.0',
    id: ctx.uuid?.() ?? crypto.randomUUID(),
    type: event.type,
    source: eventSource(ctx.region, ctx.service),
    time: ctx.now?.() ?? new Date().toISOString(),
    subject: event.subject,
    tenant: event.tenant,
    traceparent: messageTraceparent(ctx.traceparent, { system: 'kafka', destination: event.type }),
    datacontenttype: 'application/json',
    data: event.data,
  };
}
