/** RFC 9457 problem details as a plain web `Response`, so it serves Hono routes and raw proxies alike. */

/** Extra members and headers of a problem response. */
export interface ProblemExtras {
  readonly instance?: string;
  readonly headers?: Record<string, string>;
  readonly [member: string]: unknown;
}

/** A `application/problem+json` response with type about:blank (RFC 9457 §4.2.1: title is the status phrase). */
export function problemResponse(status: number, title: string, detail?: string, extras: ProblemExtras = {}): Response {
  const { headers = {}, ...members } = extras;
  const body = JSON.stringify({ type: 'about:blank', title, status, ...(detail ? { detail } : {}), ...members });
  return new Response(body, {
    status,
    headers: { 'content-type': 'application/problem+json', 'cache-control': 'no-store', ...headers },
  });
}
