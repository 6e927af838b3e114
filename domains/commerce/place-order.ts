/**
 * placeOrder: validate, price from the catalog, reserve stock, and record the order
 * with its order.created event exactly once per idempotency key.
 */
import { type Actor, hasScope } from '../shared/actor.ts';
import { DomainError, isDomainError } from '../shared/errors.ts';
import { assertProductId, type Product } from './catalog.ts';
import { COMMERCE_EVENTS, domainEvent } from './events.ts';
import { MAX_LINE_QUANTITY, MAX_LINES, normalizeLines, type StockLine } from './inventory.ts';
import { type Order, orderTotal } from './order.ts';
import type { Clock, IdGenerator, Inventory, OrderStore, ProductCatalog, WriterFence } from './ports.ts';

export interface PlaceOrderInput {
  readonly items: ReadonlyArray<{ readonly productId: string; readonly quantity: number }>;
  readonly idempotencyKey?: string | null;
  readonly paymentToken: string;
}

export interface PlaceOrderDeps {
  readonly catalog: ProductCatalog;
  readonly inventory: Inventory;
  readonly orders: OrderStore;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  /** A collision-resistant hash (hex) of a canonical request string. */
  readonly hash: (text: string) => string;
  /** Whether this region may write orders now (absent: always, as in a single-region setup). */
  readonly fence?: WriterFence;
}

export const IDEMPOTENCY_KEY = /^[A-Za-z0-9_.:-]{8,128}$/;
export const PAYMENT_TOKEN = /^tok_[A-Za-z0-9_]{1,64}$/;
export const ORDERS_WRITE = 'orders:write';

function bad(message: string, field: string): DomainError {
  return new DomainError('BAD_USER_INPUT', message, { details: { field } });
}

/** The one idempotency key of a request (input field or Idempotency-Key header). */
export function resolveIdempotencyKey(
  fromInput: string | null | undefined,
  fromHeader: string | null | undefined,
): string {
  const a = fromInput ?? undefined;
  const b = fromHeader ?? undefined;
  if (a !== undefined && b !== undefined && a !== b) {
    throw bad('idempotencyKey and the Idempotency-Key header differ', 'idempotencyKey');
  }
  const key = a ?? b;
  if (key === undefined || key === '') {
    throw new DomainError(
      'IDEMPOTENCY_KEY_REQUIRED',
      'placeOrder needs an idempotency key (input or Idempotency-Key header)',
    );
  }
  if (!IDEMPOTENCY_KEY.test(key)) throw bad('idempotency key must be 8-128 of [A-Za-z0-9_.:-]', 'idempotencyKey');
  return key;
}

/** Validates and normalises the lines of an order. */
export function validateLines(items: PlaceOrderInput['items']): StockLine[] {
  if (!Array.isArray(items) || items.length === 0) throw bad('an order needs at least one item', 'items');
  if (items.length > MAX_LINES) throw bad(`an order has at most ${MAX_LINES} items`, 'items');
  for (const item of items) {
    assertProductId(item.productId);
    if (!Number.isInteger(item.quantity) || item.quantity <= 0 || item.quantity > MAX_LINE_QUANTITY) {
      throw bad(`quantity must be an integer from 1 to ${MAX_LINE_QUANTITY}`, 'quantity');
    }
  }
  const lines = normalizeLines(items);
  const over = lines.find((l) => l.quantity > MAX_LINE_QUANTITY);
  if (over) throw bad(`quantity of ${over.productId} exceeds ${MAX_LINE_QUANTITY}`, 'quantity');
  return lines;
}

export async function placeOrder(
  deps: PlaceOrderDeps,
  actor: Actor,
  input: PlaceOrderInput,
  headerKey?: string | null,
): Promise<{ order: Order; replayed: boolean }> {
  if (!hasScope(actor, ORDERS_WRITE)) {
    throw new DomainError('FORBIDDEN', `placing an order needs the ${ORDERS_WRITE} scope`);
  }
  const key = resolveIdempotencyKey(input.idempotencyKey, headerKey);
  const lines = validateLines(input.items);
  if (typeof input.paymentToken !== 'string' || !PAYMENT_TOKEN.test(input.paymentToken)) {
    throw bad('paymentToken must look like tok_…', 'paymentToken');
  }
  const canonical = JSON.stringify({ items: lines, paymentToken: input.paymentToken });
  const claim = { tenant: actor.tenant, key, requestHash: deps.hash(canonical) };
  // A region that is not the writer says so (WRITER_MOVED, naming the writer) before any work.
  const lease = await deps.fence?.assertWriter();

  // Priced before the idempotency lock is taken: the store's transaction must not wait
  // on other reads while it holds a connection and a lock.
  const products = await Promise.all(lines.map((l) => deps.catalog.getProduct(l.productId)));
  const priced = lines.map((l, i) => {
    const p = products[i] as Product | undefined;
    if (!p) {
      throw new DomainError('PRODUCT_NOT_FOUND', `unknown product ${l.productId}`, {
        details: { productId: l.productId },
      });
    }
    return { productId: l.productId, quantity: l.quantity, unitPriceCents: p.priceCents, currency: p.currency };
  });

  let reserved: string | undefined;
  try {
    return await deps.orders.placeOnce(claim, async () => {
      const currencies = new Set(priced.map((p) => p.currency));
      if (currencies.size !== 1) throw bad('all items of an order must share one currency', 'items');
      const orderId = deps.ids.uuid();
      await deps.inventory.reserve(orderId, actor.tenant, lines);
      reserved = orderId;
      const now = deps.clock.now();
      const items = priced.map(({ productId, quantity, unitPriceCents }) => ({ productId, quantity, unitPriceCents }));
      const order: Order = {
        id: orderId,
        tenant: actor.tenant,
        userId: actor.subject,
        status: 'PENDING',
        items,
        totalCents: orderTotal(items),
        currency: priced[0]?.currency ?? 'USD',
        paymentToken: input.paymentToken,
        cancelReason: null,
        version: 1,
        createdAt: now,
        updatedAt: now,
      };
      const created = domainEvent(COMMERCE_EVENTS.orderCreated, order.id, order.tenant, {
        orderId: order.id,
        userId: order.userId,
        status: 'PENDING',
        items,
        totalCents: order.totalCents,
        currency: order.currency,
        paymentToken: order.paymentToken,
        version: order.version,
        idempotencyKey: key,
        requestHash: claim.requestHash,
        ...(lease === undefined ? {} : { writerEpoch: lease.epoch }),
      });
      return { order, events: [created] };
    });
  } catch (err) {
    // Stock was taken but the order was not recorded: give it back.
    if (reserved !== undefined) {
      await deps.inventory.release(reserved, actor.tenant, 'order not recorded').catch(() => {});
    }
    if (isDomainError(err)) throw err;
    throw new DomainError('DEPENDENCY_UNAVAILABLE', 'could not record the order', { retryable: true, cause: err });
  }
}
