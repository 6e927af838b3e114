/**
 * Memory adapters of partners' ports and builders, for unit tests of the use cases (no
 * test-runner import: usable from any test file). They keep the ports' stated guarantees, so
 * the same contract suites run against them and against the real adapters.
 */

import type { Actor } from '../shared/actor.ts';
import { DomainError } from '../shared/errors.ts';
import type { DomainEvent } from '../shared/events.ts';
import type { SendResult } from './attempt.ts';
import { subscribes, type WebhookEndpoint } from './endpoint.ts';
import type { LegacyPartner } from './legacy-partner.ts';
import { MANAGE_SCOPE } from './manage.ts';
import { type Attempt, type Delivery, type DeliveryTask, firstTask, type WebhookMessage } from './message.ts';
import type {
  AddressGuard,
  AttemptOutcome,
  Clock,
  DeliveryQueue,
  DeliveryState,
  DeliveryStore,
  DeliveryView,
  EndpointStore,
  LegacyPartnerStore,
  WebhookSender,
} from './ports.ts';

/** A manager of `tenant` (the scope every management call needs). */
export function manager(tenant: string, subject = 'admin'): Actor {
  return { subject, tenant, scopes: [MANAGE_SCOPE] };
}

/** A clock tests move by hand. */
export function manualClock(start = '2030-01-01T00:00:00.000Z') {
  let now = Date.parse(start);
  return {
    now: () => new Date(now).toISOString(),
    advance(ms: number) {
      now += ms;
    },
  } satisfies Clock & { advance(ms: number): void };
}

/** Ids and secrets with a counter: readable, distinct, of the right shapes. */
export function countingSecrets() {
  let n = 0;
  const hex = () => (++n).toString(16).padStart(32, '0');
  return {
    webhookSecret: () => `whsec_${btoa(hex().slice(-24))}`,
    password: () => `pw-${hex()}`,
    id: (prefix: string) => `${prefix}${hex()}`,
  };
}

/** A guard allowing every URL but those whose host is listed. */
export function hostGuard(refused: readonly string[] = []): AddressGuard {
  return {
    async check(url) {
      const host = new URL(url).hostname;
      if (refused.includes(host))
        throw new DomainError('URL_NOT_ALLOWED', `${host} is internal`, { details: { host } });
    },
  };
}

/** Collects queued tasks. */
export function memoryQueue(): DeliveryQueue & { tasks: DeliveryTask[]; take(): DeliveryTask[] } {
  const tasks: DeliveryTask[] = [];
  return {
    tasks,
    async enqueue(more) {
      tasks.push(...more);
    },
    async offer(more) {
      tasks.push(...more);
    },
    take() {
      return tasks.splice(0, tasks.length);
    },
  };
}

/** A sender answering from a script (the last answer repeats), recording what it was asked. */
export function scriptedSender(
  answers: SendResult[],
): WebhookSender & { sent: Parameters<WebhookSender['send']>[0][] } {
  const sent: Parameters<WebhookSender['send']>[0][] = [];
  return {
    sent,
    async send(request) {
      sent.push(request);
      const answer = answers.length > 1 ? answers.shift() : answers[0];
      if (!answer) throw new Error('no scripted answer');
      return answer;
    },
  };
}

export const ok = (status = 200): SendResult => ({ kind: 'response', status, latencyMs: 5 });
export const down = (error = 'connect ECONNREFUSED'): SendResult => ({ kind: 'error', error, latencyMs: 1 });

