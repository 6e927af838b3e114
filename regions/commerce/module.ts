/**
 * Commerce as a domain module: the catalog and orders subgraph, inventory over gRPC, orders
 * through the outbox, the payment processor, its caches, its hub topics and subscription
 * fields (`orderUpdated`, `myOrdersUpdated`), and (unless a
 * partner endpoint is configured) the legacy SOAP payment provider stand-in.
 */
import { createHash } from 'node:crypto';
import { COMMERCE_EVENTS, type OrderCreatedData } from '../../domains/commerce/events.ts';
import { processPayment } from '../../domains/commerce/process-payment.ts';
import { createPostgres } from '../../infra/adapters/postgres.ts';
import type { CacheStats } from '../../infra/cache/read-through.ts';
import { createCachedCatalog } from '../../infra/commerce/catalog.cached.ts';
import { createPostgresCatalog } from '../../infra/commerce/catalog.postgres.ts';
import { createGrpcInventory } from '../../infra/commerce/inventory.grpc.ts';
import { createPostgresInventory } from '../../infra/commerce/inventory.postgres.ts';
import { COMMERCE_MIGRATIONS } from '../../infra/commerce/migrations.ts';
import { applyPeerEvent } from '../../infra/commerce/order-standby.postgres.ts';
import { createCachedOrderStore } from '../../infra/commerce/order-store.cached.ts';
import { createPostgresOrderStore } from '../../infra/commerce/order-store.postgres.ts';
import { createSoapPaymentProvider } from '../../infra/commerce/payment-provider.soap.ts';
import type { Envelope } from '../../infra/events/envelope.ts';
import { commerceSchema } from '../../subgraphs/commerce/server.ts';
import type { DomainModule, Service } from '../host/domain-module.ts';
import { inventoryGrpcService } from '../inventory/grpc-server.ts';
import { type RunningPaymentProvider, startPaymentProvider } from '../payment-provider/server.ts';
import { COMMERCE_CHANGING_EVENTS, commerceChangedEntities } from './changes.ts';
import { COMMERCE_EXTERNAL_EVENTS } from './external.ts';
import { commerceHubFeed, commerceHubTopics } from './hub.ts';
import { commerceSubscriptions } from './subscriptions.ts';

/** What commerce exposes to tests and ops in a running region. */
export interface CommerceHandle {
  /** Read-through cache counters of products and orders (loads = origin reads). */
  readonly cacheStats: { readonly products: Readonly<CacheStats>; readonly orders: Readonly<CacheStats> };
  /** The local SOAP stand-in, when no partner endpoint is configured (ops and drills); set once running. */
  paymentProvider(): RunningPaymentProvider | undefined;
}

const PAYMENT_PROVIDER = 'commerce.payment-provider';

const STANDBY_TOPICS = [
  ['standby-orders', COMMERCE_EVENTS.orderCreated],
  ['standby-confirmations', COMMERCE_EVENTS.orderConfirmed],
  ['standby-cancellations', COMMERCE_EVENTS.orderCancelled],
  ['standby-reservations', COMMERCE_EVENTS.inventoryReserved],
  ['standby-releases', COMMERCE_EVENTS.inventoryReleased],
] as const;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

function validHttpUrl(name: string, raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  try {
    const url = new URL(raw);
    if (url.protocol === 'http:' || url.protocol === 'https:') return raw;
  } catch {
    // reported below
  }
  throw new Error(`${name}: "${raw}" is not an http(s) URL`);
}

