/** Builders for commerce unit tests (in-memory ports; integration tests use the real adapters). */
import type { Actor } from '../shared/actor.ts';
import { DomainError } from '../shared/errors.ts';
import type { Product } from './catalog.ts';
import { COMMERCE_EVENTS, domainEvent } from './events.ts';
import { planReservation, type StockLine } from './inventory.ts';
import { ORDER_ID, type Order, orderTotal, transition } from './order.ts';
import { validateLines } from './place-order.ts';
import type { Inventory, OrderStore, Placed, ProductCatalog } from './ports.ts';

export function anActor(overrides: Partial<Actor> = {}): Actor {
  return { subject: 'u1', tenant: 't1', scopes: ['orders:write'], ...overrides };
}

export function aProduct(overrides: Partial<Product> = {}): Product {
  return {
    id: 'p-widget',
    sku: 'W-1',
    name: 'Widget',
    description: '',
    priceCents: 250,
    currency: 'USD',
    stock: 10,
    ...overrides,
  };
}

/** A PENDING order at version 1, as placeOrder makes it, with a fresh UUID unless one is given. */
export function anOrder(overrides: Partial<Order> = {}): Order {
  const items = overrides.items ?? [{ productId: 'p-widget', quantity: 2, unitPriceCents: 250 }];
  const now = fixedClock.now();
  return {
    id: crypto.randomUUID(),
    tenant: 't1',
    userId: 'u1',
    status: 'PENDING',
    items,
    totalCents: orderTotal(items),
    currency: 'USD',
    paymentToken: 'tok_visa',
    cancelReason: null,
    version: 1,
    createdAt: now,
    updatedAt: now,
    ...overrides,
  };
}

/** What placeOnce's `decide` returns for `order`: the order and its order.created event. */
export function placing(order: Order): Placed {
  const { id: orderId, userId, items, totalCents, currency, paymentToken, version } = order;
  const created = domainEvent(COMMERCE_EVENTS.orderCreated, orderId, order.tenant, {
    orderId,
    userId,
    status: 'PENDING',
    items,
    totalCents,
    currency,
    paymentToken,
    version,
  });
  return { order, events: [created] };
}

/** An applyOnce change: `order` CONFIRMED, with its order.confirmed event. */
export function confirming(order: Order): Placed {
  const next = transition(order, { to: 'CONFIRMED' }, fixedClock.now());
  const confirmed = domainEvent(COMMERCE_EVENTS.orderConfirmed, next.id, next.tenant, {
    orderId: next.id,
    userId: next.userId,
    status: 'CONFIRMED',
    version: next.version,
  });
  return { order: next, events: [confirmed] };
}

/** Catalog + inventory over one in-memory stock table. */
export function memoryShop(products: Product[]) {
  const stock = new Map(products.map((p) => [p.id, p.stock]));
  /** Every order ever reserved, released ones too: an order id is reserved at most once. */
  const reservations = new Map<string, { tenant: string; lines: StockLine[]; released: boolean }>();
  const withStock = (p: Product): Product => ({ ...p, stock: stock.get(p.id) ?? 0 });
  const catalog: ProductCatalog = {
    async getProduct(id) {
      const p = products.find((x) => x.id === id);
      return p && withStock(p);
    },
    async listProducts(first, after) {
      return products
        .filter((p) => after === undefined || p.id > after)
        .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
        .slice(0, first)
        .map(withStock);
    },
    async countProducts() {
      return products.length;
    },
  };
  const inventory: Inventory = {
    async reserve(orderId, tenant, lines) {
      checkOrderId(orderId);
      const valid = validateLines(lines);
      if (reservations.has(orderId)) return;
      const next = planReservation(stock, valid);
      for (const [id, level] of next) stock.set(id, level);
      reservations.set(orderId, { tenant, lines: valid, released: false });
    },
    async release(orderId, tenant, reason) {
      checkOrderId(orderId);
      if (typeof reason !== 'string' || reason.trim() === '') {
        throw new DomainError('BAD_USER_INPUT', 'a release needs a reason', { details: { field: 'reason' } });
      }
      const held = reservations.get(orderId);
      if (!held || held.released || held.tenant !== tenant) return;
      for (const l of held.lines) stock.set(l.productId, (stock.get(l.productId) ?? 0) + l.quantity);
      held.released = true;
    },
  };
  return { catalog, inventory, stock, reservations };
}

