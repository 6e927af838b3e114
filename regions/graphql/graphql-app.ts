/**
 * Hono apps serving GraphQL: a subgraph (one domain's schema) and the region gateway
 * (Apollo Gateway over a static supergraph — no runtime introspection). Both verify
 * the bearer token, run each request inside its trace, and format errors alike.
 *
 * Both defend themselves, since clients may reach them without the edge: the platform's body
 * and token limits (edge/graphql/limits.ts) at both, and at the gateway the edge's depth and
 * cost limits, measured with the supergraph and per-field costs (operation-limits.ts). In
 * production mode (NODE_ENV=production, read by the composition root) neither answers
 * introspection nor suggests field names ("Did you mean …?") in its errors.
 */
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer, type ApolloServerOptions, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import {
  type ASTVisitor,
  GraphQLError,
  type GraphQLFormattedError,
  type GraphQLSchema,
  MaxIntrospectionDepthRule,
  type ValidationContext,
} from 'graphql';
import { type Context, Hono } from 'hono';
import type { Actor } from '../../domains/shared/actor.ts';
import { GRAPHQL_LIMITS, type GraphQLLimits } from '../../edge/graphql/limits.ts';
import { negotiateMediaType } from '../../edge/graphql/media-type.ts';
import {
  currentTelemetry,
  currentTraceparent,
  quietUnlessSampled,
  withRequestTelemetry,
} from '../../infra/telemetry/context.ts';
import { CACHE_SCOPE_HEADER, tenantCacheScopePlugin } from '../../subgraphs/shared/cache-scope.ts';
import { formatGraphQLError } from '../../subgraphs/shared/errors.ts';
import { type ApolloHandlerOptions, apolloHandler } from './apollo-hono.ts';
import {
  fieldCostProblems,
  type OperationLimits,
  operationLimitsPlugin,
  type Refusal,
  screenOperation,
} from './operation-limits.ts';
import { actorOf, type RequestMeta, requestMeta } from './request-context.ts';
import { SubgraphSource } from './subgraph-source.ts';

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

/** Options of {@link subgraphApp}. */
export interface SubgraphOptions {
  /** Overrides of the platform's body and token limits (edge/graphql/limits.ts). */
  readonly limits?: Partial<Pick<GraphQLLimits, 'maxBodyBytes' | 'maxTokens'>>;
  /** Production mode: no introspection (nor `_service { sdl }`), no field suggestions in errors. */
  readonly production?: boolean;
}

/** Options of {@link gatewayApp}. */
export interface GatewayOptions {
  /** Overrides of the platform's limits (edge/graphql/limits.ts). */
  readonly limits?: Partial<GraphQLLimits>;
  /** Cost of one field by `Type.field` (`Query.products`), default 1; every key must name a field of the supergraph. */
  readonly fieldCosts?: Readonly<Record<string, number>>;
  /** Production mode: no introspection, no field suggestions in errors. */
  readonly production?: boolean;
  /** More Apollo plugins (e.g. the region's metrics). */
  readonly plugins?: readonly ApolloServerPlugin<GraphQLRequestContext>[];
}

/** The platform's limits with `overrides`; throws on a value that is not a positive integer. */
function resolveLimits(overrides: Partial<GraphQLLimits> | undefined): GraphQLLimits {
  const limits: GraphQLLimits = { ...GRAPHQL_LIMITS, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 1)
      throw new Error(`GraphQL limit ${name}: ${value} must be an integer >= 1`);
  }
  return limits;
}

/** Apollo's own wording of a suggestion, which its DisableSuggestions plugin removes the same way. */
const SUGGESTION = / ?Did you mean(.+?)\?$/;

/** Apollo's `formatError`: codes and correlation ids; in production, no suggestion survives (validation or variables). */
function errorFormatter(production: boolean) {
  return function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
    const out = formatGraphQLError(formatted, error, () => currentTelemetry()?.correlationId);
    return production ? { ...out, message: out.message.replace(SUGGESTION, '') } : out;
  };
}

