/**
 * Server spans for raw `node:http` servers (the SOAP payment provider and the SOAP bridge), as
 * edge/runtime/server-spans.ts makes them for fetch handlers: sampling first, attributes only
 * when recorded. Under register.ts the http instrumentation leaves incoming requests alone (it
 * did its work before the sampler decided), so every server of a Node process makes its own.
 * Off (nothing wrapped) when the process runs without the SDK.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';

/** Probes and scrapes are not traced (the same paths as edge/runtime/server-spans.ts, which infra may not import). */
const UNTRACED_PATHS = /^\/(health|ready|metrics)\b/;

/** Whether register.ts left incoming requests to the application (it sets this when the SDK starts). */
const appServerSpans = () => process.env.MERIDIAN_OTEL_HTTP_SERVER_SPANS === 'app';

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/** Wraps a request listener so that each request runs inside a SERVER span (recorded when sampled). */
export function withNodeServerSpans(listener: Listener, tracerName: string): Listener {
  const tracer = trace.getTracer(tracerName);
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0] as string;
    if (UNTRACED_PATHS.test(path)) return listener(req, res);
    const parent = req.headers.traceparent ? propagation.extract(ROOT_CONTEXT, req.headers) : ROOT_CONTEXT;
    const span = tracer.startSpan(req.method ?? 'HTTP', { kind: SpanKind.SERVER }, parent);
    const active = trace.setSpan(parent, span);
    if (!span.isRecording()) return context.with(active, () => listener(req, res));
    span.updateName(`${req.method} ${path}`);
    span.setAttributes({
      'http.request.method': req.method ?? '',
      'url.path': path,
      'url.scheme': 'http',
      'user_agent.original': req.headers['user-agent'] ?? '',
    });
    let ended = false;
    const end = (aborted: boolean) => {
      if (ended) return;
      ended = true;
      span.setAttribute('http.response.status_code', res.statusCode);
      if (aborted || res.statusCode >= 500)
        span.setStatus({ code: SpanStatusCode.ERROR, ...(aborted ? { message: 'connection closed early' } : {}) });
      span.end();
    };
    res.once('finish', () => end(false));
    res.once('close', () => end(!res.writableFinished));
    return context.with(active, () => listener(req, res));
  };
}

/**
 * Runs every `request` listener of `server` inside a server span (call it once the server's
 * listeners are in place: `soap.listen` replaces them with its own). Does nothing without the SDK.
 */
export function traceServerRequests(server: Server, tracerName: string): void {
  if (!appServerSpans()) return;
  const listeners = server.listeners('request') as Listener[];
  server.removeAllListeners('request');
  server.on(
    'request',
    withNodeServerSpans((req, res) => {
      for (const l of listeners) l.call(server, req, res);
    }, tracerName),
  );
}
