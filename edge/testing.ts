/**
 * Test builders for the edge app: a scripted origin behind `deps.fetch` (both regions'
 * gateways and hubs, and the issuer's JWKS), ES256 tokens, GraphQL request builders, and
 * `testEdge` wiring them into `createEdge`. Runtime-neutral (no node: imports), so the same
 * tests run on Node and on Deno.
 */
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';
import { createEdge, type Edge, type EdgeDeps } from './app.ts';
import { type EdgeConfig, edgeConfig } from './config.ts';
import { createMemoryStore } from './ratelimit/memory-store.ts';
import type { RegionName } from './routing/region-router.ts';
import { type FakeClock, fakeClock } from './routing/testing.ts';

export { settle } from './routing/testing.ts';

/** Where the scripted regions answer; hostnames name the region. */
export const ORIGIN_URLS = {
  east: { gatewayUrl: 'http://east.test', hubUrl: 'http://east-hub.test' },
  west: { gatewayUrl: 'http://west.test', hubUrl: 'http://west-hub.test' },
} as const;
export const ISSUER = 'meridian-dev';
export const AUDIENCE = 'meridian';
export const OPS_TOKEN = 'ops-token-for-tests';
export const PURGE_TOKEN = 'purge-token-for-tests';

/** The test edge's environment: scripted regions, ample rate limits, one health check per start. */
export const TEST_ENV: Readonly<Record<string, string>> = {
  MERIDIAN_EDGE_EAST_GATEWAY_URL: ORIGIN_URLS.east.gatewayUrl,
  MERIDIAN_EDGE_EAST_HUB_URL: ORIGIN_URLS.east.hubUrl,
  MERIDIAN_EDGE_WEST_GATEWAY_URL: ORIGIN_URLS.west.gatewayUrl,
  MERIDIAN_EDGE_WEST_HUB_URL: ORIGIN_URLS.west.hubUrl,
  MERIDIAN_JWT_ISSUER: ISSUER,
  MERIDIAN_JWT_AUDIENCE: AUDIENCE,
  // The longest interval: start() checks once at once, and no second check runs during a test.
  MERIDIAN_EDGE_HEALTH_INTERVAL_MS: '60000',
  MERIDIAN_EDGE_OPS_TOKEN: OPS_TOKEN,
  MERIDIAN_EDGE_PURGE_TOKEN: PURGE_TOKEN,
  MERIDIAN_EDGE_ANONYMOUS_LIMIT_CAPACITY: '1000000',
  MERIDIAN_EDGE_ANONYMOUS_LIMIT_REFILL_PER_SECOND: '1000000',
  MERIDIAN_EDGE_CLIENT_LIMIT_CAPACITY: '1000000',
  MERIDIAN_EDGE_CLIENT_LIMIT_REFILL_PER_SECOND: '1000000',
  MERIDIAN_EDGE_TENANT_LIMIT_CAPACITY: '1000000',
  MERIDIAN_EDGE_TENANT_LIMIT_REFILL_PER_SECOND: '1000000',
};

// ── tokens ──────────────────────────────────────────────────────────────────────────────

/** An ES256 signing key and its public JWK, as the issuer's JWKS lists it. */
export interface TestKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

/** A fresh ES256 key. */
export async function makeKey(kid = 'test-key'): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

/** A signed access token for `sub` in `tenant`; claims override the defaults (undefined removes one). */
export function signToken(key: TestKey, sub: string, tenant: string, claims: JWTPayload = {}): Promise<string> {
  const t = Math.floor(Date.now() / 1000);
  const merged: JWTPayload = {
    sub,
    tenant,
    scopes: ['orders:read'],
    iss: ISSUER,
    aud: AUDIENCE,
    iat: t,
    nbf: t,
    exp: t + 300,
    ...claims,
  };
  const payload = Object.fromEntries(Object.entries(merged).filter(([, v]) => v !== undefined));
  return new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'JWT' }).sign(key.privateKey);
}

