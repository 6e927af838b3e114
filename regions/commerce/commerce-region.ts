/**
 * Commerce in one region: migrations, topics, the inventory gRPC service, the commerce
 * subgraph, the outbox relay, the payment processor, the cache updater, the hub feed and
 * (unless a partner endpoint is configured) the legacy SOAP payment provider stand-in.
 * Each role is a service with start/stop; `startCommerce` runs them all in this process.
 */
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { COMMERCE_EVENTS, type OrderCreatedData } from '../../domains/commerce/events.ts';
import { processPayment } from '../../domains/commerce/process-payment.ts';
import { createPostgres } from '../../infra/adapters/postgres.ts';
import type { CacheStats } from '../../infra/cache/read-through.ts';
import { createCachedCatalog } from '../../infra/commerce/catalog.cached.ts';
import { createPostgresCatalog } from '../../infra/commerce/catalog.postgres.ts';
import { createGrpcInventory } from '../../infra/commerce/inventory.grpc.ts';
import { createPostgresInventory } from '../../infra/commerce/inventory.postgres.ts';
import { createCachedOrderStore } from '../../infra/commerce/order-store.cached.ts';
import { createPostgresOrderStore } from '../../infra/commerce/order-store.postgres.ts';
import { createSoapPaymentProvider } from '../../infra/commerce/payment-provider.soap.ts';
import { createEventConsumer, type EventConsumer } from '../../infra/events/consumer.ts';
import { eventRegistry } from '../../infra/events/registry.ts';
import { ensureTopics } from '../../infra/events/topics.ts';
import { createOutboxRelay } from '../../infra/outbox/relay.ts';
import { migrate } from '../../infra/postgres/migrate.ts';
import { commerceSchema } from '../../subgraphs/commerce/server.ts';
import type { RegionConfig } from '../config.ts';
import { subgraphApp, type Verify } from '../graphql/graphql-app.ts';
import type { RegionDependencies } from '../host/dependencies.ts';
import type { Hub } from '../hub/hub.ts';
import { startInventoryGrpcServer } from '../inventory/grpc-server.ts';
import { type RunningPaymentProvider, startPaymentProvider } from '../payment-provider/server.ts';
import { CACHE_UPDATER_TOPICS, invalidateFor } from './cache-updater.ts';
import { feedOrderEvent, HUB_FEED_TOPICS } from './hub-feed.ts';
import { feedPurges, PURGE_FEED_TOPICS } from './purge-feed.ts';

export interface RunningCommerce {
  /** Where the gateway reaches the commerce subgraph. */
  readonly subgraphUrl: string;
  readonly paymentProviderUrl: string;
  /** Looks up who owns an order (for hub topic authorization). */
  orderOwner(orderId: string): Promise<{ tenant: string; userId: string } | undefined>;
  readonly consumers: Readonly<Record<'payment' | 'cacheUpdater' | 'hubFeed' | 'purgeFeed', EventConsumer>>;
  /** Read-through cache counters of products and orders (loads = origin reads). */
  readonly cacheStats: { readonly products: Readonly<CacheStats>; readonly orders: Readonly<CacheStats> };
  /** The local SOAP stand-in, when no partner endpoint is configured (ops and drills). */
  readonly paymentProvider: RunningPaymentProvider | undefined;
  stop(): Promise<void>;
}

