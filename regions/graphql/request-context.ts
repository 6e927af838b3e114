/** What every GraphQL request carries from its HTTP headers. */

import { GraphQLError } from 'graphql';
import type { Context } from 'hono';
import type { Actor } from '../../domains/shared/actor.ts';
import { isDomainError } from '../../domains/shared/errors.ts';

export interface RequestMeta {
  readonly authorization: string | undefined;
  readonly traceparent: string | undefined;
  readonly correlationId: string;
  readonly idempotencyKey: string | undefined;
}

export function requestMeta(c: Context): RequestMeta {
  return {
    authorization: c.req.header('authorization') || undefined,
    traceparent: c.req.header('traceparent') || undefined,
    correlationId: c.req.header('x-correlation-id') || crypto.randomUUID(),
    idempotencyKey: c.req.header('idempotency-key') || undefined,
  };
}

/**
 * The caller's identity: undefined without an Authorization header; a 401 GraphQL
 * error when a token is present but fails verification (never silently anonymous).
 */
export async function actorOf(
  meta: RequestMeta,
  verify: (authorization: string) => Promise<Actor>,
): Promise<Actor | undefined> {
  if (!meta.authorization) return undefined;
  try {
    return await verify(meta.authorization);
  } catch (err) {
    const message = isDomainError(err) ? err.message : 'invalid token';
    throw new GraphQLError(message, {
      extensions: { code: 'UNAUTHENTICATED', correlationId: meta.correlationId, http: { status: 401 } },
    });
  }
}
