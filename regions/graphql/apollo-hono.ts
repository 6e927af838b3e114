/**
 * Apollo Server on Hono: turns a Hono request into Apollo's HTTPGraphQLRequest and the
 * result back into a web Response (GraphQL over HTTP, GET and POST). The body is read
 * under a limit, and a request may be screened before Apollo parses it.
 */
import { type ApolloServer, type BaseContext, HeaderMap } from '@apollo/server';
import type { Context } from 'hono';
import { PAYLOAD_TOO_LARGE, payloadTooLargeMessage, readBodyWithin } from '../../edge/graphql/body.ts';

/** The GraphQL parameters of a request, when it names a query (not an APQ hash alone). */
export interface QueryParams {
  readonly query: string;
  readonly operationName: string | null;
  readonly variables: Readonly<Record<string, unknown>> | undefined;
}

/** Options of {@link apolloHandler}. */
export interface ApolloHandlerOptions {
  /** Largest POST body read; a longer one gets 413 PAYLOAD_TOO_LARGE, as at the edge. */
  readonly maxBodyBytes: number;
  /** An error response in the servers' format (correlation id included). */
  readonly errorResponse: (c: Context, status: number, code: string, message: string) => Response;
  /** Looks at the query before Apollo parses and validates it; a Response refuses the request. */
  readonly screen?: (c: Context, params: QueryParams) => Response | undefined;
}

function badRequest(message: string): Response {
  return new Response(JSON.stringify({ errors: [{ message, extensions: { code: 'BAD_REQUEST' } }] }), {
    status: 400,
    headers: { 'content-type': 'application/json; charset=utf-8' },
  });
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The query, operation name and variables, or undefined when they are absent or malformed (Apollo says why). */
function queryParams(method: string, search: URLSearchParams, body: unknown): QueryParams | undefined {
  let raw: Record<string, unknown>;
  if (method === 'GET') {
    let variables: unknown;
    try {
      const text = search.get('variables');
      variables = text ? JSON.parse(text) : undefined;
    } catch {
      return undefined;
    }
    raw = { query: search.get('query'), operationName: search.get('operationName'), variables };
  } else if (isRecord(body)) {
    raw = body;
  } else {
    return undefined;
  }
  const { query, operationName, variables } = raw;
  if (typeof query !== 'string' || !query) return undefined;
  if (operationName !== undefined && operationName !== null && typeof operationName !== 'string') return undefined;
  if (variables !== undefined && variables !== null && !isRecord(variables)) return undefined;
  return { query, operationName: operationName || null, variables: variables ?? undefined };
}

const utf8 = new TextDecoder();

/** A Hono handler serving `server`, with `context` built per request. */
export function apolloHandler<TContext extends BaseContext>(
  server: ApolloServer<TContext>,
  context: (c: Context) => Promise<TContext>,
  options: ApolloHandlerOptions,
) {
  return async function graphqlOverHttp(c: Context): Promise<Response> {
    const headers = new HeaderMap();
    c.req.raw.headers.forEach((value, key) => {
      headers.set(key, value);
    });
    const method = c.req.method.toUpperCase();
    // Apollo reads the search string of GETs only; a POST needs no URL parsed.
    const search = method === 'GET' ? new URL(c.req.url).search : '';
    let body: unknown;
    if (method === 'POST') {
      const bytes = await readBodyWithin(c.req.raw, options.maxBodyBytes);
      if (!bytes) {
        return options.errorResponse(c, 413, PAYLOAD_TOO_LARGE, payloadTooLargeMessage(options.maxBodyBytes));
      }
      const text = utf8.decode(bytes);
      if ((headers.get('content-type') ?? '').includes('json')) {
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          return badRequest('request body is not valid JSON');
        }
      } else {
        body = text;
      }
    }
    if (options.screen) {
      const params = queryParams(method, new URLSearchParams(search), body);
      const refused = params && options.screen(c, params);
      if (refused) return refused;
    }
    const res = await server.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method, headers, search, body },
      context: () => context(c),
    });
    const out = new Headers();
    for (const [key, value] of res.headers) out.set(key, value);
    if (res.body.kind === 'complete') return new Response(res.body.string, { status: res.status ?? 200, headers: out });
    const chunks = res.body.asyncIterator;
    const encoder = new TextEncoder();
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const next = await chunks.next();
        if (next.done) controller.close();
        else controller.enqueue(encoder.encode(next.value));
      },
    });
    return new Response(stream, { status: res.status ?? 200, headers: out });
  };
}
