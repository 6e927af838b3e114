/**
 * Commerce's GraphQL subscription fields on the hub (schemas/subscriptions/commerce.graphql):
 * `orderUpdated(id)` follows `order.<id>`, `myOrdersUpdated` the caller's `user.<sub>.orders`.
 * Authorization is the hub's, through commerce's hub topics (an order's topic to its owner).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DomainError } from '../../domains/shared/errors.ts';
import type { FieldDelivery, SubscriptionPart } from '../host/domain-module.ts';
import { orderTopic, userOrdersTopic } from './hub.ts';

const SDL = readFileSync(
  fileURLToPath(new URL('../../schemas/subscriptions/commerce.graphql', import.meta.url)),
  'utf8',
);

interface OrderMessageData {
  readonly orderId: string;
  readonly status: string;
  readonly version: number;
  readonly reason?: string;
  readonly totalCents?: number;
  readonly currency?: string;
  readonly time: string;
  readonly source: string;
}

/** An order message of the hub feed as an OrderUpdate. */
export function orderUpdate(d: FieldDelivery) {
  const m = d.data as OrderMessageData;
  return {
    id: m.orderId,
    status: m.status,
    version: m.version,
    cancelReason: m.reason ?? null,
    totalCents: m.totalCents ?? null,
    currency: m.currency ?? null,
    time: m.time,
    // CloudEvents source `/regions/<region>/<service>`.
    region: m.source.split('/')[2] ?? '',
  };
}

/** The part commerce adds to the hub's schema. */
export const commerceSubscriptions: SubscriptionPart = {
  typeDefs: SDL,
  subscriptions: {
    orderUpdated: {
      topics(args) {
        try {
          return [orderTopic(String(args.id))];
        } catch (err) {
          throw new DomainError('BAD_USER_INPUT', 'id must be an order id (a UUID)', {
            cause: err,
            details: { field: 'id' },
          });
        }
      },
      payload: orderUpdate,
    },
    myOrdersUpdated: {
      topics: (_args, actor) => [userOrdersTopic(actor.subject)],
      payload: orderUpdate,
    },
  },
};
