/**
 * Hono apps serving GraphQL: a subgraph (one domain's schema) and the region gateway
 * (Apollo Gateway over a static supergraph — no runtime introspection). Both verify
 * the bearer token, run each request inside its trace, and format errors alike.
 */
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import type { GraphQLSchema } from 'graphql';
import { Hono } from 'hono';
import type { Actor } from '../../domains/shared/actor.ts';
import { currentTelemetry, currentTraceparent, withTelemetry } from '../../infra/telemetry/context.ts';
import { CACHE_SCOPE_HEADER, tenantCacheScopePlugin } from '../../subgraphs/shared/cache-scope.ts';
import { formatGraphQLError } from '../../subgraphs/shared/errors.ts';
import { apolloHandler } from './apollo-hono.ts';
import { actorOf, type RequestMeta, requestMeta } from './request-context.ts';

export type Verify = (authorization: string) => Promise<Actor>;

export interface GraphQLRequestContext {
  readonly meta: RequestMeta;
  readonly actor: Actor | undefined;
  readonly idempotencyKey: string | undefined;
  /** What the subgraphs' answers said about sharing (gateway only). */
  readonly cacheScope: { tenant: boolean; user: boolean };
}

/** Apollo's CSRF prevention accepts GETs that carry one of these (non-simple) headers. */
const CSRF_HEADERS = ['x-apollo-operation-name', 'apollo-require-preflight', 'authorization', 'x-meridian-region'];

function formatError(formatted: Parameters<typeof formatGraphQLError>[0], error: unknown) {
  return formatGraphQLError(formatted, error, () => currentTelemetry()?.correlationId);
}

function mount(server: ApolloServer<GraphQLRequestContext>, verify: Verify): Hono {
  const app = new Hono();
  app.use('/graphql', async function traced(c, next) {
    const meta = requestMeta(c);
    await withTelemetry({ traceparent: meta.traceparent, correlationId: meta.correlationId }, async () => {
      await next();
      c.res.headers.set('x-correlation-id', meta.correlationId);
    });
  });
  const handler = apolloHandler(server, async (c) => {
    const meta = { ...requestMeta(c), correlationId: currentTelemetry()?.correlationId ?? crypto.randomUUID() };
    return {
      meta,
      actor: await actorOf(meta, verify),
      idempotencyKey: meta.idempotencyKey,
      cacheScope: { tenant: false, user: false },
    };
  });
  app.on(['GET', 'POST'], '/graphql', handler);
  return app;
}

/** A subgraph served at /graphql. Call `stop()` on shutdown. */
export async function subgraphApp(schema: GraphQLSchema, verify: Verify) {
  const server = new ApolloServer<GraphQLRequestContext>({
    schema,
    formatError,
    // Inline traces are for Apollo Studio, which a Meridian gateway does not report to.
    plugins: [ApolloServerPluginInlineTraceDisabled(), tenantCacheScopePlugin()],
    introspection: true,
    csrfPrevention: { requestHeaders: CSRF_HEADERS },
  });
  await server.start();
  return { app: mount(server, verify), stop: () => server.stop() };
}

/** Forwards the caller's identity, idempotency key and trace to subgraphs. */
class ForwardingDataSource extends RemoteGraphQLDataSource<GraphQLRequestContext> {
  override willSendRequest({
    request,
    context,
  }: Parameters<RemoteGraphQLDataSource<GraphQLRequestContext>['willSendRequest'] & object>[0]) {
    const headers = request.http?.headers;
    if (!headers || !context.meta) return;
    if (context.meta.authorization) headers.set('authorization', context.meta.authorization);
    if (context.idempotencyKey) headers.set('idempotency-key', context.idempotencyKey);
    headers.set('x-correlation-id', context.meta.correlationId);
    const traceparent = currentTraceparent();
    if (traceparent) headers.set('traceparent', traceparent);
  }

  override didReceiveResponse({
    response,
    context,
  }: Parameters<RemoteGraphQLDataSource<GraphQLRequestContext>['didReceiveResponse'] & object>[0]) {
    const headers = response.http?.headers;
    if (headers?.get(CACHE_SCOPE_HEADER) === 'tenant') context.cacheScope.tenant = true;
    else if (/\bprivate\b/.test(headers?.get('cache-control') ?? '')) context.cacheScope.user = true;
    return response;
  }
}

/** The gateway passes the subgraphs' tenant scope on only when no answer was private per user. */
function gatewayCacheScopePlugin(): ApolloServerPlugin<GraphQLRequestContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response, contextValue }) {
          const { tenant, user } = contextValue.cacheScope;
          if (tenant && !user) response.http.headers.set(CACHE_SCOPE_HEADER, 'tenant');
        },
      };
    },
  };
}

/** The region gateway at /graphql over the static supergraph, subgraph names mapped to URLs. */
export async function gatewayApp(supergraphSdl: string, subgraphUrls: Record<string, string>, verify: Verify) {
  const gateway = new ApolloGateway({
    supergraphSdl,
    buildService: ({ name }) => {
      const url = subgraphUrls[name];
      if (!url) throw new Error(`no URL configured for subgraph ${name}`);
      return new ForwardingDataSource({ url });
    },
  });
  const server = new ApolloServer<GraphQLRequestContext>({
    gateway,
    formatError,
    plugins: [gatewayCacheScopePlugin()],
    introspection: true,
    csrfPrevention: { requestHeaders: CSRF_HEADERS },
  });
  await server.start();
  return { app: mount(server, verify), stop: () => server.stop() };
}