/** An error answered before Apollo runs, in the shape `formatError` gives Apollo's. */
function errorResponse(c: Context, status: number, code: string, message: string): Response {
  const error = errorFormatter(false)({ message, extensions: { code } }, undefined);
  const mediaType = negotiateMediaType(c.req.header('accept')) ?? 'application/json';
  return new Response(JSON.stringify({ errors: [error] }), {
    status,
    headers: { 'content-type': `${mediaType}; charset=utf-8` },
  });
}

/**
 * In production a subgraph does not hand out its SDL through `_service` either: that is
 * introspection by another name, and the gateway composes from the checked-in supergraph, so
 * nothing at run time needs it.
 */
function NoServiceSdlRule(context: ValidationContext): ASTVisitor {
  return {
    Field(node) {
      if (node.name.value === '_service' && context.getParentType() === context.getSchema().getQueryType()) {
        context.reportError(
          new GraphQLError('The subgraph schema (_service) is not served in production.', { nodes: [node] }),
        );
      }
    },
  };
}

/** Apollo Server options that differ between development and production, plus the parse limit. */
function modeOptions(production: boolean, maxTokens: number, subgraph: boolean) {
  return {
    // Apollo would read NODE_ENV itself; the composition root decides, once.
    nodeEnv: production ? 'production' : 'development',
    introspection: !production,
    hideSchemaDetailsFromClientErrors: production,
    formatError: errorFormatter(production),
    parseOptions: { maxTokens },
    // Recommended by graphql-js, not installed by Apollo: bounds `types { fields { type { fields …` nesting.
    validationRules: [MaxIntrospectionDepthRule, ...(production && subgraph ? [NoServiceSdlRule] : [])],
  } satisfies Partial<ApolloServerOptions<GraphQLRequestContext>>;
}

function mount(
  server: ApolloServer<GraphQLRequestContext>,
  verify: Verify,
  options: Omit<ApolloHandlerOptions, 'errorResponse'>,
  /**
   * The gateway: an unsampled request runs with the instrumentations off (quietUnlessSampled); its
   * only calls downstream, to the subgraphs, carry the trace by hand (subgraphSource). Not the
   * subgraphs: their gRPC calls rely on the instrumentation to carry it.
   */
  quiet = false,
): Hono {
  const app = new Hono();
  // The request's metadata, read once by the middleware and found again by Apollo's context.
  const metas = new WeakMap<Request, RequestMeta>();
  app.use('/graphql', async function traced(c, next) {
    const meta = requestMeta(c);
    metas.set(c.req.raw, meta);
    const handle = () =>
      withRequestTelemetry({ traceparent: meta.traceparent, correlationId: meta.correlationId }, async () => {
        await next();
        c.res.headers.set('x-correlation-id', meta.correlationId);
      });
    await (quiet ? quietUnlessSampled(handle) : handle());
  });
  const handler = apolloHandler(
    server,
    async (c) => {
      const read = metas.get(c.req.raw) ?? requestMeta(c);
      const meta = { ...read, correlationId: currentTelemetry()?.correlationId ?? read.correlationId };
      return {
        meta,
        actor: await actorOf(meta, verify),
        idempotencyKey: meta.idempotencyKey,
        cacheScope: { tenant: false, user: false },
      };
    },
    { ...options, errorResponse },
  );
  app.on(['GET', 'POST'], '/graphql', handler);
  return app;
}

/** A subgraph served at /graphql. Call `stop()` on shutdown. */
export async function subgraphApp(schema: GraphQLSchema, verify: Verify, options: SubgraphOptions = {}) {
  const limits = resolveLimits(options.limits);
  const server = new ApolloServer<GraphQLRequestContext>({
    schema,
    // Inline traces are for Apollo Studio, which a Meridian gateway does not report to.
    plugins: [ApolloServerPluginInlineTraceDisabled(), tenantCacheScopePlugin()],
    ...modeOptions(options.production ?? false, limits.maxTokens, true),
    csrfPrevention: { requestHeaders: CSRF_HEADERS },
    // The region's service manager stops this server in order; Apollo's own SIGTERM handler
    // would stop it early and re-raise the signal before the region's graceful stop finished.
    stopOnTerminationSignals: false,
  });
  await server.start();
  return { app: mount(server, verify, { maxBodyBytes: limits.maxBodyBytes }), stop: () => server.stop() };
}