export const commerceModule: DomainModule<CommerceHandle> = {
  name: 'commerce',
  events: Object.values(COMMERCE_EVENTS),
  migrations: COMMERCE_MIGRATIONS,
  ports: { subgraph: 11, paymentProvider: 80 },
  // One writer region at a time for orders (and the stock they reserve); the other keeps a standby copy.
  singleWriter: ['orders'],
  // A product list item resolves stock and price: a little more than a plain field.
  fieldCosts: { 'Query.products': 2, 'Query.order': 2, 'Mutation.placeOrder': 10, 'Tenant.catalogSize': 5 },
  changedEntities: commerceChangedEntities,
  changingEvents: COMMERCE_CHANGING_EVENTS,
  externalEvents: COMMERCE_EXTERNAL_EVENTS,

  async setup(ctx) {
    const { region } = ctx.config;
    // Inventory owns stock: its own pool, so order transactions waiting on it never starve it of connections.
    const inventoryDb = createPostgres({
      url: ctx.config.endpoints.postgresUrl,
      applicationName: `inventory-${region}`,
    });
    const inventory = createGrpcInventory({ address: () => ctx.grpcAddress() });

    const redis = ctx.deps.redis.client;
    const catalog = createCachedCatalog(createPostgresCatalog(ctx.deps.postgres.pool), redis);
    const orderStore = createPostgresOrderStore(ctx.deps.postgres.pool, {
      region,
      service: 'commerce',
      fence: { aggregate: 'orders', initialWriter: ctx.config.initialWriter },
    });
    const orders = createCachedOrderStore(orderStore, redis);
    // Payment decides on the order as stored, never on a cached read (a cached miss of a peer's
    // order copied a moment ago would be taken for "no such order").
    const paymentOrders = { ...orders, getOrder: orderStore.getOrder };
    const fence = ctx.fence('orders');
    const standby = (event: Envelope) => applyPeerEvent(ctx.deps.postgres.pool, event).then(() => undefined);
    const clock = { now: () => new Date().toISOString() };
    const ids = { uuid: () => crypto.randomUUID() };

    const configuredProvider = validHttpUrl(
      `MERIDIAN_${region.toUpperCase()}_COMMERCE_PAYMENT_PROVIDER_URL`,
      ctx.setting('PAYMENT_PROVIDER_URL'),
    );
    let standIn: RunningPaymentProvider | undefined;
    let providerUrl = configuredProvider;
    const provider = createSoapPaymentProvider({ url: () => providerUrl as string });
    const services: Service[] = [
      { name: 'commerce.inventory-store', start: async () => {}, stop: () => inventoryDb.close() },
      { name: 'commerce.inventory-client', start: async () => {}, stop: async () => inventory.close() },
    ];
    if (!configuredProvider) {
      services.push({
        name: PAYMENT_PROVIDER,
        async start() {
          standIn = await startPaymentProvider({ port: ctx.port('paymentProvider') });
          providerUrl = standIn.url;
        },
        stop: async () => standIn?.stop(),
      });
    }

    return {
      subgraph: commerceSchema({ catalog, inventory, orders, clock, ids, hash: sha256, fence }),
      grpc: [inventoryGrpcService(createPostgresInventory(inventoryDb.pool, { region }))],
      processors: [
        {
          // Writes orders: runs in the writer region only, and there also finishes the peer's
          // orders (its topic copy, from its group's translated offsets) after a failover.
          name: 'payment-processor',
          topics: [COMMERCE_EVENTS.orderCreated],
          writes: 'orders',
          // Orders are independent of each other (a payment is decided per order, a duplicate under
          // the same idempotency key gets the same verdict whichever is handled first, and the
          // provider dedupes by order id): four at a time per partition, so a backlog after a
          // takeover drains while traffic continues (one at a time it barely kept up).
          unorderedConcurrency: 4,
          needs: configuredProvider ? [] : [PAYMENT_PROVIDER],
          handle: async (event, meta) => {
            // Taking over the peer's orders: its copy first (idempotent), so the order is there to pay.
            if (meta.origin === 'peer') await applyPeerEvent(ctx.deps.postgres.pool, event);
            await processPayment(
              { orders: paymentOrders, inventory, provider, clock },
              { id: event.id, tenant: event.tenant, data: event.data as OrderCreatedData },
            );
          },
        },
        // The standby copy of the peer's orders and stock, one processor per topic: a state change
        // waits for its order.created without holding up the topic that brings it.
        // MERIDIAN_<REGION>_COMMERCE_STANDBY=off: a region that keeps no copy of the peer's orders.
        // Within one topic, different orders' events are independent (one order's events apply
        // one at a time under its lock, whichever processor brings them): four at a time per
        // partition, so the copy catches up after the region was down while traffic goes on.
        // One at a time, it was what a drill's return waited for longest (20-30 s at 3 orders/s).
        ...(ctx.setting('STANDBY') === 'off' ? [] : STANDBY_TOPICS).map(([name, type]) => ({
          name,
          topics: [type],
          mirrored: 'only' as const,
          unorderedConcurrency: 4,
          handle: standby,
        })),
      ],
      cache: {
        async invalidate(change) {
          const of = (type: string) => change.entities.filter((e) => e.type === type).map((e) => e.id);
          const products = of('Product');
          const orderIds = of('Order');
          if (products.length) await catalog.invalidateProducts(products);
          if (orderIds.length) await orders.invalidateOrders(orderIds);
        },
      },
      hubTopics: commerceHubTopics(async (orderId) => {
        const o = await orders.getOrder(orderId);
        return o && { tenant: o.tenant, userId: o.userId };
      }),
      hubFeed: commerceHubFeed,
      subscriptions: commerceSubscriptions,
      services,
      handle: {
        cacheStats: { products: catalog.productCache.stats, orders: orders.orderCache.stats },
        paymentProvider: () => standIn,
      },
    };
  },
};
