/**
 * The edge's /graphql pipeline: parse (POST, GET, APQ) → authenticate → estimate cost →
 * rate-limit by cost → for queries, the scoped response cache (hit, stale-while-
 * revalidate, single-flight misses, ETag/304) → the chosen region's gateway.
 * Mutations are never cached and go to the writer region.
 *
 * A cache hit is the hot path, so everything about a request that does not depend on who sends
 * it is worked out once per distinct request text and remembered under a fast key taken from
 * the raw request before any parsing (method, Accept, Content-Type, and the URL or the exact body
 * bytes): the parsed operation, its cost, its operation key. A repeated request then costs a
 * map lookup instead of parsing, normalising, costing and hashing; authentication (verified
 * tokens are remembered too), the rate limit charge, the scoped key (from the caller's
 * identity) and the lookup run for every request as before, in the same order, so a request
 * that would be refused, charged or keyed differently on the slow path is so here too. Only
 * plain queries are remembered: mutations, persisted-query (APQ) requests (their answer
 * depends on the query store) and anything the parser or the cost estimate refuses always
 * take the slow path. Each entry keeps its response headers ready, so a hit writes bytes.
 */

import { type DocumentNode, print } from 'graphql';
import type { AuthResult } from './auth/jwt.ts';
import { forwardHeaders, wwwAuthenticate } from './auth/jwt.ts';
import { sha256Hex } from './cache/hash.ts';
import { cacheKey, canonicalJson, etagOf } from './cache/key.ts';
import { createByteLru } from './cache/lru.ts';
import { cachePolicy, clientCacheControl, SCOPE_HEADER } from './cache/policy.ts';
import type { CacheEntry, ResponseCache } from './cache/response-cache.ts';
import type { CacheScope } from './cache/scope.ts';
import type { ScopeIndex } from './cache/scope-index.ts';
import { type CacheOutcome, cacheStatus } from './cache-status.ts';
import { readBodyWithin } from './graphql/body.ts';
import { estimateCost } from './graphql/cost.ts';
import {
  entityTags,
  normalizedQuery,
  operationDocument,
  stripAddedFields,
  withTypenames,
} from './graphql/normalize.ts';
import type { GraphQLRequest, GraphQLRequestParser, PreReadBody } from './graphql/request.ts';
import { errorResponse } from './graphql/request.ts';
import type { EdgeMetrics } from './metrics/edge-metrics.ts';
import type { OriginRequest, OriginResult } from './origin.ts';
import type { RateLimiter } from './ratelimit/limiter.ts';
import { graphqlError } from './responses.ts';
import { runtimePropagatesTrace } from './runtime/trace-propagation.ts';

export interface GraphQLRouteDeps {
  readonly parse: GraphQLRequestParser;
  /** The parser's body limit: the route reads a POST body once, for its fast key, under the same limit. */
  readonly maxBodyBytes: number;
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
  /** false: every request takes the slow path (tests compare the two); true by default. */
  readonly fastPath?: boolean;
  /**
   * true: a hit clones a Response prepared once per entry and sets only the headers that change
   * per request. For runtimes where copying a Response's header list costs less than validating
   * new headers (Deno: ~1 µs against ~6 µs for a hit's nine). Off by default: @hono/node-server
   * writes a `new Response(text, { headers })` straight to the socket, and a clone leaves that path.
   */
  readonly hitTemplates?: boolean;
}

/** What a request is, apart from who sends it: remembered per fast key for plain queries. */
interface Known {
  readonly request: GraphQLRequest;
  readonly cost: number;
  /** Hash of the normalised operation, its name and variables: the scope index key. */
  readonly operationKey: string;
  readonly normalized: string;
  /** Its scoped cache keys, by keyId: the same pure function's answers, kept next to the request. */
  readonly keys: Map<string, string | null>;
}

