/**
 * Whether the runtime traces this request itself: Deno's built-in OpenTelemetry (OTEL_DENO=true)
 * or the Node SDK (infra/telemetry/register.ts) make the incoming request's span active, and
 * their fetch/http instrumentation puts a `traceparent` on every outgoing call. The edge must
 * then not copy the client's header as well: Deno appends rather than replaces, and a
 * comma-joined traceparent is invalid, so the region would start a new trace. Without
 * OpenTelemetry no span is active and the edge forwards the client's traceparent by hand.
 */
import { trace } from '@opentelemetry/api';

/** True when an OpenTelemetry span is active (the runtime propagates the trace). */
export function runtimePropagatesTrace(): boolean {
  return trace.getActiveSpan() !== undefined;
}
