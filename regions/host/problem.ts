/** RFC 9457 problem details for the region's HTTP errors. */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

export function problem(c: Context, status: ContentfulStatusCode, title: string, detail?: string): Response {
  c.header('content-type', 'application/problem+json');
  return c.body(JSON.stringify({ type: 'about:blank', title, status, detail, instance: c.req.path }), status);
}
