/**
 * The partners subgraph: SDL from schemas/subgraphs/partners.graphql and resolvers that only call
 * partners' use cases (domains/partners/manage.ts). Nothing listens on import. Secrets and
 * passwords appear only in the answers of the mutations that create them.
 */

import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { type GraphQLSchema, parse } from 'graphql';
import type { WebhookEndpoint } from '../../domains/partners/endpoint.ts';
import type { LegacyPartner } from '../../domains/partners/legacy-partner.ts';
import {
  createEndpoint,
  disablePartner,
  getEndpoint,
  listEndpoints,
  listPartners,
  type ManageDeps,
  managerTenant,
  type PartnerDeps,
  registerPartner,
  replayMessages,
  resendMessage,
  rotateSecret,
  setEndpointEnabled,
  updateEndpoint,
} from '../../domains/partners/manage.ts';
import type { Attempt, Delivery, WebhookMessage } from '../../domains/partners/message.ts';
import type { Actor } from '../../domains/shared/actor.ts';
import { DomainError } from '../../domains/shared/errors.ts';
import { subgraphSdl } from '../shared/sdl.ts';

export const PARTNERS_SDL = subgraphSdl('partners');

export interface PartnersContext {
  readonly actor: Actor | undefined;
}

export interface PartnersSubgraphDeps {
  readonly manage: ManageDeps;
  readonly partners: PartnerDeps;
  /** Names of the inbound exchange and a partner's dead-letter queue (for display). */
  readonly amqp: { readonly exchange: string; deadQueue(partnerId: string): string };
}

const MAX_PAGE = 100;

function page(first: number | null | undefined): number {
  const n = first ?? 20;
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE) {
    throw new DomainError('BAD_USER_INPUT', `first must be 1-${MAX_PAGE}`, { details: { field: 'first' } });
  }
  return n;
}

interface DeliveryNode {
  readonly tenant: string;
  readonly delivery: Delivery;
  readonly message: WebhookMessage;
}

export function partnersResolvers(deps: PartnersSubgraphDeps): GraphQLResolverMap<PartnersContext> {
  const { manage } = deps;
  const deliveryNode = async (tenant: string, endpointId: string, messageId: string): Promise<DeliveryNode> => {
    const state = await manage.deliveries.state(endpointId, messageId);
    if (!state || state.message.tenant !== tenant) throw new DomainError('NOT_FOUND', `no message ${messageId}`);
    return { tenant, delivery: state.delivery, message: state.message };
  };
  return {
    Query: {
      webhookEndpoints: (_: unknown, __: unknown, ctx: PartnersContext) => listEndpoints(manage, ctx.actor),
      webhookEndpoint: (_: unknown, args: { id: string }, ctx: PartnersContext) =>
        getEndpoint(manage, ctx.actor, args.id),
      webhookEventTypes: (_: unknown, __: unknown, ctx: PartnersContext) => {
        managerTenant(ctx.actor);
        return [...manage.offered].sort();
      },
      legacyPartners: (_: unknown, __: unknown, ctx: PartnersContext) => listPartners(deps.partners, ctx.actor),
    },
    Mutation: {
      createWebhookEndpoint: (_: unknown, args: { input: Record<string, unknown> }, ctx: PartnersContext) =>
        createEndpoint(manage, ctx.actor, {
          url: args.input.url,
          eventTypes: args.input.eventTypes,
          description: args.input.description,
        }),
      updateWebhookEndpoint: (_: unknown, args: { id: string; input: Record<string, unknown> }, ctx: PartnersContext) =>
        updateEndpoint(manage, ctx.actor, args.id, args.input),
      disableWebhookEndpoint: (_: unknown, args: { id: string }, ctx: PartnersContext) =>
        setEndpointEnabled(manage, ctx.actor, args.id, false),
      enableWebhookEndpoint: (_: unknown, args: { id: string }, ctx: PartnersContext) =>
        setEndpointEnabled(manage, ctx.actor, args.id, true),
      rotateWebhookSecret: (_: unknown, args: { id: string }, ctx: PartnersContext) =>
        rotateSecret(manage, ctx.actor, args.id),
      resendWebhookMessage: async (
        _: unknown,
        args: { endpointId: string; messageId: string },
        ctx: PartnersContext,
      ) => {
        const task = await resendMessage(manage, ctx.actor, args.endpointId, args.messageId);
        return deliveryNode(managerTenant(ctx.actor), task.endpointId, task.messageId);
      },
      replayWebhookMessages: async (
        _: unknown,
        args: { endpointId: string; since: string; until: string },
        ctx: PartnersContext,
      ) => ({ queued: await replayMessages(manage, ctx.actor, args.endpointId, args) }),
      registerLegacyPartner: async (_: unknown, args: { input: Record<string, unknown> }, ctx: PartnersContext) => {
        const { partner, password } = await registerPartner(deps.partners, ctx.actor, {
          name: args.input.name,
          ratePerSecond: args.input.ratePerSecond,
          maxQueued: args.input.maxQueued,
          inboundEventTypes: args.input.inboundEventTypes,
        });
        return { partner, username: partner.id, password };
      },
      disableLegacyPartner: (_: unknown, args: { id: string }, ctx: PartnersContext) =>
        disablePartner(deps.partners, ctx.actor, args.id),
    },
    WebhookEndpoint: {
      __resolveReference: (ref: { id: string }, ctx: PartnersContext) => getEndpoint(manage, ctx.actor, ref.id),
      previousSecretExpiresAt: (e: WebhookEndpoint) => e.previousSecret?.expiresAt ?? null,
      deliveries: async (e: WebhookEndpoint, args: { first?: number | null; before?: string | null }) => {
        const views = await manage.deliveries.deliveries(e.tenant, e.id, {
          first: page(args.first),
          ...(args.before ? { before: args.before } : {}),
        });
        return views.map((v): DeliveryNode => ({ tenant: e.tenant, ...v }));
      },
    },
    WebhookDelivery: {
      status: (d: DeliveryNode) => d.delivery.status,
      round: (d: DeliveryNode) => d.delivery.round,
      attemptCount: (d: DeliveryNode) => d.delivery.attempts,
      nextAttemptAt: (d: DeliveryNode) => (d.delivery.status === 'PENDING' ? (d.delivery.nextAttemptAt ?? null) : null),
      lastStatusCode: (d: DeliveryNode) => d.delivery.lastStatusCode ?? null,
      lastError: (d: DeliveryNode) => d.delivery.lastError ?? null,
      attempts: (d: DeliveryNode): Promise<Attempt[]> =>
        manage.deliveries.attempts(d.tenant, d.delivery.endpointId, d.delivery.messageId),
    },
    LegacyPartner: {
      __resolveReference: async (ref: { id: string }, ctx: PartnersContext) =>
        (await listPartners(deps.partners, ctx.actor)).find((p) => p.id === ref.id) ?? null,
      amqpExchange: () => deps.amqp.exchange,
      deadLetterQueue: (p: LegacyPartner) => deps.amqp.deadQueue(p.id),
    },
  };
}

export function partnersSchema(deps: PartnersSubgraphDeps): GraphQLSchema {
  return buildSubgraphSchema([{ typeDefs: parse(PARTNERS_SDL), resolvers: partnersResolvers(deps) }]);
}