/**
 * A subgraph as the gateway calls it: the caller's identity, idempotency key and trace go with
 * each fetch, identical in-flight query fetches of the same caller credentials are merged
 * (subgraph-source.ts), and each answer's headers say whether it was shared per tenant or
 * private per user.
 */
function subgraphSource(url: string): SubgraphSource<GraphQLRequestContext> {
  return new SubgraphSource<GraphQLRequestContext>({
    url,
    forward(context) {
      const headers: Record<string, string> = {};
      if (!context.meta) return headers;
      if (context.meta.authorization) headers.authorization = context.meta.authorization;
      if (context.idempotencyKey) headers['idempotency-key'] = context.idempotencyKey;
      headers['x-correlation-id'] = context.meta.correlationId;
      const traceparent = currentTraceparent();
      if (traceparent) headers.traceparent = traceparent;
      return headers;
    },
    observe(headers, context) {
      if (headers.get(CACHE_SCOPE_HEADER) === 'tenant') context.cacheScope.tenant = true;
      else if (/\bprivate\b/.test(headers.get('cache-control') ?? '')) context.cacheScope.user = true;
    },
  });
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

/** Keeps the API schema the gateway serves, for measuring operations before Apollo sees them. */
function schemaWatcher(onSchema: (schema: GraphQLSchema) => void): ApolloServerPlugin<GraphQLRequestContext> {
  return {
    async serverWillStart() {
      return {
        schemaDidLoadOrUpdate({ apiSchema }) {
          onSchema(apiSchema);
        },
      };
    },
  };
}

/** The error a refused operation is answered with: HTTP 400 and the edge's code and message. */
function refusalError(refusal: Refusal): GraphQLError {
  return new GraphQLError(refusal.message, { extensions: { code: refusal.code, http: { status: 400 } } });
}

/**
 * The region gateway at /graphql over the static supergraph, subgraph names mapped to URLs.
 * Before any subgraph is called it refuses bodies over the limit (413), and operations too deep
 * or too costly (400, QUERY_TOO_DEEP / QUERY_TOO_COSTLY, as the edge does).
 */
export async function gatewayApp(
  supergraphSdl: string,
  subgraphUrls: Record<string, string>,
  verify: Verify,
  options: GatewayOptions = {},
) {
  const limits = resolveLimits(options.limits);
  const measured: OperationLimits = { limits, fieldCosts: options.fieldCosts ?? {} };
  let apiSchema: GraphQLSchema | undefined;
  const gateway = new ApolloGateway({
    supergraphSdl,
    buildService: ({ name }) => {
      const url = subgraphUrls[name];
      if (!url) throw new Error(`no URL configured for subgraph ${name}`);
      return subgraphSource(url);
    },
  });
  const server = new ApolloServer<GraphQLRequestContext>({
    gateway,
    plugins: [
      gatewayCacheScopePlugin(),
      operationLimitsPlugin(measured, refusalError),
      schemaWatcher((schema) => {
        apiSchema = schema;
      }),
      ...(options.plugins ?? []),
    ],
    ...modeOptions(options.production ?? false, limits.maxTokens, false),
    csrfPrevention: { requestHeaders: CSRF_HEADERS },
    // The region's service manager stops this server in order; Apollo's own SIGTERM handler
    // would stop it early and re-raise the signal before the region's graceful stop finished.
    stopOnTerminationSignals: false,
  });
  await server.start();
  const problems = apiSchema ? fieldCostProblems(apiSchema, measured.fieldCosts) : [];
  if (!apiSchema || problems.length) {
    await server.stop();
    throw new Error(apiSchema ? `gateway fieldCosts: ${problems.join('; ')}` : 'gateway: the supergraph did not load');
  }
  const screen: ApolloHandlerOptions['screen'] = (c, params) => {
    const refusal = apiSchema && screenOperation(params, apiSchema, measured);
    return refusal ? errorResponse(c, 400, refusal.code, refusal.message) : undefined;
  };
  return {
    app: mount(server, verify, { maxBodyBytes: limits.maxBodyBytes, screen }, true),
    stop: () => server.stop(),
  };
}
