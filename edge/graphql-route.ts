/**
 * The edge's /graphql pipeline: parse (POST, GET, APQ) → authenticate → estimate cost →
 * rate-limit by cost → for queries, the scoped response cache (hit, stale-while-
 * revalidate, single-flight misses, ETag/304) → the chosen region's gateway.
 * Mutations are never cached and go to the writer region.
 */
import { print } from 'graphql';
import type { AuthResult } from './auth/jwt.ts';
import { forwardHeaders, wwwAuthenticate } from './auth/jwt.ts';
import { sha256Hex } from './cache/hash.ts';
import { cacheKey, canonicalJson, etagOf } from './cache/key.ts';
import { cachePolicy, clientCacheControl, SCOPE_HEADER } from './cache/policy.ts';
import type { CacheEntry, ResponseCache } from './cache/response-cache.ts';
import type { CacheScope } from './cache/scope.ts';
import type { ScopeIndex } from './cache/scope-index.ts';
import { type CacheOutcome, cacheStatus } from './cache-status.ts';
import { estimateCost } from './graphql/cost.ts';
import {
  entityTags,
  normalizedQuery,
  operationDocument,
  stripAddedFields,
  withTypenames,
} from './graphql/normalize.ts';
import type { GraphQLRequest } from './graphql/request.ts';
import { errorResponse } from './graphql/request.ts';
import type { EdgeMetrics } from './metrics/edge-metrics.ts';
import type { OriginRequest, OriginResult } from './origin.ts';
import type { RateLimiter } from './ratelimit/limiter.ts';
import { graphqlError } from './responses.ts';

export interface GraphQLRouteDeps {
  readonly parse: (
    req: Request,
  ) => Promise<{ ok: true; request: GraphQLRequest } | Parameters<typeof errorResponse>[0]>;
  readonly authenticate: (req: Request) => Promise<AuthResult>;
  readonly limiter: RateLimiter;
  readonly cache: ResponseCache;
  readonly scopes: ScopeIndex;
  readonly origin: (req: OriginRequest) => Promise<OriginResult>;
  readonly metrics: EdgeMetrics;
  readonly limits: { readonly maxDepth: number; readonly maxCost: number };
  readonly clock: () => number;
  /** Remembers how to refetch a PUBLIC entry, for refresh-ahead of hot keys. */
  readonly rememberRefetch: (key: string, refetch: () => Promise<void>) => void;
}

interface Prepared {
  readonly request: GraphQLRequest;
  readonly auth: AuthResult;
  readonly normalized: string;
  /** The operation sent upstream: with __typename everywhere, for entity tags (built on a miss only). */
  readonly upstreamBody: () => string;
  readonly upstreamHeaders: Record<string, string>;
}

/** A small bounded memo (insertion-ordered Map): hashing is the costly part of a cache hit. */
function memo<V>(limit: number) {
  const map = new Map<string, V>();
  return {
    get: (key: string) => map.get(key),
    set(key: string, value: V) {
      if (map.size >= limit) map.delete(map.keys().next().value as string);
      map.set(key, value);
    },
  };
}

interface Fetched {
  /** Whose request the origin answered (tenant and subject): the answer may be personal to them. */
  readonly caller: string;
  readonly result: OriginResult;
  readonly body?: string;
  readonly entry?: CacheEntry;
  readonly stored: boolean;
}

const JSON_TYPE = 'application/json; charset=utf-8';

function identity(auth: AuthResult): { tenant: string | null; subject: string | null } {
  return auth.kind === 'user' ? { tenant: auth.tenant, subject: auth.subject } : { tenant: null, subject: null };
}

function callerOf(who: { tenant: string | null; subject: string | null }): string {
  return `${who.tenant ?? ''}|${who.subject ?? ''}`;
}

function upstreamHeaders(raw: Request, auth: AuthResult): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json',
    ...forwardHeaders(auth),
  };
  for (const name of ['traceparent', 'x-correlation-id', 'idempotency-key']) {
    const v = raw.headers.get(name);
    if (v) headers[name] = v;
  }
  return headers;
}

