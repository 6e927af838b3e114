/**
 * A legacy partner's AMQP message → a domain event. The partner publishes to the inbound exchange
 * with routing key `<partner id>.<anything>` (the broker lets it publish no other key), a
 * `message_id` (its idempotency key: redelivered or republished, one id is one event), and a JSON
 * body `{ "type", "subject"?, "data" }`. The tenant and `data.partnerId` come from the partner's
 * account, never from the message; the event's schema is checked when it is produced.
 *
 * AMQP 0-9-1 basic properties: `message-id` "application message identifier"; `user-id` "creating
 * user id" (RabbitMQ refuses a publish whose user-id is not the connection's user).
 */
import { DomainError } from '../shared/errors.ts';
import type { DomainEvent } from '../shared/events.ts';
import type { LegacyPartner } from './legacy-partner.ts';

export interface InboundMessage {
  readonly routingKey: string;
  readonly body: string;
  readonly messageId?: string;
  readonly userId?: string;
}

export const MAX_INBOUND_BYTES = 64 * 1024;
const MESSAGE_ID = /^[\x21-\x7e]{1,128}$/;

function refuse(reason: string): DomainError {
  return new DomainError('BAD_USER_INPUT', reason);
}

/** The event a partner's message stands for, and its idempotency key; BAD_USER_INPUT with the reason otherwise. */
export function inboundEvent(partner: LegacyPartner, m: InboundMessage): { event: DomainEvent; key: string } {
  if (!m.routingKey.startsWith(`${partner.id}.`)) throw refuse(`routing key ${m.routingKey} is not the partner's`);
  if (m.userId !== undefined && m.userId !== partner.id) throw refuse(`user-id ${m.userId} is not the partner's`);
  if (m.messageId === undefined || !MESSAGE_ID.test(m.messageId)) {
    throw refuse('message-id is required: 1-128 printable ASCII characters');
  }
  if (m.body.length > MAX_INBOUND_BYTES) throw refuse(`body larger than ${MAX_INBOUND_BYTES} bytes`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(m.body);
  } catch {
    throw refuse('body is not JSON');
  }
  const { type, subject, data } = (parsed ?? {}) as { type?: unknown; subject?: unknown; data?: unknown };
  if (typeof type !== 'string' || !partner.inboundEventTypes.includes(type)) {
    throw refuse(
      `type ${JSON.stringify(type)} is not one this partner may send (${partner.inboundEventTypes.join(', ')})`,
    );
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw refuse('data must be a JSON object');
  if (subject !== undefined && (typeof subject !== 'string' || subject.length === 0 || subject.length > 200)) {
    throw refuse('subject must be 1-200 characters');
  }
  return {
    key: `${partner.id}/${m.messageId}`,
    event: {
      type,
      subject: (subject as string | undefined) ?? partner.id,
      tenant: partner.tenant,
      data: { ...(data as Record<string, unknown>), partnerId: partner.id },
    },
  };
}