function checkOrderId(orderId: string): void {
  if (typeof orderId !== 'string' || !ORDER_ID.test(orderId)) {
    throw new DomainError('BAD_USER_INPUT', 'orderId must be a UUID', { details: { field: 'orderId' } });
  }
}

/** An OrderStore with the port's semantics, in memory. */
export function memoryOrders() {
  const orders = new Map<string, Order>();
  const keys = new Map<string, { hash: string; orderId: string }>();
  /** The idempotency key and writer epoch of each order, as the Postgres store keeps them on the order. */
  const keyOf = new Map<string, string>();
  const epochOf = new Map<string, number>();
  const processed = new Set<string>();
  const outbox: Placed['events'][number][] = [];
  let chain = Promise.resolve();
  const store: OrderStore = {
    placeOnce(claim, decide) {
      const run = async () => {
        const known = keys.get(`${claim.tenant}/${claim.key}`);
        if (known) {
          if (known.hash !== claim.requestHash) {
            throw new DomainError('IDEMPOTENCY_KEY_REUSED', 'this idempotency key was used for a different request', {
              details: { orderId: known.orderId },
            });
          }
          return { order: orders.get(known.orderId) as Order, replayed: true };
        }
        const placed = await decide();
        orders.set(placed.order.id, placed.order);
        outbox.push(...placed.events);
        keys.set(`${claim.tenant}/${claim.key}`, { hash: claim.requestHash, orderId: placed.order.id });
        keyOf.set(placed.order.id, claim.key);
        return { order: placed.order, replayed: false };
      };
      const result = chain.then(run);
      chain = result.then(
        () => undefined,
        () => undefined,
      );
      return result;
    },
    async applyOnce(consumer, eventId, orderId, change) {
      const order = orders.get(orderId);
      if (!order) throw new DomainError('ORDER_NOT_FOUND', `order ${orderId} does not exist`, { details: { orderId } });
      const mark = `${consumer}/${eventId}`;
      if (processed.has(mark)) return { order, applied: false };
      // Marked only once `change` has returned: a change that throws must leave the event to its retry.
      const placed = change(order);
      processed.add(mark);
      if (!placed) return { order, applied: true };
      orders.set(orderId, placed.order);
      outbox.push(...placed.events);
      return { order: placed.order, applied: true };
    },
    async getOrder(id) {
      return orders.get(id);
    },
    async listOrdersForUser(tenant, userId, first) {
      return [...orders.values()]
        .filter((o) => o.tenant === tenant && o.userId === userId)
        .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt))
        .slice(0, first);
    },
    async ordersForKey(tenant, key) {
      return [...orders.values()]
        .filter((o) => o.tenant === tenant && keyOf.get(o.id) === key)
        .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
        .map((o) => ({ id: o.id, status: o.status, writerEpoch: epochOf.get(o.id) ?? null, createdAt: o.createdAt }));
    },
  };
  return { store, orders, outbox, keyOf, epochOf };
}

export const fixedClock = { now: () => '2026-11-23T00:00:00.000Z' };

export function sequentialIds() {
  let n = 0;
  return { uuid: () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}` };
}

/** placeOrder's dependencies over an in-memory shop and order store. */
export function memoryCommerce(products: Product[]) {
  const shop = memoryShop(products);
  const orders = memoryOrders();
  const deps = {
    catalog: shop.catalog,
    inventory: shop.inventory,
    orders: orders.store,
    clock: fixedClock,
    ids: sequentialIds(),
    hash: (s: string) => s,
  };
  return { deps, shop, orders };
}
