/**
 * The edge worker as one Hono app on web-standard APIs only. The runtime entry points
 * (main.deno.ts, main.node.ts) build the config from their environment, supply the
 * runtime-specific ports (client address, rate-limit store) and serve `Edge.fetch` (the app, with
 * /graphql taken first).
 */
import { Hono } from 'hono';
import { createEdgeAuth, wwwAuthenticate } from './auth/jwt.ts';
import { createByteLru } from './cache/lru.ts';
import { createResponseCache } from './cache/response-cache.ts';
import { createScopeIndex } from './cache/scope-index.ts';
import type { EdgeConfig } from './config.ts';
import { createMemoryPersistedQueryStore } from './graphql/persisted-query-store.memory.ts';
import { createGraphQLRequestParser } from './graphql/request.ts';
import { createGraphQLRoute } from './graphql-route.ts';
import { createEdgeMetrics } from './metrics/edge-metrics.ts';
import { PROMETHEUS_CONTENT_TYPE } from './metrics/metrics.ts';
import { createOrigin, fetchGatewayPost, type GatewayPost } from './origin.ts';
import { createPurgeSubscriber, type PurgeSubscriber } from './purge/subscriber.ts';
import { createRateLimiter } from './ratelimit/limiter.ts';
import type { RateLimitStore } from './ratelimit/store.ts';
import { opsRoutes } from './routing/ops.ts';
import { problemResponse } from './routing/problem.ts';
import { createRegionRouter, REGION_NAMES } from './routing/region-router.ts';
import { proxySse } from './routing/sse-proxy.ts';
import { pathOf } from './routing/url-path.ts';
import { relayEvents, type WebSocketConstructor, type WebSocketUpgrader } from './routing/ws-proxy.ts';

export interface EdgeDeps {
  /** The client's address from the runtime's connection info, its second fetch argument (anonymous rate limits). */
  readonly clientIp: (req: Request, env: unknown) => string | undefined;
  readonly rateLimitStore: RateLimitStore;
  /** A fallback store for when the shared one fails (per-instance limits instead of none). */
  readonly fallbackStore?: RateLimitStore;
  readonly fetch?: typeof fetch;
  /** How GraphQL calls reach the regions (a runtime may have a cheaper way than `fetch`, the default). */
  readonly gatewayPost?: GatewayPost;
  /** How the SSE proxy reaches the hubs; `fetch` by default (a runtime may trace these calls itself). */
  readonly streamFetch?: typeof fetch;
  /** The runtime's WebSocket upgrade (hono/deno, @hono/node-server); without it /v1/graphql answers 501. */
  readonly upgradeWebSocket?: WebSocketUpgrader;
  /** The WebSocket client the edge opens to a hub; the global one by default. */
  readonly WebSocket?: WebSocketConstructor;
  readonly clock?: () => number;
  readonly log?: (line: string) => void;
  /** false: /graphql never takes its fast path (tests compare it with the slow path). */
  readonly fastPath?: boolean;
  /** Hits clone a Response prepared per entry (the Deno entry sets it; see createGraphQLRoute's hitTemplates). */
  readonly hitTemplates?: boolean;
}

export interface Edge {
  readonly app: Hono;
  /**
   * What the runtimes serve: `app.fetch`, except that GET and POST /graphql go straight to their
   * route (same handler, metrics and error answer as through the app). Hono's dispatch (its
   * context, middleware chain and router) costs about 1.3 µs a request on Deno, of the 20–25 µs
   * a cache hit costs; skipping it gave Deno's hits 2–6% more throughput (A/B, 3 Dec). `env` is
   * the runtime's (Deno's ServeHandlerInfo, @hono/node-server's bindings), passed to `clientIp`.
   */
  fetch(req: Request, env?: unknown): Promise<Response>;
  /** Starts health checks and purge subscriptions; idempotent until stop(). */
  start(): void;
  stop(): Promise<void>;
}

const GRAPHQL_PATH = '/graphql';

/**
 * Whether an absolute URL's path is exactly /graphql. A path Hono would decode to it
 * (percent-escapes) is not: it goes through the app, to the same route.
 */
export function isGraphQLPath(url: string): boolean {
  return pathOf(url) === GRAPHQL_PATH;
}

