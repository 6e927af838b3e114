/**
 * Partners' parts for one region, built (not started) from its settings and connections: the
 * stores, the delivery queue, the sender, the management use cases' dependencies, the webhook
 * fan-out and dispatcher, the AMQP bridge and the broker accounts. The region host's module and
 * the stand-alone processes (regions/webhooks/main.ts, regions/amqp-bridge/main.ts) build the
 * same parts here, so a dispatcher in its own process behaves exactly like the in-process one.
 */
import type pg from 'pg';
import { type AmqpBridge, createAmqpBridge } from '../../bridges/amqp/bridge.ts';
import { createWebhookDispatcher, type WebhookDispatcher } from '../../bridges/webhooks/dispatcher.ts';
import { createWebhookFanout, type OfferedType, type WebhookFanout } from '../../bridges/webhooks/fanout.ts';
import type { ManageDeps, PartnerDeps } from '../../domains/partners/manage.ts';
import type { AddressGuard, BrokerAccounts } from '../../domains/partners/ports.ts';
import { DomainError } from '../../domains/shared/errors.ts';
import type { AmqpDependency } from '../../infra/adapters/amqp.ts';
import type { KafkaDependency } from '../../infra/adapters/kafka.ts';
import { addressPolicy } from '../../infra/partners/address-policy.ts';
import { createRabbitmqctlAccounts } from '../../infra/partners/broker-accounts.rabbitmqctl.ts';
import { type AmqpDeliveryQueue, createAmqpDeliveryQueue } from '../../infra/partners/delivery-queue.amqp.ts';
import { createPostgresDeliveryStore } from '../../infra/partners/delivery-store.postgres.ts';
import { createPostgresEndpointStore } from '../../infra/partners/endpoint-store.postgres.ts';
import { type InboundTopology, inboundTopology } from '../../infra/partners/inbound-topology.ts';
import { createPostgresPartnerStore } from '../../infra/partners/partner-store.postgres.ts';
import { scryptHasher } from '../../infra/partners/password.scrypt.ts';
import { cryptoSecrets } from '../../infra/partners/secrets.ts';
import { createHttpWebhookSender, type HttpWebhookSender } from '../../infra/partners/webhook-sender.http.ts';
import type { PartnersSettings } from './settings.ts';

export interface PartnersConnections {
  readonly region: 'east' | 'west';
  readonly pool: pg.Pool;
  readonly amqp: AmqpDependency;
  /** The region's AMQP URL (its path names the vhost). */
  readonly amqpUrl: string;
  readonly kafka: KafkaDependency;
}

export interface PartnersRuntime {
  readonly settings: PartnersSettings;
  readonly manage: ManageDeps;
  readonly partners: PartnerDeps;
  readonly queue: AmqpDeliveryQueue;
  readonly sender: HttpWebhookSender;
  readonly fanout: WebhookFanout;
  readonly dispatcher: WebhookDispatcher;
  readonly topology: InboundTopology;
  readonly amqpBridge: AmqpBridge;
}

/** The vhost an AMQP URL names (RFC 3986 path, percent-decoded; `/` when empty). */
export function vhostOf(amqpUrl: string): string {
  const path = new URL(amqpUrl).pathname.slice(1);
  return path === '' ? '/' : decodeURIComponent(path);
}

const unconfiguredBroker: BrokerAccounts = {
  provision: async () => {
    throw new DomainError(
      'DEPENDENCY_UNAVAILABLE',
      'partner broker accounts are not configured (PARTNERS_RABBITMQCTL)',
    );
  },
  revoke: async () => {},
};

export function partnersRuntime(
  c: PartnersConnections,
  settings: PartnersSettings,
  offered: readonly OfferedType[],
  log: (line: string) => void,
): PartnersRuntime {
  const source = { region: c.region, service: 'partners' };
  const endpoints = createPostgresEndpointStore(c.pool, source);
  const deliveries = createPostgresDeliveryStore(c.pool, source);
  const w = settings.webhooks;
  const queue = createAmqpDeliveryQueue({
    amqp: c.amqp,
    prefix: `${settings.prefix}.webhooks`,
    delaysMs: w.schedule.delaysMs,
  });
  const policy = addressPolicy({ allow: w.allowAddresses });
  const sender = createHttpWebhookSender({ policy, timeoutMs: w.timeoutMs, maxResponseBytes: w.maxResponseBytes });
  const guard: AddressGuard = {
    async check(url) {
      await policy.resolve(new URL(url).hostname);
    },
  };
  const clock = { now: () => new Date().toISOString() };
  const manage: ManageDeps = {
    endpoints,
    deliveries,
    queue,
    guard,
    secrets: cryptoSecrets,
    clock,
    offered: new Set(offered.map((o) => o.type)),
    rotationOverlapMs: w.rotationOverlapMs,
  };
  const fanout = createWebhookFanout({ deliveries, queue, clock }, offered);
  const dispatcher = createWebhookDispatcher(
    {
      prefetch: w.prefetch,
      endpointConcurrency: w.endpointConcurrency,
      endpointBacklog: w.endpointConcurrency * 4,
      maxParkMs: w.maxParkMs,
      sweepIntervalMs: w.sweepIntervalMs,
      sweepGraceMs: w.sweepGraceMs,
    },
    {
      queue,
      attempt: {
        deliveries,
        queue,
        sender,
        clock,
        schedule: w.schedule,
        disableAfterMs: w.disableAfterMs,
        random: Math.random,
      },
      deliveries,
      log,
    },
  );
  const topology = inboundTopology(`${settings.prefix}.inbound`);
  const partnerStore = createPostgresPartnerStore(c.pool);
  const broker = settings.rabbitmqctl
    ? createRabbitmqctlAccounts({
        ctl: settings.rabbitmqctl,
        amqp: c.amqp,
        vhost: vhostOf(c.amqpUrl),
        exchange: topology.exchange,
      })
    : unconfiguredBroker;
  const amqpBridge = createAmqpBridge(
    {
      region: c.region,
      prefetch: settings.amqp.prefetch,
      batchMax: settings.amqp.batchMax,
      lingerMs: settings.amqp.lingerMs,
      maxInFlight: 4,
      refreshMs: settings.amqp.refreshMs,
    },
    { amqp: c.amqp, kafka: c.kafka, partners: partnerStore, topology, log },
  );
  return {
    settings,
    manage,
    partners: { partners: partnerStore, broker, hasher: scryptHasher, secrets: cryptoSecrets, clock },
    queue,
    sender,
    fanout,
    dispatcher,
    topology,
    amqpBridge,
  };
}
