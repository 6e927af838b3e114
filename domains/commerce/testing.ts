/** Builders for commerce unit tests (in-memory ports; integration tests use the real adapters). */
import type { Actor } from '../shared/actor.ts';
import { DomainError } from '../shared/errors.ts';
import type { Product } from './catalog.ts';
import { planReservation, type StockLine } from './inventory.ts';
import type { Order } from './order.ts';
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

/** Catalog + inventory over one in-memory stock table. */
export function memoryShop(products: Product[]) {
  const stock = new Map(products.map((p) => [p.id, p.stock]));
  const reservations = new Map<string, StockLine[]>();
  const catalog: ProductCatalog = {
    async getProduct(id) {
      const p = products.find((x) => x.id === id);
      return p && { ...p, stock: stock.get(id) ?? 0 };
    },
    async listProducts(first) {
      return products.slice(0, first);
    },
    async countProducts() {
      return products.length;
    },
  };
  const inventory: Inventory = {
    async reserve(orderId, _tenant, lines) {
      if (reservations.has(orderId)) return;
      const next = planReservation(stock, lines);
      for (const [id, level] of next) stock.set(id, level);
      reservations.set(orderId, [...lines]);
    },
    async release(orderId) {
      const lines = reservations.get(orderId);
      if (!lines) return;
      for (const l of lines) stock.set(l.productId, (stock.get(l.productId) ?? 0) + l.quantity);
      reservations.delete(orderId);
    },
  };
  return { catalog, inventory, stock, reservations };
}

/** An OrderStore with the port's semantics, in memory. */
export function memoryOrders() {
  const orders = new Map<string, Order>();
  const keys = new Map<string, { hash: string; orderId: string }>();
  const processed = new Set<string>();
  const outbox: Placed['events'][number][] = [];
  let chain = Promise.resolve();
  const store: OrderStore = {
    placeOnce(claim, decide) {
      const run = async () => {
        const known = keys.get(`${claim.tenant}/${claim.key}`);
        if (known) {
          if (known.hash !== claim.requestHash) throw new DomainError('IDEMPOTENCY_KEY_REUSED', 'reused');
          return { order: orders.get(known.orderId) as Order, replayed: true };
        }
        const placed = await decide();
        orders.set(placed.order.id, placed.order);
        outbox.push(...placed.events);
        keys.set(`${claim.tenant}/${claim.key}`, { hash: claim.requestHash, orderId: placed.order.id });
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
      if (!order) throw new DomainError('ORDER_NOT_FOUND', orderId);
      if (processed.has(`${consumer}/${eventId}`)) return { order, applied: false };
      processed.add(`${consumer}/${eventId}`);
      const placed = change(order);
      if (!placed) return { order, applied: true };
      orders.set(orderId, placed.order);
      outbox.push(...placed.events);
      return { order: placed.order, applied: true };
    },
    async getOrder(id) {
      return orders.get(id);
    },
    async listOrdersForUser(tenant, userId, first) {
      return [...orders.values()].filter((o) => o.tenant === tenant && o.userId === userId).slice(0, first);
    },
  };
  return { store, orders, outbox };
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
