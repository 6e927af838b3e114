/**
 * The edge's calls to the region gateways as OpenTelemetry CLIENT spans, for a runtime whose HTTP
 * client nothing instruments: the edge on Deno under tracing.deno.ts. (On Node the SDK's http
 * instrumentation makes these spans; under Deno's built-in OpenTelemetry, its fetch does.)
 *
 * - The request's span is sampled: a span `POST` with the HTTP client attributes of the semantic
 *   conventions, its context sent as `traceparent`, the answer's status on it (an error from 500).
 * - Not sampled: an unsampled traceparent is sent all the same, so the region continues the
 *   decision instead of starting a trace of its own: the unsampled span's, when one is active; with
 *   none active (the edge on Deno runs unsampled requests outside any context, server-spans.ts'
 *   `enterUnsampled`), the caller's own when it is a valid unsampled one (the route forwards it
 *   then), else a new trace's, not sampled.
 */
import {
  context,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type { GatewayPost } from '../origin.ts';
import { unsampledSpan } from './head-sampling.ts';

/** `headers` with an unsampled traceparent: the one it has when valid and unsampled, else a new trace's. */
function withUnsampledTrace(headers: Record<string, string>): Record<string, string> {
  const caller = trace.getSpanContext(propagation.extract(ROOT_CONTEXT, headers));
  if (caller !== undefined && isSpanContextValid(caller) && !(caller.traceFlags & TraceFlags.SAMPLED)) return headers;
  const out = { ...headers };
  propagation.inject(trace.setSpan(ROOT_CONTEXT, unsampledSpan()), out);
  return out;
}

/**
 * Sends `headers` through `send` with the trace: under a sampled span as a CLIENT span `method`,
 * otherwise with the unsampled decision (see the module).
 */
async function tracedCall<T extends { readonly status: number }>(
  tracer: Tracer,
  method: string,
  url: string,
  headers: Record<string, string>,
  send: (headers: Record<string, string>) => Promise<T>,
): Promise<T> {
  const active = context.active();
  const parent = trace.getSpan(active);
  if (parent === undefined) return send(withUnsampledTrace(headers));
  const out = { ...headers };
  if (!parent.isRecording()) {
    propagation.inject(active, out);
    return send(out);
  }
  const target = new URL(url);
  const span = tracer.startSpan(
    method,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'http.request.method': method,
        'url.full': url,
        'server.address': target.hostname,
        'server.port': Number(target.port || (target.protocol === 'https:' ? 443 : 80)),
      },
    },
    active,
  );
  propagation.inject(trace.setSpan(active, span), out);
  try {
    const answer = await send(out);
    span.setAttribute('http.response.status_code', answer.status);
    if (answer.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    return answer;
  } catch (err) {
    span.recordException(err as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
    throw err;
  } finally {
    span.end();
  }
}

export function tracedGatewayPost(inner: GatewayPost, tracerName = 'meridian-edge'): GatewayPost {
  const tracer = trace.getTracer(tracerName);
  return (url, req) => tracedCall(tracer, 'POST', url, req.headers, (headers) => inner(url, { ...req, headers }));
}

/**
 * The same for the edge's other calls to the regions through fetch: the SSE proxy's requests to a
 * hub. Its span ends when the answer's headers are in (a stream runs for as long as the client
 * stays); a `traceparent`/`tracestate` the request already has is replaced, never doubled.
 */
export function tracedFetch(inner: typeof fetch, tracerName = 'meridian-edge'): typeof fetch {
  const tracer = trace.getTracer(tracerName);
  return (input, init) => {
    const request = new Request(input, init);
    // A traceparent it has stays only where tracedCall keeps a caller's (no span active, unsampled):
    // everywhere else the injected one overwrites it. Its tracestate belongs to the caller's context.
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => {
      if (name !== 'tracestate') headers[name] = value;
    });
    return tracedCall(tracer, request.method, request.url, headers, (own) =>
      inner(new Request(request, { headers: own })),
    );
  };
}
