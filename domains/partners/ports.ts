/**
 * The ports partners need, owned here and implemented in infra/partners (and, for commerce,
 * through commerce's own services). Each states its guarantees.
 */
import type { DomainEvent } from '../shared/events.ts';
import type { SendResult } from './attempt.ts';
import type { WebhookEndpoint } from './endpoint.ts';
import type { LegacyPartner } from './legacy-partner.ts';
import type { Attempt, Delivery, DeliveryTask, WebhookMessage } from './message.ts';

/** Endpoints, per tenant. */
export interface EndpointStore {
  /** Stores a new endpoint (its id is new). */
  create(endpoint: WebhookEndpoint): Promise<void>;
  /** The tenant's endpoint, or undefined (another tenant's endpoint is not found either). */
  get(tenant: string, id: string): Promise<WebhookEndpoint | undefined>;
  /** The tenant's endpoints, oldest first. */
  list(tenant: string): Promise<WebhookEndpoint[]>;
  /**
   * Replaces the endpoint if it is still at `endpoint.version - 1` (else CONFLICT, retryable) and
   * appends `events` to the outbox in the same transaction.
   */
  save(endpoint: WebhookEndpoint, events?: readonly DomainEvent[]): Promise<void>;
}

/** What an attempt needs to know about its delivery, read together. */
export interface DeliveryState {
  readonly delivery: Delivery;
  readonly endpoint: WebhookEndpoint;
  readonly message: WebhookMessage;
}

/** The effect an attempt has on its endpoint, decided inside the recording transaction. */
export interface EndpointEffect {
  readonly endpoint?: WebhookEndpoint;
  readonly events: readonly DomainEvent[];
}

/** A recorded attempt: the delivery's new state, and what it does to the endpoint. */
export interface AttemptOutcome {
  readonly attempt: Attempt;
  readonly status: Delivery['status'];
  readonly nextAttemptAt?: string;
  /** Events of the delivery itself (a message given up on). */
  readonly events: readonly DomainEvent[];
  /**
   * For a failed attempt, called with the endpoint as it is inside the transaction (its failing
   * stretch already started or continued by this attempt): the endpoint to save (disabled) and its
   * events, if any. A successful attempt only ends the failing stretch; this is not called.
   */
  endpointEffect(endpoint: WebhookEndpoint): EndpointEffect;
}

/** Messages, deliveries and attempts; the source of truth of what was sent and what is owed. */
export interface DeliveryStore {
  /**
   * Stores the message once per (tenant, event) — only when the tenant has an endpoint at all, so
   * a later replay finds it — with a delivery round 1 for each endpoint of the tenant that takes it
   * (`subscribes`: enabled and subscribed to its type; created no later than the event), in one
   * atomic write; returns the first tasks of the message's deliveries that have had no attempt yet
   * (again on a repeat: the caller may have died before they were queued).
   */
  addMessage(message: WebhookMessage, now: string): Promise<DeliveryTask[]>;
  /** The delivery with its endpoint and message, or undefined. */
  state(endpointId: string, messageId: string): Promise<DeliveryState | undefined>;
  /**
   * Records attempt `outcome.attempt` if the delivery is still PENDING in that round with
   * `attempt - 1` attempts made, and atomically with it moves the endpoint's failing stretch
   * (ended by a success, started by a failure) and, for a failure, applies `endpointEffect`; false
   * when another worker recorded it first (nothing changes then).
   */
  recordAttempt(outcome: AttemptOutcome): Promise<boolean>;
  /** The tenant's endpoint's deliveries, newest message first, at most `first`, before message `before`. */
  deliveries(tenant: string, endpointId: string, page: { first: number; before?: string }): Promise<DeliveryView[]>;
  /** The attempts of one delivery, all rounds, oldest first. */
  attempts(tenant: string, endpointId: string, messageId: string): Promise<Attempt[]>;
  /**
   * Starts a new round of the tenant's message to the endpoint (a delivery is created if the
   * message never had one); undefined when the tenant has no such message.
   */
  resend(tenant: string, endpointId: string, messageId: string, now: string): Promise<DeliveryTask | undefined>;
  /**
   * Starts a new round for every message of the tenant whose event time is in [since, until) and
   * whose type is in `eventTypes`; returns their first tasks.
   */
  replay(
    tenant: string,
    endpointId: string,
    range: { since: string; until: string },
    eventTypes: readonly string[],
    now: string,
  ): Promise<DeliveryTask[]>;
  /**
   * Deliveries PENDING whose next attempt is overdue by `graceMs` (their queued task was lost):
   * pushes their next attempt `graceMs` later (so one sweep re-queues them once) and returns their tasks.
   */
  overdue(now: string, graceMs: number, limit: number): Promise<DeliveryTask[]>;
}

