/**
 * How the region gateway calls a subgraph: Apollo Gateway's GraphQLDataSource over a lean HTTP
 * client, with identical in-flight fetches merged.
 *
 * Apollo's RemoteGraphQLDataSource sends through make-fetch-happen (an npm-registry client: retry
 * and cache layers, and an agent that inspects a stack trace on every request to learn whether it
 * is over TLS), builds node-fetch Headers and a Request it only needs on errors, for every fetch;
 * that was most of the gateway's own CPU per request. This source posts with node:http over
 * keep-alive connections and keeps RemoteGraphQLDataSource's observable behaviour: the JSON body
 * it sends, HTTP errors as `<status>: <statusText>` GraphQL errors (401 UNAUTHENTICATED, 403
 * FORBIDDEN), and the subgraph's Cache-Control restricting the response's cache policy.
 *
 * Merging (what Hive Gateway calls inflight request deduplication, on by default there): while a
 * fetch is in flight, an identical one — same subgraph, same operation text and variables, same
 * Authorization and Idempotency-Key — waits for it instead of sending its own. Only fetches of
 * incoming *queries* are merged: a mutation, and the reads that follow it, always go out on
 * their own. Two callers with different tokens are never merged, whoever they are; anonymous
 * callers are merged with each other. The merged request carries the first caller's trace and
 * correlation id. Every caller parses the answer itself, since the gateway writes into the
 * entities it receives.
 */
import http from 'node:http';
import https from 'node:https';
import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import { GraphQLError } from 'graphql';

/** A subgraph's answer as read off the wire, shared by the callers of a merged fetch. */
export interface SubgraphAnswer {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly text: string;
}

/** One HTTP POST of a GraphQL request body. */
export type PostJson = (url: string, headers: Record<string, string>, body: string) => Promise<SubgraphAnswer>;

