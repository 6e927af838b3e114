/**
 * Helpers of the partners end-to-end suites and benchmark: a region (commerce + partners) on a
 * database of its own with a partners instance of its own (its queues, exchange and consumer
 * groups), tokens for managers of any tenant, domain events produced straight to Kafka as another
 * region's domain would, and the GraphQL operations.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Producer } from 'kafkajs';
import { createKafka, type KafkaDependency } from '../../infra/adapters/kafka.ts';
import { uniqueName } from '../../infra/adapters/testing.ts';
import { COMMERCE_MIGRATIONS } from '../../infra/commerce/migrations.ts';
import { resolveEndpoints } from '../../infra/config/endpoints.ts';
import { type Envelope, envelope } from '../../infra/events/envelope.ts';
import { toKafkaMessage } from '../../infra/events/kafka-codec.ts';
import { deleteDeliveryQueues } from '../../infra/partners/delivery-queue.amqp.ts';
import { PARTNERS_MIGRATIONS } from '../../infra/partners/migrations.ts';
import { type ScratchDatabase, scratchDatabase } from '../../infra/postgres/scratch-database.testing.ts';
import { DOMAINS } from '../../regions/domains.ts';
import { east } from '../../regions/east.ts';
import { type RunningRegion, startRegion } from '../../regions/host/region-host.ts';
import { testIdentity, testRegionConfig } from '../../regions/host/testing.ts';
import type { Identity } from '../../regions/identity/identity.ts';
import { type PartnersHandle, partnersModule } from '../../regions/partners/module.ts';
import { gql } from './graphql-client.ts';

export interface PartnersRegion {
  readonly region: RunningRegion;
  readonly handle: PartnersHandle;
  readonly graphql: string;
  readonly db: ScratchDatabase;
  /** The environment the region was started with (for processes a test starts beside it). */
  readonly env: Record<string, string | undefined>;
  readonly instance: string;
  token(tenant: string, sub?: string, scopes?: string[]): Promise<string>;
  /** A GraphQL call as a manager of `tenant` (unless a token is given). */
  call<T = Record<string, unknown>>(
    tenant: string,
    query: string,
    variables?: Record<string, unknown>,
    token?: string,
  ): Promise<{ data?: T; errors?: ReadonlyArray<{ message: string; extensions?: Record<string, unknown> }> }>;
  stop(): Promise<void>;
}

/** Starts east with commerce and partners on a scratch database; `settings` are PARTNERS_* values. */
export async function startPartnersRegion(
  purpose: string,
  settings: Record<string, string> = {},
  opts: { domains?: typeof DOMAINS } = {},
): Promise<PartnersRegion> {
  const db = await scratchDatabase(purpose, [COMMERCE_MIGRATIONS, PARTNERS_MIGRATIONS]);
  const instance = uniqueName('t', '').slice(0, 20);
  const env: Record<string, string | undefined> = { ...process.env, MERIDIAN_EAST_POSTGRES_URL: db.url };
  env.MERIDIAN_EAST_PARTNERS_INSTANCE = instance;
  // Loopback receivers only: the allow-list is explicit, as it must be.
  env.MERIDIAN_EAST_PARTNERS_WEBHOOK_ALLOW_ADDRESSES = '127.0.0.1/32';
  for (const [k, v] of Object.entries(settings)) env[`MERIDIAN_EAST_PARTNERS_${k}`] = v;
  const identity: Identity = testIdentity();
  let region: RunningRegion;
  try {
    region = await startRegion(testRegionConfig(east, env), {
      identity,
      domains: opts.domains ?? DOMAINS,
      log: (line) => {
        if (process.env.PARTNERS_TEST_LOG) console.log(line);
      },
    });
  } catch (err) {
    await db.drop();
    throw err;
  }
  const graphql = `http://127.0.0.1:${region.gatewayPort}/graphql`;
  const token = async (tenant: string, sub = 'admin', scopes = ['partners:manage', 'orders:write']) => {
    const issued = await identity.issuer?.issue({ sub, tenant, scopes });
    assert.ok(issued, 'the development issuer is on');
    return issued.access_token;
  };
  return {
    region,
    handle: region.domain(partnersModule),
    graphql,
    db,
    env,
    instance,
    token,
    async call(tenant, query, variables = {}, given) {
      const t = given ?? (await token(tenant));
      return gql(graphql, query, variables, { authorization: `Bearer ${t}` });
    },
    async stop() {
      try {
        await removeBrokerObjects(region, db);
        await region.stop();
      } finally {
        await db.drop();
      }
    },
  };
}

