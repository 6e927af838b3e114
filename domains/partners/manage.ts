/**
 * Use cases of a tenant managing its webhook endpoints and legacy partners. Every call needs the
 * `partners:manage` scope and acts in the caller's tenant only: another tenant's endpoint, message
 * or partner is NOT_FOUND, exactly like one that does not exist.
 */
import { type Actor, hasScope } from '../shared/actor.ts';
import { DomainError } from '../shared/errors.ts';
import {
  disabled,
  ENDPOINT_ID,
  enabled,
  endpointDisabledEvent,
  rotated,
  validateDescription,
  validateEventTypes,
  validateUrl,
  type WebhookEndpoint,
} from './endpoint.ts';
import { type LegacyPartner, PARTNER_ID, type PartnerInput, validatePartnerInput } from './legacy-partner.ts';
import { type DeliveryTask, MESSAGE_ID } from './message.ts';
import type {
  AddressGuard,
  BrokerAccounts,
  Clock,
  DeliveryQueue,
  DeliveryStore,
  EndpointStore,
  LegacyPartnerStore,
  PasswordHasher,
  Secrets,
} from './ports.ts';

export const MANAGE_SCOPE = 'partners:manage';
/** Longest range one replay may cover. */
export const MAX_REPLAY_MS = 31 * 86_400_000;

export interface ManageDeps {
  readonly endpoints: EndpointStore;
  readonly deliveries: DeliveryStore;
  readonly queue: DeliveryQueue;
  readonly guard: AddressGuard;
  readonly secrets: Secrets;
  readonly clock: Clock;
  /** Event types endpoints may subscribe to (what the platform's domains offer). */
  readonly offered: ReadonlySet<string>;
  /** How long a rotated-out secret keeps signing. */
  readonly rotationOverlapMs: number;
}

export interface PartnerDeps {
  readonly partners: LegacyPartnerStore;
  readonly broker: BrokerAccounts;
  readonly hasher: PasswordHasher;
  readonly secrets: Secrets;
  readonly clock: Clock;
}

/** The caller's tenant, if the caller may manage partners. */
export function managerTenant(actor: Actor | undefined): string {
  if (!actor) throw new DomainError('UNAUTHENTICATED', 'a bearer token is required');
  if (!hasScope(actor, MANAGE_SCOPE)) throw new DomainError('FORBIDDEN', `the ${MANAGE_SCOPE} scope is required`);
  return actor.tenant;
}

function notFound(what: string, id: string): DomainError {
  return new DomainError('NOT_FOUND', `no ${what} ${id}`, { details: { id } });
}

async function endpointOf(deps: Pick<ManageDeps, 'endpoints'>, tenant: string, id: string): Promise<WebhookEndpoint> {
  const endpoint = ENDPOINT_ID.test(id) ? await deps.endpoints.get(tenant, id) : undefined;
  if (!endpoint) throw notFound('webhook endpoint', id);
  return endpoint;
}

export interface EndpointInput {
  readonly url: unknown;
  readonly eventTypes: unknown;
  readonly description?: unknown;
}

/** Registers an endpoint; the answer carries its secret, which is never shown again. */
export async function createEndpoint(
  deps: ManageDeps,
  actor: Actor | undefined,
  input: EndpointInput,
): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
  const tenant = managerTenant(actor);
  const url = validateUrl(input.url);
  const eventTypes = validateEventTypes(input.eventTypes, deps.offered);
  const description = validateDescription(input.description);
  await deps.guard.check(url);
  const now = deps.clock.now();
  const secret = deps.secrets.webhookSecret();
  const endpoint: WebhookEndpoint = {
    id: deps.secrets.id('ep_'),
    tenant,
    url,
    description,
    eventTypes,
    status: 'ENABLED',
    secret,
    createdAt: now,
    updatedAt: now,
    version: 1,
  };
  await deps.endpoints.create(endpoint);
  return { endpoint, secret };
}

export interface EndpointPatch {
  readonly url?: unknown;
  readonly eventTypes?: unknown;
  readonly description?: unknown;
}

/** Changes an endpoint's URL, event types or description (each checked as at creation). */
export async function updateEndpoint(
  deps: ManageDeps,
  actor: Actor | undefined,
  id: string,
  patch: EndpointPatch,
): Promise<WebhookEndpoint> {
  const tenant = managerTenant(actor);
  const endpoint = await endpointOf(deps, tenant, id);
  const url = patch.url === undefined || patch.url === null ? endpoint.url : validateUrl(patch.url);
  const eventTypes =
    patch.eventTypes === undefined || patch.eventTypes === null
      ? endpoint.eventTypes
      : validateEventTypes(patch.eventTypes, deps.offered);
  const description = patch.description === undefined ? endpoint.description : validateDescription(patch.description);
  if (url !== endpoint.url) await deps.guard.check(url);
  const next = {
    ...endpoint,
    url,
    eventTypes,
    description,
    updatedAt: deps.clock.now(),
    version: endpoint.version + 1,
  };
  await deps.endpoints.save(next);
  return next;
}

/** Disables (reason MANUAL, with an event) or enables an endpoint; the same state again changes nothing. */
export async function setEndpointEnabled(
  deps: ManageDeps,
  actor: Actor | undefined,
  id: string,
  enable: boolean,
): Promise<WebhookEndpoint> {
  const tenant = managerTenant(actor);
  const endpoint = await endpointOf(deps, tenant, id);
  const now = deps.clock.now();
  const changed = enable ? enabled(endpoint, now) : disabled(endpoint, 'MANUAL', now);
  if (changed === endpoint) return endpoint;
  const next = { ...changed, version: endpoint.version + 1 };
  await deps.endpoints.save(next, enable ? [] : [endpointDisabledEvent(next, now)]);
  return next;
}

