/**
 * GraphQL subscriptions over Server-Sent Events (the `graphql-sse` protocol, "distinct
 * connections mode"): `POST /v1/graphql/stream` (or GET with `?query=`) with
 * `Accept: text/event-stream` and the bearer token, one operation per request. The same
 * schema, authorization, resume (`extensions.hub`) and per-user operation budget as the
 * WebSocket transport; simpler for browsers behind proxies that refuse WebSockets.
 *
 * graphql-sse PROTOCOL.md, distinct connections mode: "each event stream … will deliver
 * `next` events with the execution result as `data`" and ends with a `complete` event.
 * A subscription cut off for falling behind ends with a `next` carrying `SLOW_CONSUMER`.
 */
import { createHandler } from 'graphql-sse/lib/use/fetch';
import { Hono } from 'hono';
import type { Actor } from '../../domains/shared/actor.ts';
import type { UserLimits } from './limits.ts';
import { streamActor } from './stream-auth.ts';
import type { HubGraphQL } from './subscriptions.ts';

/** Options of graphqlSseRoutes. */
export interface GraphqlSseOptions {
  readonly graphql: HubGraphQL;
  readonly verify: (authorization: string | null | undefined) => Promise<Actor>;
  readonly limits: UserLimits;
}

/** The `/v1/graphql/stream` route. */
export function graphqlSseRoutes(opts: GraphqlSseOptions): Hono {
  const { graphql, verify, limits } = opts;
  // The route verifies before the handler runs; the handler finds the caller by request.
  const actors = new WeakMap<Request, Actor>();
  const handler = createHandler<Record<string, unknown>>({
    schema: graphql.schema,
    // Distinct connections mode only: every stream stands alone and carries its own token.
    authenticate: () => null,
    onSubscribe(req, params) {
      const actor = actors.get(req.raw);
      if (actor === undefined)
        return { errors: [{ message: 'unauthenticated', extensions: { code: 'UNAUTHENTICATED' } }] } as never;
      const admission = limits.admit(actor);
      if (!admission.ok) {
        return {
          errors: [
            {
              message: 'too many operations: slow down',
              extensions: { code: 'RATE_LIMITED', retryAfterMs: admission.retryAfterMs },
            },
          ],
        } as never;
      }
      const prepared = graphql.prepare(params, { actor });
      if (Array.isArray(prepared)) return { errors: prepared.map((e) => e.toJSON()) } as never;
      return prepared as never;
    },
    execute: (args) => graphql.execute(args),
    subscribe: (args) => graphql.subscribe(args),
  });

  const app = new Hono();
  app.on(['GET', 'POST'], '/v1/graphql/stream', async function graphqlStream(c) {
    const actor = await streamActor(c, verify);
    if (actor instanceof Response) return actor;
    actors.set(c.req.raw, actor);
    const res = await handler(c.req.raw);
    const headers = new Headers(res.headers);
    headers.set('X-Accel-Buffering', 'no');
    headers.set('Cache-Control', 'no-cache');
    return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
  });
  return app;
}