export function createGraphQLRoute(deps: GraphQLRouteDeps) {
  const { cache, metrics } = deps;

  /** Calls the origin, and stores a cacheable answer under its scope's key. */
  async function fetchAndStore(p: Prepared, hint: string | null, operationKey: string): Promise<Fetched> {
    const write = p.request.operationType !== 'query';
    const caller = callerOf(identity(p.auth));
    const result = await deps.origin({ body: p.upstreamBody(), headers: p.upstreamHeaders, hint, write });
    if (!result.ok) return { caller, result, stored: false };
    let json: { data?: unknown; errors?: unknown[]; extensions?: unknown };
    try {
      json = JSON.parse(result.text);
    } catch {
      return { caller, result, body: result.text, stored: false };
    }
    const tags = entityTags(json.data);
    const clientData = stripAddedFields(json.data, p.request.document, p.request.operationName);
    const body = JSON.stringify({ ...json, data: clientData });
    const policy = cachePolicy(result.headers.get('cache-control'), { scopeHeader: result.headers.get(SCOPE_HEADER) });
    const cacheable = !write && result.status === 200 && !json.errors?.length && policy.cacheable;
    if (!cacheable) return { caller, result, body, stored: false };
    const key = await keyFor(p, policy.scope);
    if (!key) return { caller, result, body, stored: false };
    const entry: CacheEntry = {
      key,
      body,
      status: 200,
      headers: {
        'content-type': JSON_TYPE,
        'cache-control': clientCacheControl(result.headers.get('cache-control') ?? '', policy.scope),
        'x-meridian-region': result.region,
      },
      etag: await etagOf(body),
      tags,
      scope: policy.scope,
      storedAt: deps.clock(),
      maxAgeMs: policy.maxAgeMs,
      swrMs: policy.swrMs,
    };
    const stored = cache.store(entry) === 'stored';
    // Only now: a request that learns the scope must find the entry it points to.
    deps.scopes.set(operationKey, policy.scope);
    if (stored && policy.scope === 'PUBLIC') {
      deps.rememberRefetch(key, async () => {
        await fetchAndStore(p, null, operationKey);
      });
    }
    return { caller, result, body, entry, stored };
  }

  const keys = memo<string | null>(50_000);
  async function keyFor(p: Prepared, scope: CacheScope): Promise<string | null> {
    const who = identity(p.auth);
    const id = `${scope}\u0001${who.tenant ?? ''}\u0001${who.subject ?? ''}\u0001${p.normalized}\u0001${p.request.operationName ?? ''}\u0001${canonicalJson(p.request.variables)}`;
    const known = keys.get(id);
    if (known !== undefined) return known;
    const key = await cacheKey({
      normalizedQuery: p.normalized,
      operationName: p.request.operationName,
      variables: p.request.variables,
      scope,
      ...who,
    });
    keys.set(id, key);
    return key;
  }
  const operationKeys = memo<string>(50_000);
  const costs = memo<ReturnType<typeof estimateCost>>(50_000);
  async function operationKeyOf(normalized: string, operationName: string | null, variables: unknown): Promise<string> {
    const id = `${normalized}\u0001${operationName ?? ''}\u0001${canonicalJson(variables)}`;
    const known = operationKeys.get(id);
    if (known !== undefined) return known;
    const key = await sha256Hex(canonicalJson([normalized, operationName, variables]));
    operationKeys.set(id, key);
    return key;
  }

  function respond(
    body: string,
    status: number,
    outcome: CacheOutcome,
    region: string,
    extra: Record<string, string>,
    etag?: string,
  ): Response {
    metrics.cacheRequests.inc({
      result:
        outcome.kind === 'hit'
          ? 'hit'
          : outcome.kind === 'stale'
            ? 'stale'
            : outcome.kind === 'bypass'
              ? 'bypass'
              : 'miss',
    });
    const headers: Record<string, string> = {
      'content-type': JSON_TYPE,
      'cache-status': cacheStatus(outcome),
      'x-meridian-region': region,
      ...extra,
    };
    if (etag) headers.etag = etag;
    return new Response(body, { status, headers });
  }

  function fromEntry(entry: CacheEntry, outcome: CacheOutcome, raw: Request, extra: Record<string, string>): Response {
    const region = entry.headers['x-meridian-region'] ?? 'edge';
    // RFC 9111 §4: a cache answering from storage "MUST generate an Age header field"; without it
    // a client's own cache would count the origin's max-age again from now.
    const age = String(Math.max(0, Math.floor((deps.clock() - entry.storedAt) / 1000)));
    const common = { ...extra, 'cache-control': entry.headers['cache-control'] ?? '', age };
    if (raw.headers.get('if-none-match') === entry.etag) {
      metrics.cacheRequests.inc({ result: outcome.kind === 'stale' ? 'stale' : 'hit' });
      return new Response(null, {
        status: 304,
        headers: { ...common, etag: entry.etag, 'cache-status': cacheStatus(outcome), 'x-meridian-region': region },
      });
    }
    return respond(
      typeof entry.body === 'string' ? entry.body : new TextDecoder().decode(entry.body),
      200,
      outcome,
      region,
      common,
      entry.etag,
    );
  }

  function failure(result: Extract<OriginResult, { ok: false }>, extra: Record<string, string>): Response {
    return graphqlError(result.status, result.code, result.message, {
      ...extra,
      'cache-status': cacheStatus({ kind: 'bypass', reason: 'bypass' }),
    });
  }

  return async function graphqlRoute(raw: Request, ip: string | undefined): Promise<Response> {
    const hint = raw.headers.get('x-meridian-region');
    const auth = await deps.authenticate(raw);
    const who = identity(auth);
    const charge = async (cost: number) =>
      deps.limiter.check({ tenant: who.tenant ?? undefined, subject: who.subject ?? undefined, ip, cost });

    if (auth.kind === 'error') {
      const decision = await charge(1);
      const challenge = wwwAuthenticate(auth);
      return graphqlError(auth.status, auth.code, auth.message, {
        ...decision.headers,
        ...(challenge ? { 'www-authenticate': challenge } : {}),
      });
    }
    const parsed = await deps.parse(raw);
    if (!parsed.ok) {
      const decision = await charge(1);
      const res = errorResponse(parsed);
      for (const [k, v] of Object.entries(decision.headers)) res.headers.set(k, v);
      return res;
    }
    const request = parsed.request;
    const costId = `${request.query}\u0001${request.operationName ?? ''}\u0001${canonicalJson(request.variables)}`;
    const cost =
      costs.get(costId) ??
      estimateCost(request.document, request.operationName, { ...deps.limits, variables: request.variables });
    costs.set(costId, cost);
    if (!cost.ok) {
      const decision = await charge(1);
      return graphqlError(400, cost.code ?? 'QUERY_TOO_COSTLY', cost.reason ?? 'query too costly', decision.headers);
    }
    const decision = await charge(Math.max(1, cost.cost));
    if (!decision.allowed) {
      for (const bucket of decision.violated) metrics.rateLimited.inc({ bucket });
      return graphqlError(
        429,
        'RATE_LIMITED',
        `rate limit exceeded; retry after ${decision.retryAfterSeconds}s`,
        decision.headers,
      );
    }
    const rl = decision.headers;
    const operation = operationDocument(request.document, request.operationName);
    const normalized = normalizedQuery(request.document, request.operationName);
    const prepared: Prepared = {
      request,
      auth,
      normalized,
      upstreamBody: () =>
        JSON.stringify({
          query: print(withTypenames(operation)),
          operationName: request.operation.name?.value ?? null,
          variables: request.variables,
        }),
      upstreamHeaders: upstreamHeaders(raw, auth),
    };

    if (request.operationType !== 'query') {
      const fetched = await fetchAndStore(prepared, hint, '');
      if (!fetched.result.ok) return failure(fetched.result, rl);
      return respond(
        fetched.body ?? '',
        fetched.result.status,
        { kind: 'bypass', reason: 'method', status: fetched.result.status },
        fetched.result.region,
        rl,
      );
    }

    const operationKey = await operationKeyOf(normalized, request.operationName, request.variables);
    const scope = deps.scopes.get(operationKey);
    const key = scope ? await keyFor(prepared, scope) : null;
    const found = key ? cache.lookup(key) : ({ state: 'miss' } as const);
    if (found.state === 'hit') return fromEntry(found.entry, { kind: 'hit', ttlMs: found.ttlMs }, raw, rl);
    if (found.state === 'stale' && key) {
      // Serve stale now; one background refresh for all callers.
      void cache.singleFlight(key, () => fetchAndStore(prepared, hint, operationKey)).catch(() => {});
      return fromEntry(found.entry, { kind: 'stale', ttlMs: found.ttlMs }, raw, rl);
    }
    // A miss: identical concurrent misses share one origin call. Until the scope is known the
    // flight is per caller, so a private answer can never be handed to someone else.
    const flightKey = key ?? `${operationKey}|${callerOf(who)}`;
    let led = false;
    let fetched = await cache.singleFlight(flightKey, () => {
      led = true;
      return fetchAndStore(prepared, hint, operationKey);
    });
    // The learned scope is a guess from earlier answers: the answer to whoever led the flight may
    // be narrower (private to them). A joiner takes it only when it was stored under the very key
    // this caller would look up, or was fetched for the same caller; otherwise it asks for itself.
    const shareable = led || !fetched.result.ok || fetched.entry?.key === flightKey || fetched.caller === callerOf(who);
    if (!shareable) fetched = await fetchAndStore(prepared, hint, operationKey);
    if (!fetched.result.ok) return failure(fetched.result, rl);
    const outcome: CacheOutcome = {
      kind: 'miss',
      status: fetched.result.status,
      stored: fetched.stored,
      ttlMs: fetched.entry?.maxAgeMs,
    };
    const extra = {
      ...rl,
      'cache-control':
        fetched.entry?.headers['cache-control'] ?? fetched.result.headers.get('cache-control') ?? 'no-store',
    };
    return respond(
      fetched.body ?? '',
      fetched.result.status,
      outcome,
      fetched.result.region,
      extra,
      fetched.entry?.etag,
    );
  };
}