// ── the scripted origin ─────────────────────────────────────────────────────────────────

/** One request the edge sent through `deps.fetch`. */
export interface OriginCall {
  readonly region: RegionName;
  readonly kind: 'health' | 'graphql' | 'jwks' | 'stream' | 'ops' | 'other';
  readonly url: string;
  readonly method: string;
  readonly headers: Headers;
  readonly body: string;
  /** The GraphQL request body, for `graphql` calls. */
  readonly graphql?: { query: string; operationName: string | null; variables: Record<string, unknown> };
}

/** A scripted answer. `body` objects are sent as JSON; `refuse` fails like a connection refused. */
export interface Reply {
  readonly status?: number;
  readonly headers?: Record<string, string>;
  readonly body?: unknown;
  /** Answer only after this long (aborted like a real fetch when the edge's signal fires). */
  readonly delayMs?: number;
  /** Answer only once this settles. */
  readonly until?: Promise<unknown>;
  readonly refuse?: boolean;
}

/** Decides a region's answer to one GraphQL call. */
export type Responder = (call: OriginCall) => Reply | Promise<Reply>;

/** A 200 GraphQL answer the gateway marks cacheable (`public, max-age=60` by default). */
export function answer(
  data: unknown,
  opts: { cacheControl?: string; scope?: string; errors?: unknown[]; status?: number } = {},
): Reply {
  const headers: Record<string, string> = { 'cache-control': opts.cacheControl ?? 'public, max-age=60' };
  if (opts.scope) headers['x-meridian-cache-scope'] = opts.scope;
  return {
    status: opts.status ?? 200,
    headers,
    body: opts.errors ? { data, errors: opts.errors } : { data },
  };
}

const encoder = new TextEncoder();

function regionOfHost(host: string): RegionName {
  return host.startsWith('west') ? 'west' : 'east';
}

function abortError(): DOMException {
  return new DOMException('The operation was aborted.', 'AbortError');
}

/** Waits `ms`, rejecting as fetch does when `signal` aborts first. */
function wait(ms: number, signal: AbortSignal | null | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError());
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Both regions behind one fetch: `/health`, `/graphql` (answered by `respond[region]`), the
 * issuer's JWKS and the hubs' purge streams. Every request is recorded in `calls`.
 */