/** Headers of an answer, as Apollo's FetcherHeaders (what `didReceiveResponse`-style code reads). */
class AnswerHeaders {
  readonly #headers: Readonly<Record<string, string>>;
  constructor(headers: Readonly<Record<string, string>>) {
    this.#headers = headers;
  }
  get(name: string): string | null {
    return this.#headers[name.toLowerCase()] ?? null;
  }
  has(name: string): boolean {
    return name.toLowerCase() in this.#headers;
  }
  *entries(): IterableIterator<[string, string]> {
    yield* Object.entries(this.#headers);
  }
  *keys(): IterableIterator<string> {
    yield* Object.keys(this.#headers);
  }
  *values(): IterableIterator<string> {
    yield* Object.values(this.#headers);
  }
  [Symbol.iterator]() {
    return this.entries();
  }
  forEach(fn: (value: string, key: string) => void): void {
    for (const [k, v] of Object.entries(this.#headers)) fn(v, k);
  }
  append(): void {
    throw new TypeError('subgraph response headers are read-only');
  }
  delete(): void {
    throw new TypeError('subgraph response headers are read-only');
  }
  set(): void {
    throw new TypeError('subgraph response headers are read-only');
  }
}

const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 256 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 256 }),
};

/** POSTs over keep-alive connections; rejects on a network error or after `timeoutMs`. */
export function nodePostJson(timeoutMs = 30_000): PostJson {
  return (url, headers, body) =>
    new Promise((resolve, reject) => {
      const target = new URL(url);
      const client = target.protocol === 'https:' ? https : http;
      const req = client.request(
        target,
        {
          method: 'POST',
          agent: agents[target.protocol as 'http:' | 'https:'],
          headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const flat: Record<string, string> = {};
            for (const [k, v] of Object.entries(res.headers)) {
              if (v !== undefined) flat[k] = Array.isArray(v) ? v.join(', ') : v;
            }
            resolve({
              status: res.statusCode ?? 0,
              statusText: res.statusMessage ?? '',
              headers: flat,
              text: Buffer.concat(chunks).toString('utf8'),
            });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`subgraph ${url} gave no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
}

/** Options of {@link SubgraphSource}. */
export interface SubgraphSourceOptions<C> {
  readonly url: string;
  /** Headers to add for this caller (identity, idempotency key, trace); called once per fetch. */
  readonly forward?: (context: C) => Record<string, string>;
  /** Told about each answer for this caller (e.g. to learn its cache scope from its headers). */
  readonly observe?: (headers: AnswerHeaders, context: C) => void;
  /** Merge identical in-flight fetches of queries (default true). */
  readonly merge?: boolean;
  readonly post?: PostJson;
}

/** A fetch for an incoming operation (not a health check or schema load): it has a caller. */
type Incoming = Extract<GraphQLDataSourceProcessOptions, { incomingRequestContext: unknown }>;

function incomingOf(o: GraphQLDataSourceProcessOptions): Incoming | undefined {
  return 'incomingRequestContext' in o ? (o as Incoming) : undefined;
}

/** `Cache-Control` parsed as Apollo's RemoteGraphQLDataSource does. */
function parseCacheControl(header: string | null): Record<string, string | true> {
  const cc: Record<string, string | true> = {};
  if (!header) return cc;
  for (const part of header.trim().split(/\s*,\s*/)) {
    const [k, v] = part.split(/\s*=\s*/, 2) as [string, string | undefined];
    cc[k] = v === undefined ? true : v.replace(/^"|"$/g, '');
  }
  return cc;
}

/** A subgraph behind the gateway. */
export class SubgraphSource<C extends object> implements GraphQLDataSource {
  readonly url: string;
  readonly #options: SubgraphSourceOptions<C>;
  readonly #post: PostJson;
  readonly #inFlight = new Map<string, Promise<SubgraphAnswer>>();
  /** Fetches sent, and fetches answered by another caller's fetch (for tests and /ready). */
  readonly stats = { sent: 0, merged: 0 };

  constructor(options: SubgraphSourceOptions<C>) {
    this.url = options.url;
    this.#options = options;
    this.#post = options.post ?? nodePostJson();
  }

  async process(options: GraphQLDataSourceProcessOptions): Promise<GatewayGraphQLResponse> {
    const { request } = options;
    if (!request.query) throw new Error('Missing query');
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    for (const [name, value] of request.http?.headers ?? []) headers[name.toLowerCase()] = value;
    const incoming = incomingOf(options);
    const context = incoming?.context as C | undefined;
    if (context) Object.assign(headers, this.#options.forward?.(context));
    const { http: _http, ...payload } = request;
    const body = JSON.stringify(payload);
    const mergeable =
      (this.#options.merge ?? true) && incoming?.incomingRequestContext.operation?.operation === 'query';
    const answer = await (mergeable ? this.#merged(headers, body) : this.#send(headers, body));

    const answerHeaders = new AnswerHeaders(answer.headers);
    if (answer.status < 200 || answer.status > 299) throw this.#errorOf(answer);
    const parsed = this.#parse(answer);
    if (typeof parsed !== 'object' || parsed === null) {
      throw new Error(`Expected JSON response body, but received: ${answer.text}`);
    }
    const response: GatewayGraphQLResponse = { ...(parsed as object), http: { headers: answerHeaders } };
    if (incoming) {
      if (context) this.#options.observe?.(answerHeaders, context);
      const policy = incoming.incomingRequestContext.overallCachePolicy;
      if (policy && 'restrict' in policy) {
        const cc = parseCacheControl(answerHeaders.get('cache-control'));
        const hint: { maxAge: number; scope?: 'PRIVATE' | 'PUBLIC' } = { maxAge: 0 };
        const maxAge = cc['max-age'];
        if (typeof maxAge === 'string' && /^[0-9]+$/.test(maxAge)) hint.maxAge = Number(maxAge);
        if (cc.private === true) hint.scope = 'PRIVATE';
        if (cc.public === true) hint.scope = 'PUBLIC';
        policy.restrict(hint);
      }
    }
    return response;
  }

  #send(headers: Record<string, string>, body: string): Promise<SubgraphAnswer> {
    this.stats.sent += 1;
    return this.#post(this.url, headers, body);
  }

  /** The fetch in flight with the same body and the same caller credentials, or a new one. */
  #merged(headers: Record<string, string>, body: string): Promise<SubgraphAnswer> {
    const key = `${headers.authorization ?? ''}\u0001${headers['idempotency-key'] ?? ''}\u0001${body}`;
    const pending = this.#inFlight.get(key);
    if (pending) {
      this.stats.merged += 1;
      return pending;
    }
    const sent = this.#send(headers, body).finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, sent);
    return sent;
  }

  #parse(answer: SubgraphAnswer): unknown {
    const type = answer.headers['content-type'] ?? '';
    if (type.startsWith('application/json') || type.startsWith('application/graphql-response+json')) {
      return JSON.parse(answer.text);
    }
    return answer.text;
  }

  #errorOf(answer: SubgraphAnswer): GraphQLError {
    let body: unknown = answer.text;
    try {
      body = this.#parse(answer);
    } catch {
      // not JSON after all: the text is the body
    }
    const extensions: Record<string, unknown> = {
      response: { url: this.url, status: answer.status, statusText: answer.statusText, body },
    };
    if (answer.status === 401) extensions.code = 'UNAUTHENTICATED';
    else if (answer.status === 403) extensions.code = 'FORBIDDEN';
    return new GraphQLError(`${answer.status}: ${answer.statusText}`, { extensions });
  }
}
