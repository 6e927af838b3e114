/**
 * A webhook endpoint: where a tenant wants some of the platform's events POSTed, signed with a
 * secret of its own (Standard Webhooks). Rules: an http(s) URL without credentials, at most 2048
 * characters; 1-50 event types, each one the platform offers; a secret rotated keeps the old one
 * signing for an overlap, so receivers can switch without losing a message.
 *
 * Standard Webhooks, "Signature scheme": symmetric secrets are "Random. At least 24 bytes (192
 * bits, 512 maximum)", serialized "base64 encoded, prefixed with `whsec_`".
 */
import { DomainError } from '../shared/errors.ts';
import type { DomainEvent } from '../shared/events.ts';
import { type DisabledReason, type EndpointDisabledData, PARTNERS_EVENTS, partnersEvent } from './events.ts';

export type EndpointStatus = 'ENABLED' | 'DISABLED';

export interface WebhookEndpoint {
  /** `ep_` + 32 lowercase hex. */
  readonly id: string;
  readonly tenant: string;
  readonly url: string;
  readonly description: string;
  readonly eventTypes: readonly string[];
  readonly status: EndpointStatus;
  readonly disabledReason?: DisabledReason;
  /** The current signing secret (`whsec_…`). */
  readonly secret: string;
  /** The secret before the last rotation, still signing until `expiresAt`. */
  readonly previousSecret?: { readonly secret: string; readonly expiresAt: string };
  /** First failed attempt of the current unbroken run of failures; absent while healthy. */
  readonly failingSince?: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Bumped by every change; an update names the version it read (optimistic concurrency). */
  readonly version: number;
}

export const ENDPOINT_ID = /^ep_[0-9a-f]{32}$/;
export const SECRET = /^whsec_[A-Za-z0-9+/]{32,684}={0,2}$/;
export const MAX_URL_LENGTH = 2048;
export const MAX_EVENT_TYPES = 50;
export const MAX_DESCRIPTION = 200;

function bad(message: string, field: string): DomainError {
  return new DomainError('BAD_USER_INPUT', message, { details: { field } });
}

/** Checks an endpoint URL's shape; where it points is checked by the AddressGuard port. */
export function validateUrl(raw: unknown): string {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_URL_LENGTH) {
    throw bad(`url must be 1-${MAX_URL_LENGTH} characters`, 'url');
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw bad('url is not a valid URL', 'url');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw bad('url must be http or https', 'url');
  if (url.username || url.password) throw bad('url must not carry credentials', 'url');
  if (url.hash) throw bad('url must not have a fragment', 'url');
  if (!url.hostname) throw bad('url needs a host', 'url');
  return url.toString();
}

/** Distinct event types, each one the platform offers (in the order given). */
export function validateEventTypes(raw: unknown, offered: ReadonlySet<string>): string[] {
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_EVENT_TYPES) {
    throw bad(`eventTypes must list 1-${MAX_EVENT_TYPES} event types`, 'eventTypes');
  }
  const types = [...new Set(raw)];
  for (const t of types) {
    if (typeof t !== 'string' || !offered.has(t)) {
      throw new DomainError('BAD_USER_INPUT', `${JSON.stringify(t)} is not an event type endpoints can receive`, {
        details: { field: 'eventTypes', eventType: t },
      });
    }
  }
  return types as string[];
}

export function validateDescription(raw: unknown): string {
  if (raw === undefined || raw === null) return '';
  if (typeof raw !== 'string' || raw.length > MAX_DESCRIPTION) {
    throw bad(`description must be at most ${MAX_DESCRIPTION} characters`, 'description');
  }
  return raw;
}

/** The secrets that sign a message sent at `now`: the current one, and the previous during its overlap. */
export function signingSecrets(endpoint: WebhookEndpoint, now: string): string[] {
  const previous = endpoint.previousSecret;
  return previous && previous.expiresAt > now ? [endpoint.secret, previous.secret] : [endpoint.secret];
}

/** The endpoint with a new secret; the old one keeps signing until `now + overlapMs`. */
export function rotated(endpoint: WebhookEndpoint, secret: string, now: string, overlapMs: number): WebhookEndpoint {
  if (!SECRET.test(secret)) throw new DomainError('INTERNAL', 'a generated secret has the wrong shape');
  const expiresAt = new Date(Date.parse(now) + overlapMs).toISOString();
  return { ...endpoint, secret, previousSecret: { secret: endpoint.secret, expiresAt }, updatedAt: now };
}

/** Whether the endpoint takes `eventType` (its subscription) while enabled. */
export function subscribes(endpoint: WebhookEndpoint, eventType: string): boolean {
  return endpoint.status === 'ENABLED' && endpoint.eventTypes.includes(eventType);
}

/** The endpoint disabled for `reason`; already disabled stays as it was. */
export function disabled(endpoint: WebhookEndpoint, reason: DisabledReason, now: string): WebhookEndpoint {
  if (endpoint.status === 'DISABLED') return endpoint;
  return { ...endpoint, status: 'DISABLED', disabledReason: reason, updatedAt: now };
}

/** The endpoint enabled again with a clean record: the failing stretch that disabled it is over. */
export function enabled(endpoint: WebhookEndpoint, now: string): WebhookEndpoint {
  if (endpoint.status === 'ENABLED') return endpoint;
  const { disabledReason: _, failingSince: __, ...rest } = endpoint;
  return { ...rest, status: 'ENABLED', updatedAt: now };
}

/** Auto-disable rule (Svix: an endpoint failing for 5 days is disabled): failing for at least `afterMs` by `now`. */
export function failingTooLong(failingSince: string | undefined, now: string, afterMs: number): boolean {
  return failingSince !== undefined && Date.parse(now) - Date.parse(failingSince) >= afterMs;
}

/** The event of an endpoint just disabled (its reason, and for FAILING when the stretch began). */
export function endpointDisabledEvent(endpoint: WebhookEndpoint, now: string): DomainEvent {
  const data: EndpointDisabledData = {
    endpointId: endpoint.id,
    url: endpoint.url,
    reason: endpoint.disabledReason ?? 'MANUAL',
    ...(endpoint.failingSince && endpoint.disabledReason === 'FAILING' ? { failingSince: endpoint.failingSince } : {}),
    disabledAt: now,
  };
  return partnersEvent(PARTNERS_EVENTS.endpointDisabled, endpoint.id, endpoint.tenant, data);
}
