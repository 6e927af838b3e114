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
  getProduct(id: string): Promise<Product | undefined>;
  /** Products in id order, at most `first`, after the id `after` when given. */
  listProducts(first: number, after?: string): Promise<Product[]>;
  /** How many products the catalog has. */
  countProducts(): Promise<number>;
}

/**
 * Stock reservations, keyed by order id. Guarantees: all lines or none; stock never
 * negative under any concurrency; reserve and release are idempotent per order id
 * (a repeated reserve returns the same result, a repeated release changes nothing).
 */
export interface Inventory {
  reserve(orderId: string, tenant: string, lines: readonly StockLine[]): Promise<void>;
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
   * A known key with another hash: IDEMPOTENCY_KEY_REUSED.
   */
  placeOnce(claim: IdempotencyClaim, decide: () => Promise<Placed>): Promise<{ order: Order; replayed: boolean }>;

  /**
   * Applies `change` to the order once per (consumer, eventId): loads the order, calls
   * `change`, and commits the new state, its events and the processed mark in one
   * transaction. A repeated eventId returns `applied: false` without calling `change`.
   */
  applyOnce(
    consumer: string,
    eventId: string,
    orderId: string,
    change: (order: Order) => Placed | undefined,
  ): Promise<{ order: Order; applied: boolean }>;

  getOrder(id: string): Promise<Order | undefined>;
  listOrdersForUser(tenant: string, userId: string, first: number): Promise<Order[]>;
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