/** A delivery with its message, for listing. */
export interface DeliveryView {
  readonly delivery: Delivery;
  readonly message: WebhookMessage;
}

/**
 * The durable queue of delivery tasks. Once `enqueue` resolves the broker holds every task
 * (persistent, confirmed); a task is handed to a worker at or after its `notBefore`, at least once.
 */
export interface DeliveryQueue {
  enqueue(tasks: readonly DeliveryTask[]): Promise<void>;
  /**
   * Hands the tasks to the broker without waiting for its confirmation (resolves once they are
   * sent). Only for tasks the store already records as due: one the broker loses is re-queued by
   * the sweeper (DeliveryStore.overdue), so nothing is lost, only later.
   */
  offer(tasks: readonly DeliveryTask[]): Promise<void>;
}

/** Where an endpoint URL may point (SSRF): resolves the host and refuses internal addresses. */
export interface AddressGuard {
  /** Resolves when every address of the URL's host is allowed; URL_NOT_ALLOWED naming the address otherwise. */
  check(url: string): Promise<void>;
}

/** One signed HTTP POST of a message to an endpoint (the address checked again at connect). */
export interface WebhookSender {
  send(request: {
    readonly url: string;
    readonly messageId: string;
    readonly payload: string;
    readonly secrets: readonly string[];
    /** Epoch ms of the attempt (the `webhook-timestamp`). */
    readonly at: number;
  }): Promise<SendResult>;
}

/** Fresh random material. */
export interface Secrets {
  /** A new `whsec_` signing secret. */
  webhookSecret(): string;
  /** A new password for a legacy partner (shown once). */
  password(): string;
  /** A new id with this prefix and 32 lowercase hex digits. */
  id(prefix: string): string;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /**
   * Constant-time; false for a malformed hash. With no hash (an unknown user) it does the same
   * work and answers false, so timing does not tell which users exist.
   */
  verify(password: string, hash: string | undefined): Promise<boolean>;
}

/** Legacy partners (AMQP and SOAP credentials), per tenant. */
export interface LegacyPartnerStore {
  /**
   * Stores the partner and runs `provision` (broker account) before committing: both or neither.
   */
  create(partner: LegacyPartner, provision: () => Promise<void>): Promise<void>;
  get(tenant: string, id: string): Promise<LegacyPartner | undefined>;
  /** By id alone (authentication: the id is the user name). */
  find(id: string): Promise<LegacyPartner | undefined>;
  list(tenant: string): Promise<LegacyPartner[]>;
  /** Every partner, ACTIVE or DISABLED (the AMQP bridge drains what a partner had queued before it was disabled). */
  all(): Promise<LegacyPartner[]>;
  /** Marks the partner DISABLED and runs `revoke` before committing. */
  disable(tenant: string, id: string, now: string, revoke: () => Promise<void>): Promise<LegacyPartner | undefined>;
}

/** Partners' accounts on the message broker (AMQP), limited to their own exchange routing keys and dead letters. */
export interface BrokerAccounts {
  provision(partner: LegacyPartner, password: string): Promise<void>;
  revoke(partnerId: string): Promise<void>;
}

/** Commerce's stock, through commerce's own rules (never below zero, idempotent per adjustment id). */
export interface StockAdjuster {
  adjust(request: {
    readonly adjustmentId: string;
    readonly tenant: string;
    readonly productId: string;
    readonly delta: number;
    readonly reason: string;
  }): Promise<{ productId: string; available: number; applied: boolean }>;
}

/** An order's status as commerce knows it. */
export interface OrderStatusView {
  readonly orderId: string;
  readonly tenant: string;
  readonly status: string;
  readonly updatedAt: string;
  readonly cancelReason?: string;
}

/** Reads an order's status from commerce. */
export interface OrderStatusReader {
  orderStatus(orderId: string): Promise<OrderStatusView | undefined>;
}

export interface Clock {
  now(): string;
}