interface Prepared {
  readonly request: GraphQLRequest;
  readonly auth: AuthResult;
  readonly normalized: string;
  /** The operation sent upstream: with __typename everywhere, for entity tags (built on a miss only). */
  readonly upstreamBody: () => string;
  readonly upstreamHeaders: Record<string, string>;
}

interface Fetched {
  /** Whose request the origin answered (tenant and subject): the answer may be personal to them. */
  readonly caller: string;
  readonly result: OriginResult;
  readonly body?: string;
  readonly entry?: CacheEntry;
  readonly stored: boolean;
  /** A purge of one of its entities arrived while the origin answered: it may predate a change. */
  readonly raced?: boolean;
}

const JSON_TYPE = 'application/json; charset=utf-8';
const decoder = new TextDecoder();

/**
 * What a hit needs of an entry beyond the entry itself, prepared once when it is stored. The body
 * goes out as text: both runtimes write a small text body together with the headers in one
 * socket write, where bytes take a second buffer (measured: ~20% more CPU per hit on Node).
 */
interface Ready {
  readonly text: string;
  readonly cacheControl: string;
  readonly region: string;
  /**
   * With hitTemplates: the 200 answer without its per-request headers, made at the first hit and
   * never read itself (only its clones are). It holds a second copy of the body, so an entry that
   * is hit costs up to twice its bytes while it stays in the cache.
   */
  template?: Response;
}
const ready = new WeakMap<CacheEntry, Ready>();

function readyOf(entry: CacheEntry): Ready {
  let r = ready.get(entry);
  if (r === undefined) {
    r = {
      text: typeof entry.body === 'string' ? entry.body : decoder.decode(entry.body),
      cacheControl: entry.headers['cache-control'] ?? '',
      region: entry.headers['x-meridian-region'] ?? 'edge',
    };
    ready.set(entry, r);
  }
  return r;
}

function identity(auth: AuthResult): { tenant: string | null; subject: string | null } {
  return auth.kind === 'user' ? { tenant: auth.tenant, subject: auth.subject } : { tenant: null, subject: null };
}

function callerOf(who: { tenant: string | null; subject: string | null }): string {
  return `${who.tenant ?? ''}|${who.subject ?? ''}`;
}

/** Request headers the regions see as the client sent them; traceparent only when no runtime tracing adds its own. */
const FORWARDED = ['traceparent', 'x-correlation-id', 'idempotency-key'] as const;
const FORWARDED_UNDER_OTEL = ['x-correlation-id', 'idempotency-key'] as const;

function upstreamHeaders(raw: Request, auth: AuthResult): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json',
    ...forwardHeaders(auth),
  };
  for (const name of runtimePropagatesTrace() ? FORWARDED_UNDER_OTEL : FORWARDED) {
    const v = raw.headers.get(name);
    if (v) headers[name] = v;
  }
  return headers;
}

/**
 * The fast key of a request: everything the request parser reads, raw. Header values cannot hold
 * U+0001 and neither can a URL, so the fields cannot run into each other.
 */
function fastKeyOf(raw: Request, method: string, body: Uint8Array | undefined): string | undefined {
  const accept = raw.headers.get('accept') ?? '';
  if (method === 'GET') return `G${accept}\u0001${raw.url}`;
  if (method === 'POST' && body !== undefined)
    return `P${accept}\u0001${raw.headers.get('content-type') ?? ''}\u0001${byteString(body)}`;
  return undefined;
}

/**
 * The body's bytes one per character: keyed by the exact bytes, and no decoding on the hot path.
 * (Only bodies the parser accepted — valid UTF-8 among other things — are ever remembered, so the
 * same bytes again are valid again.)
 */
function byteString(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 8192) {
    out += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192) as unknown as number[]);
  }
  return out;
}

