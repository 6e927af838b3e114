/**
 * Sampling decided before the SDK (head-sampling.ts) through the platform's tracers
 * (quiet-tracer.ts) over the SDK's provider, as startTelemetry installs them: the same decisions as
 * the SDK's parent-based ratio sampler, with unsampled spans made without the SDK.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  context,
  createContextKey,
  propagation,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  TraceFlags,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  InMemorySpanExporter,
  ParentBasedSampler,
  SimpleSpanProcessor,
  StackContextManager,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { fromUntrustedCaller, headDecision, headSampler, newTraces } from './head-sampling.ts';
import { quietTracerProvider } from './quiet-tracer.ts';

const TRACE = '0123456789abcdef0123456789abcdef';
const CALLER = '0123456789abcdef';
const HEX = (n: number) => new RegExp(`^[0-9a-f]{${n}}$`);

describe('sampling decided before the SDK', () => {
  const exporter = new InMemorySpanExporter();
  let sdk: TracerProvider;
  before(() => {
    // Synchronous context is enough: every callback here is synchronous.
    context.setGlobalContextManager(new StackContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  });
  after(() => {
    trace.disable();
    context.disable();
    propagation.disable();
  });

  /** The platform's tracer at `ratio`, over an SDK provider whose root sampler is headSampler(ratio). */
  function tracerAt(ratio: number, maxNewPerSecond?: number): Tracer {
    trace.disable();
    exporter.reset();
    sdk = new TracerProvider({
      sampler: new ParentBasedSampler({ root: headSampler(ratio) }),
      spanProcessors: [new SimpleSpanProcessor({ exporter })],
    });
    trace.setGlobalTracerProvider(quietTracerProvider(sdk, ratio, maxNewPerSecond));
    return trace.getTracer('test');
  }
  const traceparentOf = (span: Span) => {
    const carrier: Record<string, string> = {};
    propagation.inject(trace.setSpan(ROOT_CONTEXT, span), carrier);
    return carrier.traceparent;
  };
  const callerContext = (traceparent: string, tracestate?: string) =>
    propagation.extract(ROOT_CONTEXT, { traceparent, ...(tracestate ? { tracestate } : {}) });

  it('ratio 1: every new trace is recorded as a root, and what runs inside it as its children', () => {
    const tracer = tracerAt(1);
    tracer.startActiveSpan('request', (span) => {
      tracer.startSpan('query').end();
      span.end();
    });
    const [query, request] = exporter.getFinishedSpans();
    assert.equal(request?.parentSpanContext, undefined);
    assert.equal(query?.parentSpanContext?.spanId, request?.spanContext().spanId);
    assert.equal(query?.spanContext().traceId, request?.spanContext().traceId);
  });

  it('ratio 0: nothing recorded; a valid context of its own, ids made once, carried downstream with the flag off', () => {
    const tracer = tracerAt(0);
    const a = tracer.startSpan('request');
    const b = tracer.startSpan('request');
    assert.equal(a.isRecording(), false);
    const ctx: SpanContext = a.spanContext();
    assert.match(ctx.traceId, HEX(32));
    assert.match(ctx.spanId, HEX(16));
    assert.ok(trace.isSpanContextValid(ctx));
    assert.equal(ctx.traceFlags, TraceFlags.NONE);
    assert.equal(a.spanContext().traceId, ctx.traceId, 'the same ids at every read');
    assert.equal(a.spanContext().spanId, ctx.spanId);
    assert.equal(traceparentOf(a), `00-${ctx.traceId}-${ctx.spanId}-00`);
    assert.notEqual(b.spanContext().traceId, ctx.traceId, 'each new trace its own id');
    const child = tracer.startSpan('query', {}, trace.setSpan(ROOT_CONTEXT, a));
    assert.equal(child.isRecording(), false);
    assert.equal(child.spanContext().traceId, ctx.traceId);
    assert.notEqual(child.spanContext().spanId, ctx.spanId);
    a.end();
    child.end();
    assert.deepEqual(exporter.getFinishedSpans(), []);
  });

  it('an unsampled caller at ratio 1: its trace and trace state carried on, a span id of its own, nothing recorded', () => {
    const tracer = tracerAt(1);
    const span = tracer.startSpan('request', {}, callerContext(`00-${TRACE}-${CALLER}-00`, 'vendor=x'));
    assert.equal(span.isRecording(), false);
    assert.equal(span.spanContext().traceId, TRACE);
    assert.notEqual(span.spanContext().spanId, CALLER);
    assert.equal(span.spanContext().traceState?.serialize(), 'vendor=x');
    assert.equal(traceparentOf(span), `00-${TRACE}-${span.spanContext().spanId}-00`);
    span.end();
    assert.deepEqual(exporter.getFinishedSpans(), []);
  });

  it('a sampled caller at ratio 0: recorded as its child', () => {
    const tracer = tracerAt(0);
    tracer.startSpan('request', {}, callerContext(`00-${TRACE}-${CALLER}-01`)).end();
    const [span] = exporter.getFinishedSpans();
    assert.equal(span?.spanContext().traceId, TRACE);
    assert.equal(span?.parentSpanContext?.spanId, CALLER);
  });

  it('`root` starts a new trace whatever the parent, drawn at the ratio', () => {
    const tracer = tracerAt(1);
    const unsampledParent = trace.setSpan(
      ROOT_CONTEXT,
      trace.wrapSpanContext({ traceId: TRACE, spanId: CALLER, traceFlags: TraceFlags.NONE }),
    );
    const span = tracer.startSpan('detached', { root: true }, unsampledParent);
    assert.equal(span.isRecording(), true);
    assert.notEqual(span.spanContext().traceId, TRACE);
    span.end();
  });

  it('a ratio between samples about that share of new traces', () => {
    const tracer = tracerAt(0.5);
    for (let i = 0; i < 400; i++) tracer.startSpan('request').end();
    const recorded = exporter.getFinishedSpans().length;
    // Binomial(400, 0.5): outside 140..260 about once in a billion runs.
    assert.ok(recorded >= 140 && recorded <= 260, `${recorded} of 400 sampled`);
  });

  it("a new trace drawn as sampled is sampled by the SDK's root sampler, and the mark stays out of the callback's context", () => {
    tracerAt(0);
    const sdkTracer = sdk.getTracer('sdk-direct');
    const drawn = headDecision(newTraces(1), ROOT_CONTEXT, false);
    assert.ok('from' in drawn);
    const marked = sdkTracer.startSpan('marked', {}, drawn.from);
    assert.equal(marked.isRecording(), true, 'the mark decides, whatever the ratio');
    const unmarked = sdkTracer.startSpan('unmarked', {}, ROOT_CONTEXT);
    assert.equal(unmarked.isRecording(), false, 'without it the trace id ratio (0) does');

    tracerAt(1).startActiveSpan('request', (span) => {
      assert.equal(context.active().getValue(createContextKey('meridian.head-sampled')), undefined);
      span.end();
    });
    marked.end();
    unmarked.end();
  });

  it('a cap on new traces: a second’s worth at once, then as time refills it; no cap draws at the ratio alone', () => {
    let now = 0;
    const draw = newTraces(1, 5, () => now).draw;
    const burst = Array.from({ length: 8 }, () => draw());
    assert.deepEqual(burst, [true, true, true, true, true, false, false, false]);
    now = 100; // half a token
    assert.equal(draw(), false);
    now = 200; // one token
    assert.deepEqual([draw(), draw()], [true, false]);
    now = 60_000; // a minute idle refills one second's worth, not more
    assert.equal(Array.from({ length: 8 }, () => draw()).filter(Boolean).length, 5);

    const slow = newTraces(1, 0.5, () => now).draw;
    assert.deepEqual([slow(), slow()], [true, false], 'less than one a second: one, then');
    now += 1000;
    assert.equal(slow(), false);
    now += 1000;
    assert.equal(slow(), true, 'one every two seconds');

    const none = newTraces(0, 5, () => now).draw;
    now += 10_000;
    assert.equal(Array.from({ length: 100 }, () => none()).some(Boolean), false, 'ratio 0 stays 0 under a cap');
    const uncapped = newTraces(1);
    assert.equal(Array.from({ length: 1000 }, () => uncapped.draw()).every(Boolean), true);
    assert.equal(Array.from({ length: 1000 }, () => uncapped.admit()).every(Boolean), true);

    const shared = newTraces(0, 2, () => now);
    assert.deepEqual([shared.admit(), shared.admit(), shared.admit()], [true, true, false], 'admit: the cap alone');
  });

  it("the cap is shared by the process's tracers and never cuts a sampled caller's trace", () => {
    const tracer = tracerAt(1, 3);
    const other = trace.getTracer('another library');
    const roots = [tracer, other, tracer, other, tracer, other].map((t) => t.startSpan('new').isRecording());
    assert.equal(roots.filter(Boolean).length, 3, `three new traces across two tracers: ${roots}`);
    const caller = callerContext(`00-${TRACE}-${CALLER}-01`);
    for (let i = 0; i < 5; i++) assert.equal(tracer.startSpan('followed', {}, caller).isRecording(), true);
  });

  it("an untrusted caller's sampled flag counts against the cap; what its request then starts is followed", () => {
    const tracer = tracerAt(0, 2);
    const client = fromUntrustedCaller(callerContext(`00-${TRACE}-${CALLER}-01`));
    const servers = Array.from({ length: 4 }, () => tracer.startSpan('edge', {}, client));
    assert.deepEqual(
      servers.map((s) => s.isRecording()),
      [true, true, false, false],
      'two within the cap of two a second, though the ratio is 0',
    );
    const dropped = servers[2] as Span;
    assert.equal(dropped.spanContext().traceId, TRACE, "a dropped one stays in the client's trace, unsampled");
    assert.equal(dropped.spanContext().traceFlags, TraceFlags.NONE);
    // The request's own children: their parent is the (local) server span, followed past the cap.
    const inside = trace.setSpan(client, servers[0] as Span);
    for (let i = 0; i < 5; i++) assert.equal(tracer.startSpan('origin call', {}, inside).isRecording(), true);
    // An unmarked caller (the platform's own processes) is followed whatever the count.
    const trusted = callerContext(`00-${TRACE}-${CALLER}-01`);
    for (let i = 0; i < 5; i++) assert.equal(tracer.startSpan('region', {}, trusted).isRecording(), true);
    for (const s of servers) s.end();
  });
});
