/**
 * Apollo Server on Hono: turns a Hono request into Apollo's HTTPGraphQLRequest and the
 * result back into a web Response (GraphQL over HTTP, GET and POST).
 */
import { type ApolloServer, type BaseContext, HeaderMap } from '@apollo/server';
import type { Context } from 'hono';

function badRequest(message: string): Response {
  return new Response(JSON.stringify({ errors: [{ message, extensions: { code: 'BAD_REQUEST' } }] }), {
    status: 400,
    headers: { 'content-type': 'application/json; charset=utf-8' },
  });
}

/** A Hono handler serving `server`, with `context` built per request. */
export function apolloHandler<TContext extends BaseContext>(
  server: ApolloServer<TContext>,
  context: (c: Context) => Promise<TContext>,
) {
  return async function graphqlOverHttp(c: Context): Promise<Response> {
    const headers = new HeaderMap();
    c.req.raw.headers.forEach((value, key) => {
      headers.set(key, value);
    });
    let body: unknown;
    if (c.req.method === 'POST') {
      const text = await c.req.text();
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
    const res = await server.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: c.req.method.toUpperCase(), headers, search: new URL(c.req.url).search, body },
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
