/**
 * SSE pass-through: the client's `/v1/stream` (or graphql-sse `/v1/graphql/stream`) request goes to a region hub and the hub's
 * body comes back as the same stream object, so every frame is forwarded as it arrives —
 * nothing here reads, buffers or re-encodes it. The client going away aborts the upstream
 * request, so the hub releases its subscription at once instead of at the next heartbeat.
 */
import { runtimePropagatesTrace } from '../runtime/trace-propagation.ts';
import { problemResponse } from './problem.ts';

/** Options of proxySse. */
export interface SseProxyOptions {
  /** How long to wait for the hub's response headers; 10 s by default. The stream itself has no limit. */
  readonly connectTimeoutMs?: number;
  /** A POST with this body (already read and size-checked) instead of a GET (graphql-sse's POST form). */
  readonly post?: { readonly body: string; readonly contentType: string };
}

/** Request headers the hub needs: who (Authorization), where to resume (Last-Event-ID), and the trace. */
const FORWARDED = ['authorization', 'last-event-id', 'traceparent', 'tracestate'] as const;
/** Under runtime tracing its HTTP client sends the trace (the edge's span's, not the client's): never both. */
const FORWARDED_UNDER_OTEL = ['authorization', 'last-event-id'] as const;

const HOP_BY_HOP = ['content-encoding', 'content-length', 'transfer-encoding', 'connection', 'keep-alive'];

/** Streams `upstreamUrl` (a hub's `/v1/stream?...`) back to the client without buffering. */
export async function proxySse(
  request: Request,
  upstreamUrl: string | URL,
  fetchFn: typeof fetch = fetch,
  options: SseProxyOptions = {},
): Promise<Response> {
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const instance = new URL(request.url).pathname;
  const upstream = new AbortController();
  let streaming = false;
  const abortUpstream = () => {
    if (!streaming) {
      upstream.abort();
      return;
    }
    // Once streaming, the server cancels the response body itself when the client goes (Deno.serve and
    // @hono/node-server both do), which ends the upstream cleanly. Aborting first would instead error the
    // body under the server's reader, and the server logs that as a failed response. So abort one task
    // later, for servers that do not cancel; when the body is cancelled already it changes nothing.
    setTimeout(() => upstream.abort(), 0);
  };
  if (request.signal.aborted) abortUpstream();
  else request.signal.addEventListener('abort', abortUpstream, { once: true });

  const headers = new Headers({ accept: 'text/event-stream', 'cache-control': 'no-cache' });
  for (const name of runtimePropagatesTrace() ? FORWARDED_UNDER_OTEL : FORWARDED) {
    const value = request.headers.get(name);
    if (value !== null) headers.set(name, value);
  }

  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    upstream.abort();
  }, connectTimeoutMs);
  let res: Response;
  try {
    if (options.post) headers.set('content-type', options.post.contentType);
    res = await fetchFn(upstreamUrl, {
      method: options.post ? 'POST' : 'GET',
      ...(options.post ? { body: options.post.body } : {}),
      headers,
      signal: upstream.signal,
      redirect: 'manual',
    });
  } catch (err) {
    request.signal.removeEventListener('abort', abortUpstream);
    const why = timedOut
      ? `no answer within ${connectTimeoutMs} ms`
      : err instanceof Error
        ? err.message || err.name
        : String(err);
    return problemResponse(502, 'Bad Gateway', `the region's stream could not be reached: ${why}`, { instance });
  } finally {
    clearTimeout(timer);
  }

  if (res.status >= 400 && res.status < 500) {
    // The hub's own answer (401 with WWW-Authenticate, 403 for a topic, 400 for bad topics) is the client's to see.
    const passed = new Headers(res.headers);
    // fetch already decoded the body: its framing and encoding headers no longer describe it.
    for (const name of HOP_BY_HOP) passed.delete(name);
    return new Response(res.body, { status: res.status, statusText: res.statusText, headers: passed });
  }
  const type = res.headers.get('content-type') ?? '';
  if (res.status !== 200 || !type.toLowerCase().startsWith('text/event-stream') || res.body === null) {
    await res.body?.cancel().catch(() => {});
    request.signal.removeEventListener('abort', abortUpstream);
    return problemResponse(502, 'Bad Gateway', `the region's stream answered ${res.status} ${type}`.trim(), {
      instance,
    });
  }

  const out = new Headers({
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    // Tell nginx-like proxies between the edge and the client not to buffer either.
    'x-accel-buffering': 'no',
  });
  for (const name of ['x-meridian-region', 'traceparent']) {
    const value = res.headers.get(name);
    if (value !== null) out.set(name, value);
  }
  streaming = true;
  return new Response(res.body, { status: 200, headers: out });
}