export interface CommerceOptions {
  readonly verify: Verify;
  readonly hub: Pick<Hub, 'publish'>;
  /** Log line sink. */
  readonly log?: (line: string) => void;
  /** Run the outbox relay in this process (default true; false when relays run apart). */
  readonly relay?: boolean;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export async function startCommerce(
  config: RegionConfig,
  deps: RegionDependencies,
  opts: CommerceOptions,
): Promise<RunningCommerce> {
  const { region } = config;
  const log = opts.log ?? (() => {});
  const stops: Array<() => Promise<unknown> | unknown> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await Promise.resolve(stop()).catch(() => {});
  };
  try {
    const applied = await migrate(deps.postgres.pool);
    if (applied.length) log(`commerce ${region}: migrations applied ${applied.join(', ')}`);
    await ensureTopics(deps.kafka, eventRegistry().types);

    // Inventory owns stock: its own pool, so order transactions waiting on it never
    // starve it of connections.
    const inventoryDb = createPostgres({ url: config.endpoints.postgresUrl, applicationName: `inventory-${region}` });
    stops.push(() => inventoryDb.close());
    const inventoryServer = await startInventoryGrpcServer({
      port: config.inventoryGrpcPort,
      inventory: createPostgresInventory(inventoryDb.pool, { region }),
    });
    stops.push(() => inventoryServer.stop());
    const inventory = createGrpcInventory({ address: `127.0.0.1:${inventoryServer.port}` });
    stops.push(() => inventory.close());

    const redis = deps.redis.client;
    const catalog = createCachedCatalog(createPostgresCatalog(deps.postgres.pool), redis);
    const orders = createCachedOrderStore(
      createPostgresOrderStore(deps.postgres.pool, { region, service: 'commerce' }),
      redis,
    );
    const clock = { now: () => new Date().toISOString() };
    const ids = { uuid: () => crypto.randomUUID() };

    const subgraph = await subgraphApp(
      commerceSchema({ catalog, inventory, orders, clock, ids, hash: sha256 }),
      opts.verify,
    );
    stops.push(() => subgraph.stop());
    const subgraphServer = await listen(subgraph.app.fetch, config.commerceSubgraphPort);
    stops.push(() => subgraphServer.close());

    let paymentProviderUrl = config.paymentProviderUrl;
    let standIn: RunningPaymentProvider | undefined;
    if (!paymentProviderUrl) {
      const running = await startPaymentProvider({ port: config.soapPort });
      standIn = running;
      stops.push(() => running.stop());
      paymentProviderUrl = running.url;
    }
    const provider = createSoapPaymentProvider({ url: paymentProviderUrl });

    const relay = createOutboxRelay({
      pool: deps.postgres.pool,
      kafka: deps.kafka,
      name: `relay-${region}-${process.pid}`,
    });
    relay.start();
    stops.push(() => relay.stop());

    const onError = (role: string) => (err: unknown, meta: { topic: string; offset: string }) =>
      log(`commerce ${region}: ${role} ${meta.topic}@${meta.offset}: ${(err as Error).message}`);
    const payment = createEventConsumer({
      kafka: deps.kafka,
      groupId: `commerce-payment-processor-${region}`,
      topics: [COMMERCE_EVENTS.orderCreated],
      handle: async (event) => {
        await processPayment(
          { orders, inventory, provider, clock },
          { id: event.id, tenant: event.tenant, data: event.data as OrderCreatedData },
        );
      },
      onError: onError('payment'),
    });
    const cacheUpdater = createEventConsumer({
      kafka: deps.kafka,
      groupId: `commerce-cache-updater-${region}`,
      topics: CACHE_UPDATER_TOPICS,
      fromBeginning: false,
      handle: (event) =>
        invalidateFor(event, {
          invalidateProducts: (productIds) => catalog.invalidateProducts(productIds),
          invalidateOrders: (orderIds) => orders.invalidateOrders(orderIds),
        }),
      onError: onError('cache-updater'),
    });
    // Each hub process follows the live stream itself (its own group, from the end).
    const hubFeed = createEventConsumer({
      kafka: deps.kafka,
      groupId: `hub-${region}-${process.pid}-${Date.now()}`,
      topics: HUB_FEED_TOPICS,
      fromBeginning: false,
      handle: async (event) => feedOrderEvent(opts.hub, event),
      onError: onError('hub-feed'),
    });
    // Edge cache purges: entity tags of every event that makes cached responses stale.
    const purgeFeed = createEventConsumer({
      kafka: deps.kafka,
      groupId: `edge-purge-${region}-${process.pid}-${Date.now()}`,
      topics: PURGE_FEED_TOPICS,
      fromBeginning: false,
      handle: async (event) => {
        feedPurges(opts.hub, event);
      },
      onError: onError('purge-feed'),
    });
    const consumers = [payment, cacheUpdater, hubFeed, purgeFeed];
    stops.push(() => Promise.all(consumers.map((c) => c.stop())));
    // Joining a group can wait for a rebalance of its other members: join all at once.
    await Promise.all(consumers.map((c) => c.start()));

    return {
      subgraphUrl: `http://127.0.0.1:${subgraphServer.port}/graphql`,
      paymentProviderUrl,
      orderOwner: async (orderId) => {
        const o = await orders.getOrder(orderId);
        return o && { tenant: o.tenant, userId: o.userId };
      },
      consumers: { payment, cacheUpdater, hubFeed, purgeFeed },
      cacheStats: { products: catalog.productCache.stats, orders: orders.orderCache.stats },
      paymentProvider: standIn,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** Serves a fetch handler on 127.0.0.1:port (0 = any free port). */
export async function listen(fetch: (req: Request) => Response | Promise<Response>, port: number) {
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch, port, hostname: '127.0.0.1' }, () => resolve(s));
    s.once('error', reject);
  });
  // Outlive clients' idle keep-alive sockets (the gateway's agent keeps them ~15 s):
  // a server closing an idle socket first makes the client's next request "hang up".
  const http = server as unknown as { keepAliveTimeout: number; headersTimeout: number };
  http.keepAliveTimeout = 65_000;
  http.headersTimeout = 66_000;
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
