/**
 * Suppressed code (quietUnlessSampled: an unsampled gateway request) should cost nothing for the
 * spans it would have made. The SDK's `startActiveSpan` still makes a no-op span there and runs
 * the callback in a new context (an AsyncLocalStorage frame) holding it; Apollo Gateway opens six
 * active spans per request (request, validate, plan, execute, fetch, postprocessing), so an
 * unsampled request paid six frames for nothing. `quietTracerProvider` wraps the SDK's provider:
 * under suppression the callback runs in the current context with a no-op span. Nothing is
 * recorded either way, and whatever the callback starts is still suppressed, since the
 * suppressed context stays active. Everywhere else the SDK's tracer answers unchanged.
 */
import {
  type Context,
  context,
  INVALID_SPAN_CONTEXT,
  type Span,
  type SpanOptions,
  type Tracer,
  type TracerOptions,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import { isTracingSuppressed } from '@opentelemetry/core';

const NO_SPAN: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

type Callback = (span: Span) => unknown;

class QuietTracer implements Tracer {
  readonly #inner: Tracer;
  constructor(inner: Tracer) {
    this.#inner = inner;
  }

  startSpan(name: string, options?: SpanOptions, ctx?: Context): Span {
    return this.#inner.startSpan(name, options, ctx);
  }

  // The overloads of Tracer.startActiveSpan: (name, fn), (name, options, fn), (name, options, context, fn).
  startActiveSpan<F extends Callback>(name: string, ...rest: [F] | [SpanOptions, F] | [SpanOptions, Context, F]) {
    const fn = rest[rest.length - 1] as F;
    const ctx = rest.length === 3 ? rest[1] : undefined;
    if (isTracingSuppressed(ctx ?? context.active())) return fn(NO_SPAN) as ReturnType<F>;
    return (this.#inner.startActiveSpan as (n: string, ...a: unknown[]) => ReturnType<F>)(name, ...rest);
  }
}

/** `inner` (the SDK's provider), with tracers whose active spans cost nothing under suppression. */
export function quietTracerProvider(inner: TracerProvider): TracerProvider {
  const tracers = new Map<string, Tracer>();
  return {
    getTracer(name: string, version?: string, options?: TracerOptions): Tracer {
      const key = `${name}@${version ?? ''}:${options?.schemaUrl ?? ''}`;
      let tracer = tracers.get(key);
      if (!tracer) {
        tracer = new QuietTracer(inner.getTracer(name, version, options));
        tracers.set(key, tracer);
      }
      return tracer;
    },
  };
}