/** Deletes what the run made in the shared vhost: its queues, its exchange, its partners' queues and accounts. */
async function removeBrokerObjects(region: RunningRegion, db: ScratchDatabase): Promise<void> {
  const { runtime } = region.domain(partnersModule);
  const partners = await db.postgres.pool.query<{ id: string }>('SELECT id FROM legacy_partners');
  for (const { id } of partners.rows) await runtime.partners.broker.revoke(id).catch(() => {});
  await deleteDeliveryQueues(region.deps.amqp, runtime.queue).catch(() => {});
  const ch = await region.deps.amqp.confirmChannel().catch(() => undefined);
  if (!ch) return;
  ch.on('error', () => {});
  for (const { id } of partners.rows) {
    await ch.deleteQueue(runtime.topology.queue(id)).catch(() => {});
    await ch.deleteQueue(runtime.topology.deadQueue(id)).catch(() => {});
  }
  await ch.deleteExchange(runtime.topology.exchange).catch(() => {});
  await ch.close().catch(() => {});
}

/** Produces domain events to Kafka as their own domain's relay would (valid envelopes, keyed by subject). */
export function eventProducer() {
  const kafka: KafkaDependency = createKafka({
    brokers: resolveEndpoints('east', process.env).kafkaBrokers,
    clientId: 'partners-e2e',
  });
  // Not idempotent: concurrent sends are not serialised behind each other (a generator must not be the bottleneck).
  let producer: Promise<Producer> | undefined;
  const send = async (events: readonly Envelope[]) => {
    producer ??= kafka.producer({ idempotent: false, maxInFlightRequests: 16 });
    await (await producer).send({
      topic: events[0]?.type ?? '',
      acks: -1,
      messages: events.map((e) => toKafkaMessage(e)),
    });
  };
  const orderEnvelope = (tenant: string, kind: 'confirmed' | 'cancelled', time: string): Envelope => {
    const orderId = randomUUID();
    const data =
      kind === 'confirmed'
        ? { orderId, userId: 'u1', status: 'CONFIRMED', version: 2 }
        : { orderId, userId: 'u1', status: 'CANCELLED', reason: 'test', version: 2 };
    return envelope(
      { type: `commerce.order.${kind}.v1`, subject: orderId, tenant, data },
      { region: 'east', service: 'commerce', now: () => time },
    );
  };
  return {
    kafka,
    /** An order status change of `tenant` (commerce's confirmed/cancelled events). */
    async orderEvent(
      tenant: string,
      kind: 'confirmed' | 'cancelled',
      time = new Date().toISOString(),
    ): Promise<Envelope> {
      const e = orderEnvelope(tenant, kind, time);
      await send([e]);
      return e;
    },
    /** `n` order confirmations of `tenant` in one produce request. */
    async orderEvents(tenant: string, n: number): Promise<Envelope[]> {
      const time = new Date().toISOString();
      const events = Array.from({ length: n }, () => orderEnvelope(tenant, 'confirmed', time));
      await send(events);
      return events;
    },
    close: () => kafka.close(),
  };
}

export const CREATE_ENDPOINT = `mutation Create($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) { secret endpoint { id url status eventTypes } }
}`;

export const ENDPOINT = `query Endpoint($id: ID!) {
  webhookEndpoint(id: $id) {
    id url status disabledReason failingSince previousSecretExpiresAt
    deliveries(first: 100) {
      status round attemptCount lastStatusCode lastError
      message { id eventType eventId occurredAt payload }
      attempts { round attempt at statusCode latencyMs success error responseBody }
    }
  }
}`;

export interface EndpointView {
  id: string;
  url: string;
  status: string;
  disabledReason: string | null;
  failingSince: string | null;
  previousSecretExpiresAt: string | null;
  deliveries: Array<{
    status: string;
    round: number;
    attemptCount: number;
    lastStatusCode: number | null;
    lastError: string | null;
    message: { id: string; eventType: string; eventId: string; occurredAt: string; payload: string };
    attempts: Array<{
      round: number;
      attempt: number;
      at: string;
      statusCode: number | null;
      latencyMs: number;
      success: boolean;
      error: string | null;
      responseBody: string | null;
    }>;
  }>;
}

/** A fresh tenant name. */
export function tenantName(prefix = 'pt'): string {
  return `${prefix}-${randomUUID().replaceAll('-', '').slice(0, 12)}`;
}
