/**
 * Partners as a domain module: webhook endpoints and legacy partners in the graph; the webhook
 * fan-out (a processor of every event type the region's modules offer outside) and dispatcher;
 * the AMQP inbound bridge; the partner SOAP gateway. The dispatcher and the AMQP bridge can run as
 * processes of their own instead (PARTNERS_DISPATCHER / PARTNERS_AMQP_BRIDGE = external; see
 * regions/webhooks/main.ts and regions/amqp-bridge/main.ts).
 */

import { type RunningSoapBridge, startSoapBridge } from '../../bridges/soap/server.ts';
import { PARTNERS_EVENTS } from '../../domains/partners/events.ts';
import { authenticatePartner } from '../../domains/partners/manage.ts';
import { createPostgres } from '../../infra/adapters/postgres.ts';
import { createGrpcInventory } from '../../infra/commerce/inventory.grpc.ts';
import { createPostgresOrderStore } from '../../infra/commerce/order-store.postgres.ts';
import { PARTNERS_MIGRATIONS } from '../../infra/partners/migrations.ts';
import { commerceOrderStatus } from '../../infra/partners/order-status.commerce.ts';
import { grpcStockAdjuster } from '../../infra/partners/stock-adjuster.grpc.ts';
import { partnersSchema } from '../../subgraphs/partners/server.ts';
import type { DomainModule, Processor, Service } from '../host/domain-module.ts';
import { partnersMetrics } from './metrics.ts';
import { type PartnersRuntime, partnersRuntime } from './runtime.ts';
import { partnersSettings } from './settings.ts';

/** What partners expose to tests and ops in a running region. */
export interface PartnersHandle {
  readonly runtime: PartnersRuntime;
  /** The SOAP gateway's URL, once it runs. */
  soapUrl(): string | undefined;
}

export const partnersModule: DomainModule<PartnersHandle> = {
  name: 'partners',
  events: Object.values(PARTNERS_EVENTS),
  migrations: PARTNERS_MIGRATIONS,
  ports: { subgraph: 15, soap: 81 },
  fieldCosts: {
    'WebhookEndpoint.deliveries': 5,
    'WebhookDelivery.attempts': 2,
    'Mutation.createWebhookEndpoint': 10,
    'Mutation.replayWebhookMessages': 20,
    'Mutation.registerLegacyPartner': 20,
  },

  async setup(ctx) {
    const { region } = ctx.config;
    const settings = partnersSettings(region, (name) => ctx.setting(name), ctx.production);
    // A pool of its own: the fan-out and the dispatcher each keep dozens of small writes in flight,
    // which must neither wait behind nor starve the region's other users of its shared pool.
    const db = createPostgres({
      url: ctx.config.endpoints.postgresUrl,
      maxConnections: 20,
      applicationName: `partners-${region}`,
    });
    const runtime = partnersRuntime(
      {
        region,
        pool: db.pool,
        amqp: ctx.deps.amqp,
        amqpUrl: ctx.config.endpoints.amqpUrl,
        kafka: ctx.deps.kafka,
      },
      settings,
      ctx.externalEvents,
      ctx.log,
    );
    // Commerce through its ports: stock over its inventory gRPC service, order status through its store.
    const inventory = createGrpcInventory({ address: () => ctx.grpcAddress() });
    const orders = commerceOrderStatus(
      createPostgresOrderStore(ctx.deps.postgres.pool, { region, service: 'commerce' }),
    );
    let soap: RunningSoapBridge | undefined;

    const QUEUE = 'partners.webhook-queue';
    const services: Service[] = [
      {
        name: QUEUE,
        needs: [],
        start: () => runtime.queue.setup(),
        async stop() {
          runtime.sender.close();
          await db.close();
        },
      },
      {
        name: 'partners.soap',
        needs: ['migrations'],
        async start() {
          soap = await startSoapBridge(
            { port: ctx.port('soap') },
            {
              authenticate: (username, password) => authenticatePartner(runtime.partners, username, password),
              stock: grpcStockAdjuster(inventory),
              orders,
              log: ctx.log,
            },
          );
        },
        async stop() {
          await soap?.stop();
          inventory.close();
        },
      },
    ];
    const processors: Processor[] = [];
    if (settings.webhooks.placement === 'in-process') {
      services.push({
        name: 'partners.webhook-dispatcher',
        needs: ['migrations', QUEUE],
        start: () => runtime.dispatcher.start(),
        stop: () => runtime.dispatcher.stop(),
        check: async () => JSON.stringify(runtime.dispatcher.stats),
      });
      if (runtime.fanout.types.length > 0) {
        processors.push({
          name: settings.fanoutName,
          topics: runtime.fanout.types,
          mirrored: true,
          // Endpoints are owed what happens after they exist: a new group starts at the end.
          fromBeginning: false,
          partitionsConcurrently: settings.webhooks.fanoutConcurrency,
          // Webhooks promise no order (Standard Webhooks consumers dedupe by webhook-id): events of
          // one partition are fanned out together, so their commits share Postgres' fsyncs.
          unorderedConcurrency: 16,
          // WEBHOOK_FANOUT_GATHER: events may gather per fetch (off by default: it adds to webhook latency).
          gatherMs: settings.webhooks.fanoutGatherMs,
          needs: [QUEUE],
          handle: (event) => runtime.fanout.handle(event),
        });
      }
    }
    if (settings.amqp.placement === 'in-process') {
      services.push({
        name: 'partners.amqp-bridge',
        needs: ['migrations', 'topics'],
        start: () => runtime.amqpBridge.start(),
        stop: () => runtime.amqpBridge.stop(),
        check: async () =>
          `${runtime.amqpBridge.partners().length} partners, ${JSON.stringify(runtime.amqpBridge.stats)}`,
      });
    }

    partnersMetrics(ctx.metrics, runtime, {
      dispatcher: settings.webhooks.placement === 'in-process',
      amqpBridge: settings.amqp.placement === 'in-process',
    });
    return {
      subgraph: partnersSchema({
        manage: runtime.manage,
        partners: runtime.partners,
        amqp: { exchange: runtime.topology.exchange, deadQueue: runtime.topology.deadQueue },
      }),
      processors,
      services,
      handle: { runtime, soapUrl: () => soap?.url },
    };
  },
};