export function createGraphQLRoute(deps: GraphQLRouteDeps) {
  const { cache, metrics } = deps;
  const counted = {
    hit: metrics.cacheRequests.bind({ result: 'hit' }),
    stale: metrics.cacheRequests.bind({ result: 'stale' }),
    bypass: metrics.cacheRequests.bind({ result: 'bypass' }),
    miss: metrics.cacheRequests.bind({ result: 'miss' }),
  };

  /** Calls the origin, and stores a cacheable answer under its scope's key. */
  async function fetchAndStore(p: Prepared, hint: string | null, known: Known | undefined): Promise<Fetched> {
    const write = p.request.operationType !== 'query';
    const caller = callerOf(identity(p.auth));
    // A purge arriving while the origin answers may be of a change this answer predates.
    const since = cache.purgeMark();
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
    const cacheable = !write && known && result.status === 200 && !json.errors?.length && policy.cacheable;
    if (!cacheable) return { caller, result, body, stored: false };
    const key = await keyFor(known, identity(p.auth), policy.scope);
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
    readyOf(entry);
    const outcome = cache.store(entry, since);
    const stored = outcome === 'stored' || outcome === 'stored-stale';
    // Only now: a request that learns the scope must find the entry it points to.
    deps.scopes.set(known.operationKey, policy.scope);
    if (stored && policy.scope === 'PUBLIC') {
      deps.rememberRefetch(key, async () => {
        await fetchAndStore(p, null, known);
      });
    }
    return { caller, result, body, entry, stored, raced: outcome === 'stored-stale' || outcome === 'purged' };
  }

  /** Identity-independent facts of plain queries, by fast key; bounded by the bytes of their keys. */
  const knownRequests = createByteLru<Known>({ maxBytes: 16 << 20, sizeOf: (k) => 256 + k.normalized.length });

  /** The memo id of a scoped key: the scope and only the identity it keys on. */
  function keyId(scope: CacheScope, who: { tenant: string | null; subject: string | null }) {
    if (scope === 'PUBLIC') return 'PUBLIC';
    return `${scope}\u0001${who.tenant ?? ''}\u0001${scope === 'USER' ? (who.subject ?? '') : ''}`;
  }

  /** The cache key of `known` under `scope` for `who`, remembered with the request (a few per request at most). */
  async function keyFor(
    known: Known,
    who: { tenant: string | null; subject: string | null },
    scope: CacheScope,
  ): Promise<string | null> {
    const id = keyId(scope, who);
    const remembered = known.keys.get(id);
    if (remembered !== undefined) return remembered;
    const key = await cacheKey({
      normalizedQuery: known.normalized,
      operationName: known.request.operationName,
      variables: known.request.variables,
      scope,
      ...who,
    });
    // Personal keys of many callers on one request must not grow without bound.
    if (known.keys.size >= 64) known.keys.clear();
    known.keys.set(id, key);
    return key;
  }

  async function operationKeyOf(normalized: string, request: GraphQLRequest): Promise<string> {
    return sha256Hex(canonicalJson([normalized, request.operationName, request.variables]));
  }

  function respond(
    body: string,
    status: number,
    outcome: CacheOutcome,
    region: string,
    extra: Record<string, string>,
    etag?: string,
  ): Response {
    counted[outcome.kind === 'hit' || outcome.kind === 'stale' || outcome.kind === 'bypass' ? outcome.kind : 'miss']();
    const headers: Record<string, string> = {
      'content-type': JSON_TYPE,
      'cache-status': cacheStatus(outcome),
      'x-meridian-region': region,
      ...extra,
    };
    if (etag) headers.etag = etag;
    return new Response(body, { status, headers });
  }

  function fromEntry(entry: CacheEntry, outcome: CacheOutcome, raw: Request, rl: Record<string, string>): Response {
    const r = readyOf(entry);
    // RFC 9111 §4: a cache answering from storage "MUST generate an Age header field"; without it
    // a client's own cache would count the origin's max-age again from now.
    const age = String(Math.max(0, Math.floor((deps.clock() - entry.storedAt) / 1000)));
    (outcome.kind === 'stale' ? counted.stale : counted.hit)();
    const notModified = raw.headers.get('if-none-match') === entry.etag;
    if (deps.hitTemplates && !notModified) return fromTemplate(entry, r, outcome, age, rl);
    const headers: Record<string, string> = {
      'content-type': JSON_TYPE,
      'cache-status': cacheStatus(outcome),
      'x-meridian-region': r.region,
      'cache-control': r.cacheControl,
      age,
      etag: entry.etag,
    };
    for (const name in rl) headers[name] = rl[name] as string;
    if (notModified) {
      delete headers['content-type'];
      return new Response(null, { status: 304, headers });
    }
    return new Response(r.text, { status: 200, headers });
  }

  /** The same answer as fromEntry's 200, cloned from the entry's template (see hitTemplates). */
  function fromTemplate(
    entry: CacheEntry,
    r: Ready,
    outcome: CacheOutcome,
    age: string,
    rl: Record<string, string>,
  ): Response {
    r.template ??= new Response(r.text, {
      status: 200,
      headers: {
        'content-type': JSON_TYPE,
        'x-meridian-region': r.region,
        'cache-control': r.cacheControl,
        etag: entry.etag,
      },
    });
    const res = r.template.clone();
    const headers = res.headers;
    headers.set('cache-status', cacheStatus(outcome));
    headers.set('age', age);
    for (const name in rl) headers.set(name, rl[name] as string);
    return res;
  }

  function failure(result: Extract<OriginResult, { ok: false }>, extra: Record<string, string>): Response {
    return graphqlError(result.status, result.code, result.message, {
      ...extra,
      'cache-status': cacheStatus({ kind: 'bypass', reason: 'bypass' }),
    });
  }

  return async function graphqlRoute(raw: Request, ip: string | undefined): Promise<Response> {
    const auth = await deps.authenticate(raw);
    const who = identity(auth);
    const charge = (cost: number) =>
      deps.limiter.check({ tenant: who.tenant ?? undefined, subject: who.subject ?? undefined, ip, cost });

    if (auth.kind === 'error') {
      const decision = await charge(1);
      const challenge = wwwAuthenticate(auth);
      return graphqlError(auth.status, auth.code, auth.message, {
        ...decision.headers,
        ...(challenge ? { 'www-authenticate': challenge } : {}),
      });
    }
    // A POST body is read once, under the parser's limit: its text is part of the fast key.
    const method = raw.method;
    let body: PreReadBody | undefined;
    if (method === 'POST') body = { bytes: await readBodyWithin(raw, deps.maxBodyBytes) };
    const fastKey = fastKeyOf(raw, method, body?.bytes);
    let known = fastKey === undefined || deps.fastPath === false ? undefined : knownRequests.get(fastKey);
    let request: GraphQLRequest;
    let cost: number;
    if (known !== undefined) {
      request = known.request;
      cost = known.cost;
    } else {
      const parsed = await deps.parse(raw, body);
      if (!parsed.ok) {
        const decision = await charge(1);
        const res = errorResponse(parsed);
        for (const [k, v] of Object.entries(decision.headers)) res.headers.set(k, v);
        return res;
      }
      request = parsed.request;
      // Remembered with the request (Known) when it is a plain query; estimated afresh otherwise.
      const estimate = estimateCost(request.document, request.operationName, {
        ...deps.limits,
        variables: request.variables,
      });
      if (!estimate.ok) {
        const decision = await charge(1);
        return graphqlError(
          400,
          estimate.code ?? 'QUERY_TOO_COSTLY',
          estimate.reason ?? 'query too costly',
          decision.headers,
        );
      }
      cost = estimate.cost;
      if (request.operationType === 'query') {
        const normalized = normalizedQuery(request.document, request.operationName);
        const operationKey = await operationKeyOf(normalized, request);
        known = { request, cost, normalized, operationKey, keys: new Map() };
        // APQ answers depend on the query store, not on the request text alone: never remembered.
        if (fastKey !== undefined && request.persistedQuery === null && deps.fastPath !== false)
          knownRequests.set(fastKey, known);
      }
    }
    const decision = await charge(Math.max(1, cost));
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

    let key: string | null = null;
    if (known !== undefined) {
      const scope = deps.scopes.get(known.operationKey);
      if (scope) {
        const remembered = known.keys.get(keyId(scope, who));
        key = remembered !== undefined ? remembered : await keyFor(known, who, scope);
      }
      const found = key ? cache.lookup(key) : undefined;
      if (found?.state === 'hit') return fromEntry(found.entry, { kind: 'hit', ttlMs: found.ttlMs }, raw, rl);
      if (found?.state === 'stale' && key) {
        // Serve stale now; one background refresh for all callers.
        const p = prepare(raw, request, auth, known.normalized);
        const hint = raw.headers.get('x-meridian-region');
        void cache.singleFlight(key, () => fetchAndStore(p, hint, known)).catch(() => {});
        return fromEntry(found.entry, { kind: 'stale', ttlMs: found.ttlMs }, raw, rl);
      }
    }

    const hint = raw.headers.get('x-meridian-region');
    const prepared = prepare(
      raw,
      request,
      auth,
      known?.normalized ?? normalizedQuery(request.document, request.operationName),
    );
    if (known === undefined) {
      const fetched = await fetchAndStore(prepared, hint, undefined);
      if (!fetched.result.ok) return failure(fetched.result, rl);
      return respond(
        fetched.body ?? '',
        fetched.result.status,
        { kind: 'bypass', reason: 'method', status: fetched.result.status },
        fetched.result.region,
        rl,
      );
    }

    // A miss: identical concurrent misses share one origin call. Until the scope is known the
    // flight is per caller, so a private answer can never be handed to someone else.
    const flightKey = key ?? `${known.operationKey}|${callerOf(who)}`;
    let led = false;
    let fetched = await cache.singleFlight(flightKey, () => {
      led = true;
      return fetchAndStore(prepared, hint, known);
    });
    // The learned scope is a guess from earlier answers: the answer to whoever led the flight may
    // be narrower (private to them). A joiner takes it only when it was stored under the very key
    // this caller would look up, or was fetched for the same caller; otherwise it asks for itself.
    const shareable = led || !fetched.result.ok || fetched.entry?.key === flightKey || fetched.caller === callerOf(who);
    if (!shareable) fetched = await fetchAndStore(prepared, hint, known);
    if (!fetched.result.ok) return failure(fetched.result, rl);
    const outcome: CacheOutcome = {
      kind: 'miss',
      status: fetched.result.status,
      stored: fetched.stored,
      ttlMs: fetched.raced ? 0 : fetched.entry?.maxAgeMs,
    };
    const extra = {
      ...rl,
      // An answer that may predate a change is not for the client's cache to keep either.
      'cache-control': fetched.raced
        ? 'no-cache'
        : (fetched.entry?.headers['cache-control'] ?? fetched.result.headers.get('cache-control') ?? 'no-store'),
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

/** The text sent upstream for an operation, printed once per operation document. */
const upstreamTexts = new WeakMap<DocumentNode, string>();
function upstreamText(operation: DocumentNode): string {
  let text = upstreamTexts.get(operation);
  if (text === undefined) {
    text = print(withTypenames(operation));
    upstreamTexts.set(operation, text);
  }
  return text;
}

/** The upstream request of a miss (or a mutation): built only when the origin is called. */
function prepare(raw: Request, request: GraphQLRequest, auth: AuthResult, normalized: string): Prepared {
  const operation = operationDocument(request.document, request.operationName);
  return {
    request,
    auth,
    normalized,
    upstreamBody: () =>
      JSON.stringify({
        query: upstreamText(operation),
        operationName: request.operation.name?.value ?? null,
        variables: request.variables,
      }),
    upstreamHeaders: upstreamHeaders(raw, auth),
  };
}