/** A purge-stream token: configured, or (development only) minted from the dev issuer. */
function purgeToken(config: EdgeConfig, fetchFn: typeof fetch): () => Promise<string> {
  return async () => {
    if (config.purgeToken) return config.purgeToken;
    const res = await fetchFn(`${config.regions[config.nearest].gatewayUrl}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sub: 'meridian-edge', tenant: 'meridian', scopes: ['edge:purge'] }),
    });
    if (!res.ok)
      throw new Error(`no purge token: MERIDIAN_EDGE_PURGE_TOKEN unset and dev issuer answered ${res.status}`);
    return ((await res.json()) as { access_token: string }).access_token;
  };
}

export function createEdge(config: EdgeConfig, deps: EdgeDeps): Edge {
  const fetchFn = deps.fetch ?? ((input, init) => fetch(input, init));
  const streamFetch = deps.streamFetch ?? fetchFn;
  const clock = deps.clock ?? Date.now;
  const log = deps.log ?? ((line: string) => console.log(line));
  const metrics = createEdgeMetrics({ regions: [...REGION_NAMES] });
  const router = createRegionRouter({
    regions: config.regions,
    nearest: config.nearest,
    writer: config.writer,
    healthIntervalMs: config.healthIntervalMs,
    fetch: fetchFn,
  });
  const auth = createEdgeAuth({ ...config.jwt, fetch: fetchFn });
  const edgeAuthenticate = (req: Request) => auth.authenticate(req);
  const limiter = createRateLimiter({
    store: deps.rateLimitStore,
    fallback: deps.fallbackStore,
    policies: config.limits,
  });
  const refetchers = createByteLru<() => Promise<void>>({ maxBytes: 4 << 20, sizeOf: () => 256 });
  const cache = createResponseCache({
    maxBytes: config.cacheMaxBytes,
    clock,
    // Hot PUBLIC keys are refreshed before they expire, so they never go cold.
    refreshAhead: (key) =>
      void refetchers
        .get(key)?.()
        .catch(() => {}),
  });
  const graphqlRoute = createGraphQLRoute({
    parse: createGraphQLRequestParser({
      maxBodyBytes: config.maxBodyBytes,
      // APQ per instance, bounded: a client re-registers a query on PERSISTED_QUERY_NOT_FOUND.
      persistedQueries: createMemoryPersistedQueryStore({ maxBytes: 16 << 20 }),
    }),
    maxBodyBytes: config.maxBodyBytes,
    authenticate: (req) => auth.authenticate(req),
    limiter,
    cache,
    scopes: createScopeIndex(),
    origin: createOrigin({ router, post: deps.gatewayPost ?? fetchGatewayPost(fetchFn), metrics }),
    metrics,
    limits: { maxDepth: config.maxDepth, maxCost: config.maxCost },
    clock,
    rememberRefetch: (key, refetch) => refetchers.set(key, refetch),
    fastPath: deps.fastPath,
    hitTemplates: deps.hitTemplates,
  });
  let purges: PurgeSubscriber | undefined;

  const app = new Hono();
  // Series handles by route and status, resolved once: label sets are few, requests are many.
  const observed = new Map<string, { count: () => void; time: (seconds: number) => void }>();
  /** Counts an answer by route and status and times it by route (the golden signals of /metrics). */
  function record(route: string, status: number, startedAt: number): void {
    const id = `${status} ${route}`;
    let series = observed.get(id);
    if (series === undefined) {
      series = {
        count: metrics.requests.bind({ route, status: String(status) }),
        time: metrics.requestDuration.bind({ route }),
      };
      observed.set(id, series);
    }
    series.count();
    series.time((performance.now() - startedAt) / 1000);
  }
  app.use(async function observe(c, next) {
    const t0 = performance.now();
    await next();
    record(c.req.routePath || 'unmatched', c.res.status, t0);
  });
  const graphql = (req: Request, env: unknown) => graphqlRoute(req, deps.clientIp(req, env));
  const failed = (err: Error) => {
    log(`edge: ${err.stack ?? err.message}`);
    return problemResponse(500, 'Internal Server Error');
  };
  app.get('/health', (c) => c.json({ status: 'ok', regions: router.status().regions }));
  app.get('/metrics', () => new Response(metrics.render(), { headers: { 'content-type': PROMETHEUS_CONTENT_TYPE } }));
  // The same route as Edge.fetch's direct one: the app is complete on its own (tests, mounting).
  app.on(['GET', 'POST'], GRAPHQL_PATH, (c) => graphql(c.req.raw, c.env));
  app.get('/v1/stream', async (c) => {
    const choice = router.choose({ hint: c.req.header('x-meridian-region') ?? null });
    if (!choice.region) return problemResponse(503, 'No region available', 'no healthy region can serve the stream');
    const { hubUrl } = router.endpoints(choice.region);
    const res = await proxySse(c.req.raw, `${hubUrl}/v1/stream${new URL(c.req.url).search}`, streamFetch);
    res.headers.set('x-meridian-region', choice.region);
    return res;
  });
  app.on(['GET', 'POST'], '/v1/graphql/stream', async function graphqlOverSse(c) {
    // GraphQL subscriptions over SSE (graphql-sse, distinct connections), passed through like /v1/stream.
    const choice = router.choose({ hint: c.req.header('x-meridian-region') ?? null });
    if (!choice.region) return problemResponse(503, 'No region available', 'no healthy region can serve the stream');
    const url = new URL(c.req.url);
    const upstream = `${router.endpoints(choice.region).hubUrl}/v1/graphql/stream${url.search}`;
    let post: { body: string; contentType: string } | undefined;
    if (c.req.method === 'POST') {
      const body = await c.req.text();
      if (new TextEncoder().encode(body).byteLength > config.maxBodyBytes) {
        return problemResponse(413, 'Content Too Large', `the body is over ${config.maxBodyBytes} bytes`);
      }
      post = { body, contentType: c.req.header('content-type') ?? 'application/json' };
    }
    const res = await proxySse(c.req.raw, upstream, streamFetch, { post });
    res.headers.set('x-meridian-region', choice.region);
    return res;
  });
  app.get('/v1/graphql', async function liveGraphQL(c) {
    // GraphQL over WebSocket (graphql-transport-ws), passed through to a region's hub. The token
    // is checked here, at the upgrade: in the Authorization header, or ?access_token= where a
    // browser cannot set headers (RFC 6750 §2.3). The hub verifies it again.
    if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') {
      return problemResponse(426, 'Upgrade Required', 'open /v1/graphql as a WebSocket (graphql-transport-ws)', {
        headers: { upgrade: 'websocket' },
      });
    }
    if (!deps.upgradeWebSocket) return problemResponse(501, 'Not Implemented', 'this edge does not pass WebSockets');
    const url = new URL(c.req.url);
    const queryToken = url.searchParams.get('access_token');
    const headers = new Headers();
    const authorization = c.req.header('authorization') ?? (queryToken ? `Bearer ${queryToken}` : undefined);
    if (authorization !== undefined) headers.set('authorization', authorization);
    const auth = await edgeAuthenticate(new Request(url, { headers }));
    if (auth.kind !== 'user') {
      const status = auth.kind === 'error' ? auth.status : 401;
      const detail =
        auth.kind === 'error' ? auth.message : 'a WebSocket needs a Bearer token (Authorization or ?access_token=)';
      const challenge = wwwAuthenticate(
        auth.kind === 'error' ? auth : { kind: 'error', status: 401, code: 'UNAUTHENTICATED', message: detail },
      );
      return problemResponse(status, status === 503 ? 'Service Unavailable' : 'Unauthorized', detail, {
        headers: challenge ? { 'www-authenticate': challenge } : {},
      });
    }
    const hint = c.req.header('x-meridian-region') ?? url.searchParams.get('region');
    const choice = router.choose({ hint });
    if (!choice.region) return problemResponse(503, 'No region available', 'no healthy region can serve the socket');
    const upstream = new URL('/v1/graphql', router.endpoints(choice.region).hubUrl);
    upstream.protocol = upstream.protocol === 'https:' ? 'wss:' : 'ws:';
    upstream.searchParams.set('access_token', auth.token);
    const protocol = c.req.header('sec-websocket-protocol')?.split(',')[0]?.trim() || undefined;
    const events = relayEvents(
      { url: upstream.toString(), protocol, expiresAt: auth.expiresAt },
      // Expiry is judged by wall time, as the token was (not the cache's clock).
      { ...config.ws, WebSocket: deps.WebSocket },
    );
    return deps.upgradeWebSocket(c, events);
  });
  if (config.opsToken) {
    app.route(
      '/',
      opsRoutes({
        router,
        token: config.opsToken,
        regionToken: config.regionOpsToken,
        fetch: fetchFn,
        onWriterChange: (c) => log(`edge: writer ${c.from} → ${c.to} (epoch ${c.epoch})`),
      }),
    );
  }
  app.notFound(() => problemResponse(404, 'Not Found'));
  app.onError(failed);

  /** GET and POST /graphql straight to the route, as Hono would route them; the rest through Hono. */
  async function graphqlFirst(req: Request, env?: unknown): Promise<Response> {
    const method = req.method;
    if ((method !== 'GET' && method !== 'POST') || !isGraphQLPath(req.url)) return app.fetch(req, env);
    const t0 = performance.now();
    let res: Response;
    try {
      res = await graphql(req, env);
    } catch (err) {
      res = failed(err as Error);
    }
    record(GRAPHQL_PATH, res.status, t0);
    return res;
  }

  return {
    app,
    fetch: graphqlFirst,
    start() {
      router.start();
      // Idempotent like the router: a second subscriber would be one that stop() never closes.
      if (purges) return;
      purges = createPurgeSubscriber({
        regions: Object.fromEntries(REGION_NAMES.map((r) => [r, config.regions[r].hubUrl])),
        token: purgeToken(config, fetchFn),
        fetch: fetchFn,
        log,
        onPurge: (tags, soft) => {
          const n = cache.purgeTags(tags, { soft });
          metrics.cachePurges.inc({ kind: soft ? 'soft' : 'hard' }, n > 0 ? 1 : 0);
        },
        // A gap in the purge stream may have lost purges: nothing cached can be trusted.
        onGap: () => cache.clear(),
      });
      purges.start();
    },
    async stop() {
      router.stop();
      const stopping = purges;
      purges = undefined;
      await stopping?.stop();
    },
  };
}
