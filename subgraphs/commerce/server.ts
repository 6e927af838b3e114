/**
 * The commerce subgraph: SDL from schemas/subgraphs/commerce.graphql and resolvers that
 * only call domain use cases through ports. Nothing listens on import.
 */

import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { type GraphQLSchema, parse } from 'graphql';
import { assertProductId, type Product, pageSize } from '../../domains/commerce/catalog.ts';
import { assertOrderId, type Order, type OrderLine } from '../../domains/commerce/order.ts';
import { type PlaceOrderDeps, type PlaceOrderInput, placeOrder } from '../../domains/commerce/place-order.ts';
import type { Actor } from '../../domains/shared/actor.ts';
import { DomainError } from '../../domains/shared/errors.ts';
import { subgraphSdl } from '../shared/sdl.ts';

export const COMMERCE_SDL = subgraphSdl('commerce');

/** Per-request context the HTTP layer builds. */
export interface CommerceContext {
  /** The verified caller, or undefined for anonymous requests. */
  readonly actor: Actor | undefined;
  /** The Idempotency-Key header, if sent. */
  readonly idempotencyKey: string | undefined;
}

export type CommerceDeps = PlaceOrderDeps;

function requireActor(ctx: CommerceContext): Actor {
  if (!ctx.actor) throw new DomainError('UNAUTHENTICATED', 'a bearer token is required');
  return ctx.actor;
}

/** An order is visible only to the user who placed it, in their tenant. */
function visibleTo(order: Order | undefined, actor: Actor): Order | null {
  return order && order.tenant === actor.tenant && order.userId === actor.subject ? order : null;
}

export function money(amountCents: number, currency: string) {
  return { amountCents, currency, formatted: `${(amountCents / 100).toFixed(2)} ${currency}` };
}

export function commerceResolvers(deps: CommerceDeps): GraphQLResolverMap<CommerceContext> {
  const { catalog, orders } = deps;
  const getOrder = async (id: string, ctx: CommerceContext) => {
    const actor = requireActor(ctx);
    assertOrderId(id);
    return visibleTo(await orders.getOrder(id), actor);
  };
  return {
    Query: {
      products: (_: unknown, args: { first?: number | null; after?: string | null }) =>
        catalog.listProducts(pageSize(args.first), args.after ?? undefined),
      product: (_: unknown, args: { id: string }) => {
        assertProductId(args.id);
        return catalog.getProduct(args.id);
      },
      order: (_: unknown, args: { id: string }, ctx: CommerceContext) => getOrder(args.id, ctx),
      me: (_: unknown, __: unknown, ctx: CommerceContext) => {
        const actor = requireActor(ctx);
        return { id: actor.subject, tenant: actor.tenant };
      },
      myTenant: (_: unknown, __: unknown, ctx: CommerceContext) => ({ id: requireActor(ctx).tenant }),
    },
    Mutation: {
      placeOrder: async (_: unknown, args: { input: PlaceOrderInput }, ctx: CommerceContext) =>
        (await placeOrder(deps, requireActor(ctx), args.input, ctx.idempotencyKey)).order,
    },
    Tenant: {
      catalogSize: () => catalog.countProducts(),
    },
    Product: {
      __resolveReference: (ref: { id: string }) => catalog.getProduct(ref.id),
      price: (p: Product) => money(p.priceCents, p.currency),
    },
    Order: {
      __resolveReference: (ref: { id: string }, ctx: CommerceContext) => getOrder(ref.id, ctx),
      total: (o: Order) => money(o.totalCents, o.currency),
      items: (o: Order) => o.items.map((l) => ({ ...l, currency: o.currency })),
      user: (o: Order) => ({ id: o.userId, tenant: o.tenant }),
    },
    OrderItem: {
      product: (l: OrderLine) => catalog.getProduct(l.productId),
      unitPrice: (l: OrderLine & { currency: string }) => money(l.unitPriceCents, l.currency),
      lineTotal: (l: OrderLine & { currency: string }) => money(l.unitPriceCents * l.quantity, l.currency),
    },
    User: {
      __resolveReference: (ref: { id: string }, ctx: CommerceContext) => {
        const actor = requireActor(ctx);
        return ref.id === actor.subject ? { id: actor.subject, tenant: actor.tenant } : null;
      },
      orders: (user: { id: string; tenant: string }, args: { first?: number | null }, ctx: CommerceContext) => {
        const actor = requireActor(ctx);
        if (user.id !== actor.subject || user.tenant !== actor.tenant) {
          throw new DomainError('FORBIDDEN', 'you may only list your own orders');
        }
        return orders.listOrdersForUser(actor.tenant, actor.subject, pageSize(args.first));
      },
    },
  };
}

export function commerceSchema(deps: CommerceDeps): GraphQLSchema {
  return buildSubgraphSchema([{ typeDefs: parse(COMMERCE_SDL), resolvers: commerceResolvers(deps) }]);
}
