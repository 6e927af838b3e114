/**
 * Server spans made by the application itself: the edge (on Node and on Deno) and the regions
 * (regions/host/http.ts; raw node:http servers: infra/telemetry/node-server-spans.ts).
 * The http instrumentation makes one for every request and does its work (attributes, context
 * binding of the request's and the response's listeners) before the sampler decides; on an edge
 * cache hit that costs more than the hit, and at the gateway about a tenth of a request.
 * Here the span is started first and everything else happens only when it is recorded: an
 * unsampled request pays for a span id, the sampler and one context switch. The context is
 * entered, sampled or not (unless `enterUnsampled` is off), so the origin call carries the
 * decision downstream (a traceparent with the sampled flag off keeps the regions from starting
 * traces of their own).
 *
 * In Node processes they are made only under infra/telemetry/register.ts, which leaves incoming
 * requests to the application (`appServerSpans()`); the edge on Deno makes them under
 * tracing.deno.ts (Deno's built-in OpenTelemetry, when chosen instead, makes its own natively).
 */
import {
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  trace,
} from '@opentelemetry/api';
import { pathOf } from '../routing/url-path.ts';
import { fromUntrustedCaller } from './head-sampling.ts';

const headersGetter: TextMapGetter<Headers> = {
  get: (headers, key) => headers.get(key) ?? undefined,
  keys: (headers) => [...headers.keys()],
};

/** Probes and scrapes are not traced. */
const UNTRACED_PATHS = /^\/(health|ready|metrics)\b/;

/**
 * Whether this process makes its own HTTP server spans: true under infra/telemetry/register.ts
 * (which sets MERIDIAN_OTEL_HTTP_SERVER_SPANS=app and leaves incoming requests to the
 * application), false without the SDK (then nothing is wrapped and nothing is paid).
 */
export function appServerSpans(): boolean {
  return globalThis.process?.env?.MERIDIAN_OTEL_HTTP_SERVER_SPANS === 'app';
}

/** The caller's trace context, when it sent one (marked when the caller is not trusted). */
function parentOf(req: Request, untrusted: boolean): Context {
  if (!req.headers.has('traceparent')) return ROOT_CONTEXT;
  const ctx = propagation.extract(ROOT_CONTEXT, req.headers, headersGetter);
  return untrusted ? fromUntrustedCaller(ctx) : ctx;
}

export interface ServerSpanOptions {
  /** The tracer's name: `meridian-edge` unless told. */
  readonly tracerName?: string;
  /**
   * Whether an unsampled request runs inside its unsampled span's context (the default), so that
   * the runtime's instrumentation sends the decision with its outgoing calls. False where entering a
   * context costs more than that is worth: the edge on Deno, whose AsyncLocalStorage copies the
   * context map and keys a WeakMap on every entry (8% of a cache hit's throughput with nothing
   * sampled; 1.01× untraced without it, 3 Dec). There the request runs with no span active, and
   * its calls to the regions send an unsampled traceparent of their own (traced-gateway-post.ts).
   */
  readonly enterUnsampled?: boolean;
  /**
   * Whether callers are outside the platform (the edge's clients): a caller's sampled flag then
   * counts against the process's cap on new traces (head-sampling.ts, `fromUntrustedCaller`)
   * instead of being followed whatever the count. Off by default (the regions' callers are the
   * platform's own processes, whose traces must not lose their middle).
   */
  readonly untrustedCallers?: boolean;
}

/**
 * Wraps a fetch handler so that each request runs inside a SERVER span (recorded when sampled).
 * Unsampled, the handler's own result is returned as is, without a promise of the wrapper's: a
 * Response returned synchronously stays synchronous (@hono/node-server answers those on its fast
 * path), and an async one costs no extra promise and microtask.
 */
export function withServerSpans<A extends unknown[]>(
  handler: (req: Request, ...rest: A) => Response | Promise<Response>,
  opts: ServerSpanOptions = {},
): (req: Request, ...rest: A) => Response | Promise<Response> {
  const tracer = trace.getTracer(opts.tracerName ?? 'meridian-edge');
  const enterUnsampled = opts.enterUnsampled ?? true;
  const untrusted = opts.untrustedCallers ?? false;
  return (req, ...rest) => {
    if (UNTRACED_PATHS.test(pathOf(req.url))) return handler(req, ...rest);
    const parent = parentOf(req, untrusted);
    const span = tracer.startSpan(req.method, { kind: SpanKind.SERVER }, parent);
    if (!span.isRecording())
      return enterUnsampled
        ? context.with(trace.setSpan(parent, span), () => handler(req, ...rest))
        : handler(req, ...rest);
    return recorded(span, trace.setSpan(parent, span), req, () => handler(req, ...rest));
  };
}

/** Scheme and host (without port) of an absolute URL, without building a URL object. */
function originOf(url: string): { scheme: string; host: string } {
  const colon = url.indexOf(':');
  const start = colon + 3;
  let end = url.indexOf('/', start);
  if (end < 0) end = url.length;
  // A server's request URL has no credentials (a Request refuses them).
  const hostPort = url.slice(start, end);
  const host = hostPort.startsWith('[') ? hostPort.slice(0, hostPort.indexOf(']') + 1) : hostPort.replace(/:\d*$/, '');
  return { scheme: url.slice(0, colon), host };
}

/** The answer's status on the span, which then ends. */
function answered(span: Span, res: Response): Response {
  span.setAttribute('http.response.status_code', res.status);
  if (res.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
  return res;
}

function failed(span: Span, err: unknown): never {
  span.recordException(err as Error);
  span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
  throw err;
}

/**
 * A sampled request: its span gets the request's attributes, then the response's status. A
 * Response returned synchronously (an edge cache hit) is returned synchronously here too, so a
 * sampled hit stays on the server's fast path like the others: with every sampled hit awaited, a
 * tenth of the hits went the slow way and the traced edge paid for it beyond the spans (at 10%
 * sampled 43 µs of CPU per hit against 39 µs at 0% and 54 µs at 100%, where a linear share
 * would be 40.5; measured 2 Dec).
 */
function recorded(
  span: Span,
  active: Context,
  req: Request,
  run: () => Response | Promise<Response>,
): Response | Promise<Response> {
  const urlPath = pathOf(req.url);
  const { scheme, host } = originOf(req.url);
  span.updateName(`${req.method} ${urlPath}`);
  span.setAttributes({
    'http.request.method': req.method,
    'url.path': urlPath,
    'url.scheme': scheme,
    'server.address': host,
    'user_agent.original': req.headers.get('user-agent') ?? '',
  });
  let out: Response | Promise<Response>;
  try {
    out = context.with(active, run);
  } catch (err) {
    return failed(span, err);
  }
  if (typeof (out as Partial<Promise<Response>>).then !== 'function') return answered(span, out as Response);
  return (out as Promise<Response>).then(
    (res) => answered(span, res),
    (err) => failed(span, err),
  );
}