export function scriptedOrigin(options: { keys?: readonly TestKey[] } = {}) {
  const calls: OriginCall[] = [];
  /** A down region fails its health checks and refuses connections to its gateway. */
  const down: Record<RegionName, boolean> = { east: false, west: false };
  const respond: Record<RegionName, Responder> = {
    east: () => answer({ hello: 'from east' }),
    west: () => answer({ hello: 'from west' }),
  };
  const jwks = { keys: [...(options.keys ?? [])], down: false };
  // The writer lease each region holds, as /health reports it and PUT /ops/writer moves it.
  const leases: Record<RegionName, { writer: string; epoch: number }> = {
    east: { writer: 'east', epoch: 0 },
    west: { writer: 'east', epoch: 0 },
  };
  const streams: Record<RegionName, Array<ReadableStreamDefaultController<Uint8Array>>> = { east: [], west: [] };
  let nextEventId = 1;

  async function reply(r: Reply, signal: AbortSignal | null | undefined): Promise<Response> {
    if (r.until) await r.until;
    if (r.delayMs) await wait(r.delayMs, signal);
    if (r.refuse) throw new TypeError('fetch failed: connection refused');
    const body = r.body === undefined ? null : typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
    const headers = { 'content-type': 'application/json', ...r.headers };
    return new Response(body, { status: r.status ?? 200, headers });
  }

  function openStream(region: RegionName, signal: AbortSignal | null | undefined): Response {
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        controller = c;
      },
      cancel() {
        streams[region] = streams[region].filter((c) => c !== controller);
      },
    });
    streams[region].push(controller);
    // Like a real fetch: an abort errors the body being read.
    signal?.addEventListener('abort', () => {
      streams[region] = streams[region].filter((c) => c !== controller);
      try {
        controller.error(abortError());
      } catch {}
    });
    return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
  }

  const fetchFn: typeof fetch = async (input, init) => {
    const request = input instanceof Request ? input : undefined;
    const url = new URL(request ? request.url : String(input));
    const method = (init?.method ?? request?.method ?? 'GET').toUpperCase();
    const headers = new Headers(init?.headers ?? request?.headers);
    const body = typeof init?.body === 'string' ? init.body : request ? await request.text() : '';
    const signal = init?.signal ?? request?.signal;
    const region = regionOfHost(url.hostname);
    const kind: OriginCall['kind'] = url.pathname.endsWith('/.well-known/jwks.json')
      ? 'jwks'
      : url.hostname.includes('-hub')
        ? 'stream'
        : url.pathname === '/health'
          ? 'health'
          : url.pathname === '/graphql'
            ? 'graphql'
            : url.pathname === '/ops/writer'
              ? 'ops'
              : 'other';
    const call: OriginCall = {
      region,
      kind,
      url: url.href,
      method,
      headers,
      body,
      ...(kind === 'graphql' ? { graphql: JSON.parse(body) } : {}),
    };
    calls.push(call);
    switch (kind) {
      case 'jwks':
        if (jwks.down) throw new TypeError('fetch failed: connection refused');
        return Response.json({ keys: jwks.keys.map((k) => k.publicJwk) });
      case 'stream':
        return openStream(region, signal);
      case 'health':
        return down[region]
          ? new Response('down', { status: 503 })
          : Response.json({ status: 'ok', region, writers: [{ aggregate: 'orders', ...leases[region] }] });
      case 'ops': {
        if (down[region]) throw new TypeError('fetch failed: connection refused');
        const move = JSON.parse(body) as { region: string; epoch: number };
        if (move.epoch <= leases[region].epoch) {
          return Response.json({ leases: [{ aggregate: 'orders', ...leases[region] }], moved: false }, { status: 409 });
        }
        leases[region] = { writer: move.region, epoch: move.epoch };
        return Response.json({ leases: [{ aggregate: 'orders', ...leases[region] }], moved: true });
      }
      case 'graphql':
        if (down[region]) throw new TypeError('fetch failed: connection refused');
        return reply(await respond[region](call), signal);
      default:
        return new Response('not found', { status: 404 });
    }
  };

  return {
    fetch: fetchFn,
    leases,
    calls,
    down,
    respond,
    jwks,
    /** GraphQL calls, to one region or both. */
    graphqlCalls(region?: RegionName): OriginCall[] {
      return calls.filter((c) => c.kind === 'graphql' && (region === undefined || c.region === region));
    },
    /** Open purge streams of a region. */
    openStreams: (region: RegionName) => streams[region].length,
    /** Sends a purge event down every open stream of `region`. */
    purge(region: RegionName, tags: readonly string[], opts: { soft?: boolean } = {}): void {
      const frame = `id: ${nextEventId++}\nevent: purge\ndata: ${JSON.stringify({ tags, soft: opts.soft ?? false })}\n\n`;
      for (const c of streams[region]) c.enqueue(encoder.encode(frame));
    },
  };
}

/** The scripted origin's type. */
export type ScriptedOrigin = ReturnType<typeof scriptedOrigin>;

// ── GraphQL requests ────────────────────────────────────────────────────────────────────

/** What a test request carries besides its operation. */
export interface RequestOptions {
  readonly token?: string;
  readonly variables?: Record<string, unknown>;
  readonly operationName?: string;
  readonly extensions?: Record<string, unknown>;
  readonly headers?: Record<string, string>;
}

function requestHeaders(opts: RequestOptions): Record<string, string> {
  return {
    accept: 'application/json',
    ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
    ...opts.headers,
  };
}

