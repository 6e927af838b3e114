/**
 * Tracing for the edge on Deno, made by the edge with OpenTelemetry's JS SDK as on Node: the same
 * sampling-first server spans (server-spans.ts), head sampling (head-sampling.ts, quiet-tracer.ts),
 * batch settings and OTLP/HTTP exporter as the Node processes, and CLIENT spans for its calls to
 * the regions (traced-gateway-post.ts). Settings: tracing-settings.ts (an OTLP endpoint turns it on).
 *
 * Why not Deno's built-in OpenTelemetry by default: with it on, Deno.serve makes a span for every
 * request before any sampler decides (ext/http/00_serve.ts in Deno 2.9: the request's headers
 * copied out, the propagators run, a `deno.serve` span started and ended, and the native fast
 * path given up), and no setting turns that part off while keeping traces. A bare Hono handler
 * traced that way, sampling nothing at all, answered 0.46–0.68× of its untraced throughput. The
 * built-in stays available: start the edge with OTEL_DENO=true (infra/telemetry/launch.ts does it
 * with MERIDIAN_EDGE_DENO_OTEL=builtin), and this module then leaves tracing to Deno.
 */
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, ParentBasedSampler, TracerProvider } from '@opentelemetry/sdk-trace';
import { headSampler } from './head-sampling.ts';
import { quietTracerProvider } from './quiet-tracer.ts';
import { batchOptions, maxNewTracesPerSecond, sampleRatio, tracesEndpoint } from './tracing-settings.ts';

export interface EdgeTracing {
  /** Exports what is still batched, then stops. */
  shutdown(): Promise<void>;
}

/**
 * Registers the SDK as the global tracer provider, context manager and propagator, when an OTLP
 * endpoint is configured and neither MERIDIAN_OTEL=off nor Deno's own (OTEL_DENO=true) is chosen;
 * else registers nothing and returns undefined. Throws on a bad setting (naming the variable).
 */
export function startEdgeTracing(env: Record<string, string | undefined>): EdgeTracing | undefined {
  if (env.MERIDIAN_OTEL === 'off' || env.OTEL_DENO === 'true') return undefined;
  const url = tracesEndpoint(env);
  if (url === undefined) return undefined;
  const ratio = sampleRatio(env);
  const maxNew = maxNewTracesPerSecond(env);
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME?.trim() || 'meridian-edge' }),
    sampler: new ParentBasedSampler({ root: headSampler(ratio) }),
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url }), ...batchOptions(env) })],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(quietTracerProvider(provider, ratio, maxNew));
  return {
    async shutdown() {
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}
