/**
 * Parses a GraphQL-over-HTTP request (https://graphql.github.io/graphql-over-http/draft/) from a
 * web Request: POST `application/json` or GET search parameters, plus Automatic Persisted
 * Queries (Apollo's `extensions.persistedQuery`). Either the request, with its document parsed
 * once, or the error response to send — nothing reaches a region that a region would reject as
 * malformed.
 *
 * Status codes, from the spec:
 * - malformed requests (bad JSON, wrong parameter types, no query): "A request that does not
 *   constitute a well-formed GraphQL-over-HTTP request SHOULD result in status code 400";
 * - GraphQL request errors of a well-formed request (syntax error, operation cannot be
 *   determined, unknown persisted query) depend on the response media type: for
 *   application/graphql-response+json "Requests where the GraphQL document cannot be parsed
 *   should result in status code 400", for application/json they "SHOULD result in status
 *   code 200" (an intermediary's 4xx could not be told apart from the server's);
 * - "GET requests MUST NOT be used for executing mutation operations ... the server MUST respond
 *   with error status code 405 (Method Not Allowed)";
 * - "If the client does not supply a Content-Type header with a POST request, the server SHOULD
 *   reject the request using the appropriate 4xx status code" → 415, as for other media types;
 * - an Accept with no supported type → 406 (the spec's RECOMMENDED choice); a body over the
 *   limit → 413.
 * Error codes follow Apollo Server's where one exists, so Apollo clients react as usual.
 */
import { type DocumentNode, GraphQLError, type OperationDefinitionNode, type OperationTypeNode, parse } from 'graphql';
import { sha256Hex } from '../cache/hash.ts';
import { createByteLru } from '../cache/lru.ts';
import { PAYLOAD_TOO_LARGE, payloadTooLargeMessage, readBodyWithin } from './body.ts';
import { GRAPHQL_LIMITS } from './limits.ts';
import { isJsonRequest, negotiateMediaType, type ResponseMediaType } from './media-type.ts';
import { selectOperation } from './operation.ts';
import type { PersistedQueryStore } from './persisted-query-store.ts';

/** Codes in `errors[].extensions.code` of a rejected request. */
export const REQUEST_ERROR_CODES = [
  'BAD_REQUEST',
  'GRAPHQL_PARSE_FAILED',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'METHOD_NOT_ALLOWED',
  'NOT_ACCEPTABLE',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
] as const;

/** Why a request was rejected. */
export type RequestErrorCode = (typeof REQUEST_ERROR_CODES)[number];

/** A GraphQL response carrying only errors. */
export interface GraphQLErrorBody {
  errors: Array<{
    message: string;
    locations?: ReadonlyArray<{ line: number; column: number }>;
    extensions: { code: RequestErrorCode } & Record<string, unknown>;
  }>;
}

/** A well-formed request, ready to check, key and forward. */
export interface GraphQLRequest {
  method: 'GET' | 'POST';
  /** The document text (from the store for a persisted-query hit). */
  query: string;
  /** As sent (null when absent or empty); the chosen operation is `operation`. */
  operationName: string | null;
  variables: Record<string, unknown>;
  extensions: Record<string, unknown>;
  document: DocumentNode;
  operation: OperationDefinitionNode;
  operationType: OperationTypeNode;
  /** The response media type the client asked for. */
  mediaType: ResponseMediaType;
  /** The APQ hash when the request used one; `registered` when this request stored it. */
  persistedQuery: { sha256Hash: string; registered: boolean } | null;
}

/** Status of a rejected request (200: a GraphQL request error answered as application/json). */
export type RequestErrorStatus = 200 | 400 | 405 | 406 | 413 | 415;

/** The parsed request, or the response that rejects it. */
export type GraphQLRequestResult =
  | { ok: true; request: GraphQLRequest }
  | { ok: false; status: RequestErrorStatus; body: GraphQLErrorBody; headers: Record<string, string> };

/** Options of {@link createGraphQLRequestParser}. */
export interface GraphQLRequestParserOptions {
  /** Largest accepted POST body in bytes (default GRAPHQL_LIMITS.maxBodyBytes). */
  maxBodyBytes?: number;
  /** Largest accepted document in lexer tokens, a cheap guard against parser exhaustion (default GRAPHQL_LIMITS.maxTokens). */
  maxTokens?: number;
  /** APQ storage; without one, persisted-query requests get PERSISTED_QUERY_NOT_SUPPORTED. */
  persistedQueries?: PersistedQueryStore;
  /** Budget for remembering parsed documents by their text, so hot queries are parsed once (default 8 MiB). */
  documentCacheBytes?: number;
}

/** Default body limit, the platform's (edge/graphql/limits.ts). */
export const DEFAULT_MAX_BODY_BYTES = GRAPHQL_LIMITS.maxBodyBytes;

/** Rough AST-to-source size ratio, to charge parsed documents against their budget. */
const AST_BYTES_PER_SOURCE_CHAR = 12;

const SHA256_HEX = /^[0-9a-f]{64}$/i;

