/**
 * The platform's tracers: the SDK's, with two things decided before the SDK is asked for a span.
 *
 * - Sampling (head-sampling.ts): a span that will not be sampled (its parent's flag is off, or a
 *   new trace drawn out at the ratio) is made here without the SDK, with ids made only when read.
 *   The SDK starts only the spans it records.
 * - Suppressed code (quietUnlessSampled: an unsampled gateway request) costs nothing for the spans
 *   it would have made. The SDK's `startActiveSpan` still makes a no-op span there and runs the
 *   callback in a new context (an AsyncLocalStorage frame) holding it; Apollo Gateway opens six
 *   active spans per request (request, validate, plan, execute, fetch, postprocessing), so an
 *   unsampled request paid six frames for nothing. Under suppression the callback runs in the
 *   current context with a no-op span. Whatever the callback starts is still suppressed, since the
 *   suppressed context stays active.
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
import { headDecision, type NewTraces, newTraces } from './head-sampling.ts';

const NO_SPAN: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

type Callback = (span: Span) => unknown;

class QuietTracer implements Tracer {
  readonly #inner: Tracer;
  readonly #traces: NewTraces | undefined;
  constructor(inner: Tracer, traces: NewTraces | undefined) {
    this.#inner = inner;
    this.#traces = traces;
  }

  startSpan(name: string, options?: SpanOptions, ctx: Context = context.active()): Span {
    if (isTracingSuppressed(ctx)) return NO_SPAN;
    if (this.#traces === undefined) return this.#inner.startSpan(name, options, ctx);
    const head = headDecision(this.#traces, ctx, options?.root === true);
    return 'unsampled' in head ? head.unsampled : this.#inner.startSpan(name, options, head.from);
  }

  // The overloads of Tracer.startActiveSpan: (name, fn), (name, options, fn), (name, options, context, fn).
  startActiveSpan<F extends Callback>(name: string, ...rest: [F] | [SpanOptions, F] | [SpanOptions, Context, F]) {
    const fn = rest[rest.length - 1] as F;
    const options = rest.length > 1 ? (rest[0] as SpanOptions) : undefined;
    const ctx = rest.length === 3 ? rest[1] : context.active();
    if (isTracingSuppressed(ctx)) return fn(NO_SPAN) as ReturnType<F>;
    // As the SDK's startActiveSpan does, with the span started here (the parent's context stays
    // the callback's: a new trace's sampling mark is only for the SDK's sampler).
    const span = this.startSpan(name, options, ctx);
    return context.with(trace.setSpan(ctx, span), fn as (s: Span) => ReturnType<F>, undefined, span);
  }
}

/**
 * `inner` (the SDK's provider, whose root sampler is head-sampling.ts's `headSampler` at the same
 * `sampleRatio`), with tracers that decide sampling first and cost nothing under suppression.
 * New traces are drawn at `sampleRatio`, at most `maxNewTracesPerSecond` of them a second across
 * all the tracers (`newTraces`). Without a ratio (the SDK records nothing: no exporter) the SDK
 * decides, as it then hands out no-op spans anyway.
 */
export function quietTracerProvider(
  inner: TracerProvider,
  sampleRatio: number | undefined,
  maxNewTracesPerSecond = Number.POSITIVE_INFINITY,
): TracerProvider {
  const traces = sampleRatio === undefined ? undefined : newTraces(sampleRatio, maxNewTracesPerSecond);
  const tracers = new Map<string, Tracer>();
  return {
    getTracer(name: string, version?: string, options?: TracerOptions): Tracer {
      const key = `${name}@${version ?? ''}:${options?.schemaUrl ?? ''}`;
      let tracer = tracers.get(key);
      if (!tracer) {
        tracer = new QuietTracer(inner.getTracer(name, version, options), traces);
        tracers.set(key, tracer);
      }
      return tracer;
    },
  };
}