/** A POST /graphql init for `app.request('/graphql', …)`; `query` undefined sends only extensions (APQ). */
export function postGraphQL(query: string | undefined, opts: RequestOptions = {}): RequestInit {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...requestHeaders(opts) },
    body: JSON.stringify({
      ...(query === undefined ? {} : { query }),
      ...(opts.operationName ? { operationName: opts.operationName } : {}),
      ...(opts.variables ? { variables: opts.variables } : {}),
      ...(opts.extensions ? { extensions: opts.extensions } : {}),
    }),
  };
}

/** A GET /graphql path with the operation in the query string, and its init. */
export function getGraphQL(query: string | undefined, opts: RequestOptions = {}): [string, RequestInit] {
  const params = new URLSearchParams();
  if (query !== undefined) params.set('query', query);
  if (opts.operationName) params.set('operationName', opts.operationName);
  if (opts.variables) params.set('variables', JSON.stringify(opts.variables));
  if (opts.extensions) params.set('extensions', JSON.stringify(opts.extensions));
  return [`/graphql?${params}`, { method: 'GET', headers: requestHeaders(opts) }];
}

/** The APQ extension for `query`: `{ persistedQuery: { version: 1, sha256Hash } }`. */
export async function persistedQuery(query: string): Promise<Record<string, unknown>> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(query)));
  const sha256Hash = [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
  return { persistedQuery: { version: 1, sha256Hash } };
}

// ── the edge ────────────────────────────────────────────────────────────────────────────

/** An edge on a scripted origin, a memory rate-limit store and a fake clock. */
export interface TestEdge {
  readonly edge: Edge;
  readonly config: EdgeConfig;
  readonly origin: ScriptedOrigin;
  readonly clock: FakeClock;
  readonly logs: string[];
  /** A request to `edge.fetch` (what the runtimes serve): `path` is relative to http://localhost. */
  request(path: string, init?: RequestInit): Promise<Response>;
  /** Starts health checks and purge streams, and resolves once both regions were checked. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Builds an edge. Without `start()` no timer runs and both regions count as healthy (the
 * router is optimistic until its first check); `start()` checks each region once (the
 * interval is a minute) and opens the purge streams, and `stop()` ends both.
 * The rate-limit bucket of an anonymous caller is its `x-test-client-ip` header.
 */
export function testEdge(
  opts: {
    env?: Record<string, string>;
    origin?: ScriptedOrigin;
    fastPath?: boolean;
    hitTemplates?: boolean;
    deps?: Partial<Pick<EdgeDeps, 'upgradeWebSocket' | 'WebSocket' | 'clientIp'>>;
  } = {},
): TestEdge {
  const origin = opts.origin ?? scriptedOrigin();
  const config = edgeConfig({ ...TEST_ENV, ...opts.env });
  const clock = fakeClock();
  const logs: string[] = [];
  const edge = createEdge(config, {
    clientIp: (req) => req.headers.get('x-test-client-ip') ?? '203.0.113.7',
    rateLimitStore: createMemoryStore(),
    fetch: origin.fetch,
    clock: () => clock.now(),
    log: (line) => logs.push(line),
    fastPath: opts.fastPath,
    hitTemplates: opts.hitTemplates,
    ...opts.deps,
  });
  return {
    edge,
    config,
    origin,
    clock,
    logs,
    request: (path, init) =>
      edge.fetch(new Request(/^https?:\/\//.test(path) ? path : `http://localhost${path}`, init)),
    async start() {
      edge.start();
      await eventually(async () => {
        const health = (await (await edge.app.request('/health')).json()) as {
          regions: Record<RegionName, { lastCheck: string | null }>;
        };
        if (health.regions.east.lastCheck === null || health.regions.west.lastCheck === null) {
          throw new Error('regions not checked yet');
        }
      });
    },
    stop: () => edge.stop(),
  };
}

/** Retries `check` until it stops throwing (every 2 ms, for at most `timeoutMs`), then rethrows its failure. */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 2000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