type Params = { query?: unknown; operationName?: unknown; variables?: unknown; extensions?: unknown };
/** A rejected request: the status, headers and GraphQL error body to answer with. */
export type GraphQLRequestFailure = Extract<GraphQLRequestResult, { ok: false }>;
type Failure = GraphQLRequestFailure;
type ParamsResult = { ok: true; params: Params } | Failure;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

type FailureExtra = { headers?: Record<string, string>; locations?: ReadonlyArray<{ line: number; column: number }> };

function failure(
  status: RequestErrorStatus,
  mediaType: ResponseMediaType,
  code: RequestErrorCode,
  message: string,
  extra: FailureExtra = {},
): Failure {
  const error: GraphQLErrorBody['errors'][number] = { message, extensions: { code } };
  if (extra.locations?.length) error.locations = extra.locations;
  return {
    ok: false,
    status,
    body: { errors: [error] },
    headers: { 'content-type': `${mediaType}; charset=utf-8`, ...extra.headers },
  };
}

/** The status of a GraphQL request error: 200 for application/json, 400 for graphql-response+json. */
export function requestErrorStatus(mediaType: ResponseMediaType): 200 | 400 {
  return mediaType === 'application/json' ? 200 : 400;
}

/** GET parameters; variables and extensions "MUST be encoded as a JSON string". */
function paramsFromSearch(url: URL, mediaType: ResponseMediaType): ParamsResult {
  const params: Record<string, unknown> = {};
  for (const name of ['query', 'operationName', 'variables', 'extensions'] as const) {
    const values = url.searchParams.getAll(name);
    // A repeated parameter is ambiguous; refusing it keeps the cache key and the origin in agreement.
    if (values.length > 1) return failure(400, mediaType, 'BAD_REQUEST', `The "${name}" parameter is repeated.`);
    const [value] = values;
    // "Setting the value of the {operationName} parameter to the empty string is equivalent to omitting" it.
    if (value === undefined || value === '') continue;
    if (name === 'query' || name === 'operationName') {
      params[name] = value;
      continue;
    }
    try {
      params[name] = JSON.parse(value);
    } catch {
      return failure(400, mediaType, 'BAD_REQUEST', `The "${name}" parameter is not valid JSON.`);
    }
  }
  return { ok: true, params };
}

/** A POST body read before parsing (the route reads it once, for its fast key): undefined bytes when over the limit. */
export interface PreReadBody {
  readonly bytes: Uint8Array | undefined;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The body as UTF-8 text, or undefined when it is not valid UTF-8 (one decoder, no state between calls). */
function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

async function paramsFromBody(
  request: Request,
  mediaType: ResponseMediaType,
  maxBytes: number,
  preRead: PreReadBody | undefined,
): Promise<ParamsResult> {
  if (!isJsonRequest(request.headers.get('content-type'))) {
    if (!preRead) await request.body?.cancel().catch(() => {});
    return failure(415, mediaType, 'UNSUPPORTED_MEDIA_TYPE', 'POST requests must be application/json (UTF-8).');
  }
  const bytes = preRead ? preRead.bytes : await readBodyWithin(request, maxBytes);
  if (!bytes) return failure(413, mediaType, PAYLOAD_TOO_LARGE, payloadTooLargeMessage(maxBytes));
  const text = decodeUtf8(bytes);
  if (text === undefined) return failure(400, mediaType, 'BAD_REQUEST', 'The request body is not valid UTF-8.');
  if (!text.trim()) return failure(400, mediaType, 'BAD_REQUEST', 'The request body is empty.');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return failure(400, mediaType, 'BAD_REQUEST', 'The request body is not valid JSON.');
  }
  if (!isObject(json)) {
    const what = Array.isArray(json) ? 'an array (batching is not supported)' : 'not a JSON object';
    return failure(400, mediaType, 'BAD_REQUEST', `The request body is ${what}.`);
  }
  return { ok: true, params: json };
}

/**
 * Turns a web Request into a GraphQL request or the response rejecting it. A POST body the
 * caller already read (with the same limit, readBodyWithin) is passed as `body`.
 */
export type GraphQLRequestParser = (request: Request, body?: PreReadBody) => Promise<GraphQLRequestResult>;