/** A new secret; the old one keeps signing (both signatures sent) for the overlap. */
export async function rotateSecret(
  deps: ManageDeps,
  actor: Actor | undefined,
  id: string,
): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
  const tenant = managerTenant(actor);
  const endpoint = await endpointOf(deps, tenant, id);
  const secret = deps.secrets.webhookSecret();
  const next = {
    ...rotated(endpoint, secret, deps.clock.now(), deps.rotationOverlapMs),
    version: endpoint.version + 1,
  };
  await deps.endpoints.save(next);
  return { endpoint: next, secret };
}

export async function listEndpoints(deps: ManageDeps, actor: Actor | undefined): Promise<WebhookEndpoint[]> {
  return deps.endpoints.list(managerTenant(actor));
}

export async function getEndpoint(
  deps: ManageDeps,
  actor: Actor | undefined,
  id: string,
): Promise<WebhookEndpoint | undefined> {
  const tenant = managerTenant(actor);
  return ENDPOINT_ID.test(id) ? deps.endpoints.get(tenant, id) : undefined;
}

/** Sends one message to the endpoint again (a new round, the same `webhook-id`). */
export async function resendMessage(
  deps: ManageDeps,
  actor: Actor | undefined,
  endpointId: string,
  messageId: string,
): Promise<DeliveryTask> {
  const tenant = managerTenant(actor);
  const endpoint = await endpointOf(deps, tenant, endpointId);
  if (endpoint.status !== 'ENABLED') {
    throw new DomainError('BAD_USER_INPUT', 'the endpoint is disabled: enable it first', {
      details: { field: 'endpointId' },
    });
  }
  const task = MESSAGE_ID.test(messageId)
    ? await deps.deliveries.resend(tenant, endpoint.id, messageId, deps.clock.now())
    : undefined;
  if (!task) throw notFound('message', messageId);
  await deps.queue.enqueue([task]);
  return task;
}

function instant(raw: unknown, field: string): string {
  const ms = typeof raw === 'string' ? Date.parse(raw) : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new DomainError('BAD_USER_INPUT', `${field} must be an ISO 8601 date-time`, { details: { field } });
  }
  return new Date(ms).toISOString();
}

/**
 * Sends again every message whose event happened in [since, until) and whose type the endpoint
 * subscribes to now; answers how many.
 */
export async function replayMessages(
  deps: ManageDeps,
  actor: Actor | undefined,
  endpointId: string,
  range: { since: unknown; until: unknown },
): Promise<number> {
  const tenant = managerTenant(actor);
  const since = instant(range.since, 'since');
  const until = instant(range.until, 'until');
  if (until <= since)
    throw new DomainError('BAD_USER_INPUT', 'until must be after since', { details: { field: 'until' } });
  if (Date.parse(until) - Date.parse(since) > MAX_REPLAY_MS) {
    throw new DomainError('BAD_USER_INPUT', 'a replay covers at most 31 days', { details: { field: 'until' } });
  }
  const endpoint = await endpointOf(deps, tenant, endpointId);
  if (endpoint.status !== 'ENABLED') {
    throw new DomainError('BAD_USER_INPUT', 'the endpoint is disabled: enable it first', {
      details: { field: 'endpointId' },
    });
  }
  const tasks = await deps.deliveries.replay(
    tenant,
    endpoint.id,
    { since, until },
    endpoint.eventTypes,
    deps.clock.now(),
  );
  await deps.queue.enqueue(tasks);
  return tasks.length;
}

/** Registers a legacy partner and its broker account; the answer carries the password, shown once. */
export async function registerPartner(
  deps: PartnerDeps,
  actor: Actor | undefined,
  input: PartnerInput,
): Promise<{ partner: LegacyPartner; password: string }> {
  const tenant = managerTenant(actor);
  const checked = validatePartnerInput(input);
  const password = deps.secrets.password();
  const now = deps.clock.now();
  const partner: LegacyPartner = {
    id: deps.secrets.id('lp_'),
    tenant,
    ...checked,
    status: 'ACTIVE',
    passwordHash: await deps.hasher.hash(password),
    createdAt: now,
    updatedAt: now,
  };
  await deps.partners.create(partner, () => deps.broker.provision(partner, password));
  return { partner, password };
}

/** Disables a partner: its broker account goes (connections closed) and SOAP refuses it. */
export async function disablePartner(deps: PartnerDeps, actor: Actor | undefined, id: string): Promise<LegacyPartner> {
  const tenant = managerTenant(actor);
  const found = PARTNER_ID.test(id)
    ? await deps.partners.disable(tenant, id, deps.clock.now(), () => deps.broker.revoke(id))
    : undefined;
  if (!found) throw notFound('partner', id);
  return found;
}

export async function listPartners(deps: PartnerDeps, actor: Actor | undefined): Promise<LegacyPartner[]> {
  return deps.partners.list(managerTenant(actor));
}

/** The partner named by `username` if `password` is its password and it is active; UNAUTHENTICATED otherwise. */
export async function authenticatePartner(
  deps: Pick<PartnerDeps, 'partners' | 'hasher'>,
  username: string,
  password: string,
): Promise<LegacyPartner> {
  const partner = PARTNER_ID.test(username) ? await deps.partners.find(username) : undefined;
  // Verified even for an unknown user, so timing does not tell which user names exist.
  const ok = await deps.hasher.verify(password, partner?.passwordHash);
  if (!partner || !ok || partner.status !== 'ACTIVE') {
    throw new DomainError('UNAUTHENTICATED', 'unknown partner or wrong password');
  }
  return partner;
}
