/**
 * The ports commerce needs, owned here and implemented in infra/. Each states its
 * guarantees; adapters are tested against them with the real services.
 */
import type { Product } from './catalog.ts';
import type { DomainEvent } from './events.ts';
import type { StockLine } from './inventory.ts';
import type { Order } from './order.ts';

/** Read side of the catalog. */
export interface ProductCatalog {
  /** The product, or undefined when no product has this id. */
  getProduct(id: string): Promise<Product | undefined>;
  /**
   * Products in id order, at most `first`, after the id `after` when given (exclusive;
   * `after` need not be a product's id, so the last id of a page is the next page's cursor).
   */
  listProducts(first: number, after?: string): Promise<Product[]>;
  /** How many products the catalog has. */
  countProducts(): Promise<number>;
}

/**
 * Stock reservations, keyed by order id. Guarantees: all lines or none; stock never
 * negative under any concurrency; reserve and release are idempotent per order id
 * (a repeated reserve returns the same result, a repeated release changes nothing).
 * An order id is reserved at most once: a reserve after its release takes nothing (a late
 * retry must not hold stock for a cancelled order); a reserve that failed recorded nothing.
 * Failures: INSUFFICIENT_STOCK (details productId, available, requested) or
 * PRODUCT_NOT_FOUND (details productId) for the first failing line in product id order;
 * BAD_USER_INPUT for an order id that is not a UUID, lines that validateLines refuses or a
 * blank release reason. Failed calls change nothing.
 */
export interface Inventory {
  reserve(orderId: string, tenant: string, lines: readonly StockLine[]): Promise<void>;
  /** Gives back the order's stock; an unknown order, or one reserved by another tenant, changes nothing. */
  release(orderId: string, tenant: string, reason: string): Promise<void>;
}

export interface IdempotencyClaim {
  readonly tenant: string;
  readonly key: string;
  /** Hash of the canonical request: the same key with another request is refused. */
  readonly requestHash: string;
}

/** The result of work done under an idempotency key. */
export interface Placed {
  readonly order: Order;
  readonly events: readonly DomainEvent[];
}

/** Command side of orders. */
export interface OrderStore {
  /**
   * Runs `decide` at most once per (tenant, key), serialising concurrent callers of the
   * same key. A new key: `decide` runs and its order, events (outbox) and the key are
   * committed in one transaction; if `decide` throws nothing is written. A known key
   * with the same request hash: the stored order, `replayed: true`, `decide` not run.
   * A known key with another hash: IDEMPOTENCY_KEY_REUSED (details.orderId: the key's order).
   */
  placeOnce(claim: IdempotencyClaim, decide: () => Promise<Placed>): Promise<{ order: Order; replayed: boolean }>;

  /**
   * Applies `change` to the order once per (consumer, eventId): loads the order, calls
   * `change`, and commits the new state, its events and the processed mark in one
   * transaction. A repeated eventId returns `applied: false` without calling `change`.
   * Consumers are independent: each applies the same eventId once. When `change` throws,
   * the call rejects and nothing is committed, not even the mark, so a retry applies.
   * `change` answering undefined marks the event processed and leaves the order as it
   * was (`applied: true`). An unknown order: ORDER_NOT_FOUND (details.orderId).
   */
  applyOnce(
    consumer: string,
    eventId: string,
    orderId: string,
    change: (order: Order) => Placed | undefined,
  ): Promise<{ order: Order; applied: boolean }>;

  /** The order, or undefined when no order has this id. */
  getOrder(id: string): Promise<Order | undefined>;
  /**
   * The user's orders in that tenant only (a user id is scoped by its tenant), newest
   * `createdAt` first, at most `first`.
   */
  listOrdersForUser(tenant: string, userId: string, first: number): Promise<Order[]>;

  /**
   * Every order placed under an idempotency key of a tenant: one, except when a write in flight
   * in a failed writer region was retried in the new one (the payment processor charges one).
   */
  ordersForKey(tenant: string, key: string): Promise<KeyedOrder[]>;
}

/** An order as ordersForKey lists it. */
export interface KeyedOrder {
  readonly id: string;
  readonly status: Order['status'];
  /** The writer epoch it was accepted under; null when unknown (placed before fencing). */
  readonly writerEpoch: number | null;
  readonly createdAt: string;
}

export type PaymentResult =
  | { readonly outcome: 'AUTHORIZED'; readonly authorizationId: string }
  | { readonly outcome: 'DECLINED'; readonly reason: string };

/**
 * The legacy payment provider. Resolves with the provider's decision; rejects with a
 * DomainError: PAYMENT_PROVIDER_FAULT (not retryable: the provider refused the
 * request) or DEPENDENCY_UNAVAILABLE (retryable: down, slow or unreachable).
 */
export interface PaymentProvider {
  authorize(request: {
    readonly orderId: string;
    readonly amountCents: number;
    readonly currency: string;
    readonly paymentToken: string;
  }): Promise<PaymentResult>;
}

/** Time and identity, injected so the domain stays deterministic under test. */
export interface Clock {
  now(): string;
}
export interface IdGenerator {
  uuid(): string;
}

/**
 * Single-writer fencing of orders: resolves when this region may write orders now, rejects
 * with WRITER_MOVED (details: the writer region and epoch) when it may not. Checked before any
 * work; the order store checks again inside its transaction.
 */
export interface WriterFence {
  assertWriter(): Promise<{ readonly epoch: number }>;
}