/** Endpoints, deliveries and the outbox in memory, sharing one endpoint table as the real stores do. */
export function memoryStores() {
  const endpoints = new Map<string, WebhookEndpoint>();
  const messages = new Map<string, WebhookMessage>();
  const deliveries = new Map<string, Delivery>();
  const attempts: Attempt[] = [];
  const outbox: DomainEvent[] = [];
  const key = (endpointId: string, messageId: string) => `${endpointId}/${messageId}`;

  const endpointStore: EndpointStore = {
    async create(endpoint) {
      endpoints.set(endpoint.id, endpoint);
    },
    async get(tenant, id) {
      const e = endpoints.get(id);
      return e && e.tenant === tenant ? e : undefined;
    },
    async list(tenant) {
      return [...endpoints.values()].filter((e) => e.tenant === tenant);
    },
    async save(endpoint, events = []) {
      const current = endpoints.get(endpoint.id);
      if (!current || current.version !== endpoint.version - 1) {
        throw new DomainError('CONFLICT', 'the endpoint changed meanwhile', { retryable: true });
      }
      endpoints.set(endpoint.id, endpoint);
      outbox.push(...events);
    },
  };

  function newRound(endpointId: string, messageId: string, now: string): DeliveryTask {
    const current = deliveries.get(key(endpointId, messageId));
    const round = (current?.round ?? 0) + 1;
    deliveries.set(key(endpointId, messageId), {
      endpointId,
      messageId,
      status: 'PENDING',
      round,
      attempts: 0,
      nextAttemptAt: now,
      updatedAt: now,
    });
    return firstTask(endpointId, messageId, round, Date.parse(now));
  }

  const deliveryStore: DeliveryStore = {
    async addMessage(message, now) {
      const tenantEndpoints = [...endpoints.values()].filter((e) => e.tenant === message.tenant);
      if (tenantEndpoints.length === 0) return [];
      const known = [...messages.values()].find((m) => m.tenant === message.tenant && m.eventId === message.eventId);
      const stored = known ?? message;
      if (!known) messages.set(message.id, message);
      for (const e of tenantEndpoints) {
        const takes = subscribes(e, message.eventType) && e.createdAt <= message.occurredAt;
        if (takes && !deliveries.has(key(e.id, stored.id))) newRound(e.id, stored.id, now);
      }
      return [...deliveries.values()]
        .filter((d) => d.messageId === stored.id && d.round === 1 && d.attempts === 0 && d.status === 'PENDING')
        .map((d) => firstTask(d.endpointId, d.messageId, 1, Date.parse(now)));
    },
    async state(endpointId, messageId): Promise<DeliveryState | undefined> {
      const delivery = deliveries.get(key(endpointId, messageId));
      const endpoint = endpoints.get(endpointId);
      const message = messages.get(messageId);
      return delivery && endpoint && message ? { delivery, endpoint, message } : undefined;
    },
    async recordAttempt(outcome: AttemptOutcome) {
      const a = outcome.attempt;
      const d = deliveries.get(key(a.endpointId, a.messageId));
      const e = endpoints.get(a.endpointId);
      if (!d || !e || d.status !== 'PENDING' || d.round !== a.round || d.attempts !== a.attempt - 1) return false;
      attempts.push(a);
      deliveries.set(key(a.endpointId, a.messageId), {
        ...d,
        status: outcome.status,
        attempts: a.attempt,
        ...(outcome.nextAttemptAt ? { nextAttemptAt: outcome.nextAttemptAt } : { nextAttemptAt: undefined }),
        ...(a.statusCode !== undefined ? { lastStatusCode: a.statusCode } : {}),
        ...(a.error !== undefined ? { lastError: a.error } : {}),
        updatedAt: a.at,
      });
      outbox.push(...outcome.events);
      const health: WebhookEndpoint = a.success
        ? (({ failingSince: _, ...rest }) => rest)(e)
        : { ...e, failingSince: e.failingSince ?? a.at };
      const effect = a.success ? { events: [] } : outcome.endpointEffect(health);
      endpoints.set(e.id, effect.endpoint ? { ...effect.endpoint, version: e.version + 1 } : health);
      outbox.push(...effect.events);
      return true;
    },
    async deliveries(tenant, endpointId, page): Promise<DeliveryView[]> {
      const newestFirst = (x: WebhookMessage, y: WebhookMessage) =>
        x.occurredAt === y.occurredAt
          ? x.id === y.id
            ? 0
            : x.id < y.id
              ? 1
              : -1
          : x.occurredAt < y.occurredAt
            ? 1
            : -1;
      const before = page.before === undefined ? undefined : messages.get(page.before);
      return [...deliveries.values()]
        .filter((d) => d.endpointId === endpointId && messages.get(d.messageId)?.tenant === tenant)
        .map((d) => ({ delivery: d, message: messages.get(d.messageId) as WebhookMessage }))
        .filter((v) => before === undefined || newestFirst(before, v.message) < 0)
        .sort((x, y) => newestFirst(x.message, y.message))
        .slice(0, page.first);
    },
    async attempts(tenant, endpointId, messageId) {
      return messages.get(messageId)?.tenant === tenant
        ? attempts.filter((a) => a.endpointId === endpointId && a.messageId === messageId)
        : [];
    },
    async resend(tenant, endpointId, messageId, now) {
      const m = messages.get(messageId);
      return m && m.tenant === tenant ? newRound(endpointId, messageId, now) : undefined;
    },
    async replay(tenant, endpointId, range, eventTypes, now) {
      return [...messages.values()]
        .filter(
          (m) =>
            m.tenant === tenant &&
            eventTypes.includes(m.eventType) &&
            m.occurredAt >= range.since &&
            m.occurredAt < range.until,
        )
        .sort((x, y) => (x.occurredAt < y.occurredAt ? -1 : 1))
        .map((m) => newRound(endpointId, m.id, now));
    },
    async overdue(now, graceMs, limit) {
      const cutoff = new Date(Date.parse(now) - graceMs).toISOString();
      const due = [...deliveries.values()]
        .filter((d) => d.status === 'PENDING' && (d.nextAttemptAt ?? now) < cutoff)
        .slice(0, limit);
      for (const d of due) {
        deliveries.set(key(d.endpointId, d.messageId), {
          ...d,
          nextAttemptAt: new Date(Date.parse(now) + graceMs).toISOString(),
        });
      }
      return due.map((d) => ({
        ...firstTask(d.endpointId, d.messageId, d.round, Date.parse(now)),
        attempt: d.attempts + 1,
      }));
    },
  };

  return { endpoints, messages, deliveries, attempts, outbox, endpointStore, deliveryStore };
}

/** Legacy partners in memory; provisioning runs before the partner is stored (both or neither). */
export function memoryPartners(): LegacyPartnerStore & { byId: Map<string, LegacyPartner> } {
  const all = new Map<string, LegacyPartner>();
  return {
    byId: all,
    async create(partner, provision) {
      await provision();
      all.set(partner.id, partner);
    },
    async get(tenant, id) {
      const p = all.get(id);
      return p && p.tenant === tenant ? p : undefined;
    },
    async find(id) {
      return all.get(id);
    },
    async list(tenant) {
      return [...all.values()].filter((p) => p.tenant === tenant);
    },
    async all() {
      return [...all.values()];
    },
    async disable(tenant, id, now, revoke) {
      const p = all.get(id);
      if (!p || p.tenant !== tenant) return undefined;
      await revoke();
      const next = { ...p, status: 'DISABLED' as const, updatedAt: now };
      all.set(id, next);
      return next;
    },
  };
}
