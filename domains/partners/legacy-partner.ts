/**
 * A legacy partner: a back end that talks AMQP or SOAP to the platform with credentials of its
 * own, in one tenant. Its id is its user name on both. Each partner is limited: a rate (messages
 * per second the AMQP bridge takes from it), a queue bound (what the broker holds for it before
 * refusing its publishes), and the event types it may send in.
 */
import { DomainError } from '../shared/errors.ts';
import { INBOUND_EVENT_TYPES } from './events.ts';

export type PartnerStatus = 'ACTIVE' | 'DISABLED';

export interface LegacyPartner {
  /** `lp_` + 32 lowercase hex: also its user name (AMQP and SOAP). */
  readonly id: string;
  readonly tenant: string;
  readonly name: string;
  readonly status: PartnerStatus;
  /** Messages per second the AMQP bridge takes from this partner (bursts of up to one second's worth). */
  readonly ratePerSecond: number;
  /** Messages the broker holds for this partner before refusing (nacking) its publishes. */
  readonly maxQueued: number;
  /** Event types the partner may send in over AMQP. */
  readonly inboundEventTypes: readonly string[];
  readonly passwordHash: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export const PARTNER_ID = /^lp_[0-9a-f]{32}$/;
export const MAX_RATE = 100_000;
export const DEFAULT_RATE = 100;
export const MAX_QUEUED = 1_000_000;
export const DEFAULT_MAX_QUEUED = 10_000;

export interface PartnerInput {
  readonly name: unknown;
  readonly ratePerSecond?: unknown;
  readonly maxQueued?: unknown;
  readonly inboundEventTypes?: unknown;
}

function intIn(raw: unknown, field: string, min: number, max: number, fallback: number): number {
  if (raw === undefined || raw === null) return fallback;
  if (typeof raw !== 'number' || !Number.isSafeInteger(raw) || raw < min || raw > max) {
    throw new DomainError('BAD_USER_INPUT', `${field} must be an integer ${min}-${max}`, { details: { field } });
  }
  return raw;
}

/** Checks what a registration asks for; the defaults fill what it leaves out. */
export function validatePartnerInput(input: PartnerInput): {
  name: string;
  ratePerSecond: number;
  maxQueued: number;
  inboundEventTypes: string[];
} {
  const name = typeof input.name === 'string' ? input.name.trim() : '';
  if (name.length === 0 || name.length > 100) {
    throw new DomainError('BAD_USER_INPUT', 'name must be 1-100 characters', { details: { field: 'name' } });
  }
  const types = input.inboundEventTypes ?? INBOUND_EVENT_TYPES;
  if (!Array.isArray(types) || types.some((t) => typeof t !== 'string' || !INBOUND_EVENT_TYPES.includes(t))) {
    throw new DomainError('BAD_USER_INPUT', `inboundEventTypes must be among ${INBOUND_EVENT_TYPES.join(', ')}`, {
      details: { field: 'inboundEventTypes' },
    });
  }
  return {
    name,
    ratePerSecond: intIn(input.ratePerSecond, 'ratePerSecond', 1, MAX_RATE, DEFAULT_RATE),
    maxQueued: intIn(input.maxQueued, 'maxQueued', 1, MAX_QUEUED, DEFAULT_MAX_QUEUED),
    inboundEventTypes: [...new Set(types as string[])],
  };
}