/** Creates the request parser; its APQ store and parsed-document memory live as long as it does. */
export function createGraphQLRequestParser(options: GraphQLRequestParserOptions = {}): GraphQLRequestParser {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const maxTokens = options.maxTokens ?? GRAPHQL_LIMITS.maxTokens;
  const store = options.persistedQueries;
  // Keyed by the source text (which the LRU counts); the AST is charged at a multiple of it.
  const documents = createByteLru<{ document: DocumentNode; chars: number }>({
    maxBytes: options.documentCacheBytes ?? 8 << 20,
    sizeOf: (value) => value.chars * AST_BYTES_PER_SOURCE_CHAR,
  });

  /** Parses once per distinct text; a syntax error surfaces as a GraphQLError. */
  const parseDocument = (query: string): DocumentNode => {
    const known = documents.get(query);
    if (known) return known.document;
    // noLocation: the edge never reports positions within a valid document, and the AST is smaller.
    const document = parse(query, { noLocation: true, maxTokens });
    documents.set(query, { document, chars: query.length });
    return document;
  };

  return async function parseGraphQLRequest(request: Request, body?: PreReadBody): Promise<GraphQLRequestResult> {
    const method = request.method.toUpperCase();
    const negotiated = negotiateMediaType(request.headers.get('accept'));
    const mediaType = negotiated ?? 'application/json';
    if (method !== 'GET' && method !== 'POST') {
      return failure(405, mediaType, 'METHOD_NOT_ALLOWED', `Method ${method} is not allowed.`, {
        headers: { allow: 'GET, POST' },
      });
    }
    if (!negotiated) {
      return failure(
        406,
        mediaType,
        'NOT_ACCEPTABLE',
        'Accept must allow application/graphql-response+json or application/json.',
      );
    }

    const parsed =
      method === 'GET'
        ? paramsFromSearch(new URL(request.url), mediaType)
        : await paramsFromBody(request, mediaType, maxBodyBytes, body);
    if (!parsed.ok) return parsed;

    const badRequest = (message: string) => failure(400, mediaType, 'BAD_REQUEST', message);
    const requestError = (code: RequestErrorCode, message: string, extra: FailureExtra = {}) =>
      failure(requestErrorStatus(mediaType), mediaType, code, message, extra);

    // "Specifying null for optional request parameters is equivalent to not specifying them at all."
    const { query, operationName = null, variables = null, extensions = null } = parsed.params;
    if (query !== undefined && query !== null && typeof query !== 'string') {
      return badRequest('The "query" parameter must be a string.');
    }
    if (operationName !== null && typeof operationName !== 'string') {
      return badRequest('The "operationName" parameter must be a string.');
    }
    if (variables !== null && !isObject(variables)) {
      return badRequest('The "variables" parameter must be an object.');
    }
    if (extensions !== null && !isObject(extensions)) {
      return badRequest('The "extensions" parameter must be an object.');
    }

    let text = typeof query === 'string' && query !== '' ? query : undefined;
    let persisted: GraphQLRequest['persistedQuery'] = null;
    const apq = extensions?.persistedQuery;
    if (apq !== undefined && apq !== null) {
      const valid =
        isObject(apq) && apq.version === 1 && typeof apq.sha256Hash === 'string' && SHA256_HEX.test(apq.sha256Hash);
      if (!valid) return badRequest('Unsupported persisted query: expected {version: 1, sha256Hash}.');
      // Apollo marks these uncacheable: the very next request (with the query) must not find this answer.
      const noStore = { headers: { 'cache-control': 'private, no-cache, must-revalidate' } };
      if (!store) return requestError('PERSISTED_QUERY_NOT_SUPPORTED', 'PersistedQueryNotSupported', noStore);
      const sha256Hash = (apq.sha256Hash as string).toLowerCase();
      if (text === undefined) {
        text = await store.get(sha256Hash);
        // Apollo clients retry with the full query on exactly this message and code.
        if (text === undefined) return requestError('PERSISTED_QUERY_NOT_FOUND', 'PersistedQueryNotFound', noStore);
        persisted = { sha256Hash, registered: false };
      } else {
        // The hash must be the query's own, or one client could bind a hash to another query.
        if ((await sha256Hex(text)) !== sha256Hash) return badRequest('provided sha does not match query');
        persisted = { sha256Hash, registered: true };
      }
    }
    if (text === undefined) return badRequest('The "query" parameter is required (a non-empty string).');

    let document: DocumentNode;
    try {
      document = parseDocument(text);
    } catch (err) {
      if (!(err instanceof GraphQLError)) throw err;
      return requestError('GRAPHQL_PARSE_FAILED', err.message, { locations: err.locations });
    }
    const selected = selectOperation(document, operationName);
    if (!selected.ok) return requestError('OPERATION_RESOLUTION_FAILURE', selected.message);
    const { operation } = selected;
    if (method === 'GET' && operation.operation !== 'query') {
      return failure(
        405,
        mediaType,
        'METHOD_NOT_ALLOWED',
        `${operation.operation} operations must be sent with POST.`,
        {
          headers: { allow: 'POST' },
        },
      );
    }
    // Register only documents that parse, so the store never holds garbage.
    if (persisted?.registered) await store?.set(persisted.sha256Hash, text);

    return {
      ok: true,
      request: {
        method: method as GraphQLRequest['method'],
        query: text,
        operationName: operationName || null,
        variables: variables ?? {},
        extensions: extensions ?? {},
        document,
        operation,
        operationType: operation.operation,
        mediaType,
        persistedQuery: persisted,
      },
    };
  };
}

/** The web Response for a rejected request. */
export function errorResponse(result: GraphQLRequestFailure): Response {
  return new Response(JSON.stringify(result.body), { status: result.status, headers: result.headers });
}
