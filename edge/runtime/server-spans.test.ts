/** The edge's own server spans (Node and Deno), recorded by the OpenTelemetry SDK's in-memory exporter. */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  type Context,
  context,
  createContextKey,
  propagation,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  InMemorySpanExporter,
  ParentBasedSampler,
  SimpleSpanProcessor,
  StackContextManager,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { withServerSpans } from './server-spans.ts';

const TRACE = '0123456789abcdef0123456789abcdef';
const SAMPLED = `00-${TRACE}-0123456789abcdef-01`;
const UNSAMPLED = `00-${TRACE}-0123456789abcdef-00`;

describe('edge server spans (sampling first)', () => {
  const exporter = new InMemorySpanExporter();
  let ratio = 0;
  // A root sampler whose ratio a test sets: 0 (nothing new is sampled) or 1 (everything is).
  const root = {
    shouldSample: (...a: Parameters<TraceIdRatioBasedSampler['shouldSample']>) =>
      new TraceIdRatioBasedSampler(ratio).shouldSample(...a),
    toString: () => 'test',
  };
  const sdk = new TracerProvider({
    sampler: new ParentBasedSampler({ root }),
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
  });
  before(() => {
    // Synchronous context is enough: the handler reads its active span before its first await.
    context.setGlobalContextManager(new StackContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(sdk);
  });
  after(() => {
    trace.disable();
    context.disable();
    propagation.disable();
  });
  beforeEach(() => exporter.reset());

  /** A handler that remembers the span context it ran under. */
  function recording(status = 200, opts: Parameters<typeof withServerSpans>[1] = {}) {
    const seen: { ctx?: SpanContext; ran?: boolean } = {};
    const handler = withServerSpans(async (_req: Request) => {
      seen.ran = true;
      seen.ctx = trace.getActiveSpan()?.spanContext();
      await Promise.resolve();
      return new Response('ok', { status });
    }, opts);
    return { seen, handler };
  }
  const req = (traceparent?: string) =>
    new Request('http://edge.test/graphql?x=1', {
      method: 'POST',
      headers: traceparent ? { traceparent, 'user-agent': 'ua' } : { 'user-agent': 'ua' },
    });

  it('a sampled caller: one SERVER span in its trace, with method, path and status', async () => {
    const { seen, handler } = recording();
    assert.equal((await handler(req(SAMPLED))).status, 200);
    const [span, ...rest] = exporter.getFinishedSpans();
    assert.equal(rest.length, 0);
    assert.ok(span);
    assert.equal(span.kind, SpanKind.SERVER);
    assert.equal(span.name, 'POST /graphql');
    assert.equal(span.spanContext().traceId, TRACE);
    assert.equal(span.parentSpanContext?.spanId, '0123456789abcdef');
    assert.equal(span.attributes['http.request.method'], 'POST');
    assert.equal(span.attributes['url.path'], '/graphql');
    assert.equal(span.attributes['http.response.status_code'], 200);
    assert.equal(seen.ctx?.spanId, span.spanContext().spanId, 'the handler runs inside the span');
  });

  it('an unsampled caller: nothing recorded, and the handler carries the unsampled decision on', async () => {
    ratio = 1; // even a sampler that would take every new trace follows the caller's decision
    const { seen, handler } = recording();
    await handler(req(UNSAMPLED));
    assert.deepEqual(exporter.getFinishedSpans(), []);
    assert.equal(seen.ctx?.traceId, TRACE);
    assert.equal(seen.ctx?.traceFlags, TraceFlags.NONE);
  });

  it('no caller context: sampled by the ratio; a dropped request still has a valid unsampled context', async () => {
    ratio = 0;
    const dropped = recording();
    await dropped.handler(req());
    assert.deepEqual(exporter.getFinishedSpans(), []);
    assert.ok(dropped.seen.ctx && trace.isSpanContextValid(dropped.seen.ctx));
    assert.equal(dropped.seen.ctx.traceFlags, TraceFlags.NONE);

    ratio = 1;
    const kept = recording();
    await kept.handler(req());
    const [span] = exporter.getFinishedSpans();
    assert.equal(span?.parentSpanContext, undefined, 'a root span');
    assert.equal(kept.seen.ctx?.traceFlags, TraceFlags.SAMPLED);
  });

  it('enterUnsampled off (the edge on Deno): an unsampled request runs with no span active; a sampled one as before', async () => {
    const opts = { enterUnsampled: false };
    ratio = 0;
    for (const traceparent of [undefined, UNSAMPLED]) {
      const dropped = recording(200, opts);
      assert.equal((await dropped.handler(req(traceparent))).status, 200);
      assert.equal(dropped.seen.ran, true);
      assert.equal(dropped.seen.ctx, undefined, `no span active (traceparent ${traceparent})`);
    }
    assert.deepEqual(exporter.getFinishedSpans(), []);
    const answer = new Response('hit');
    assert.equal(
      withServerSpans((_req: Request) => answer, opts)(req()),
      answer,
      'a synchronous answer stays synchronous',
    );

    for (const [r, traceparent] of [
      [1, undefined],
      [0, SAMPLED],
    ] as const) {
      ratio = r;
      exporter.reset();
      const kept = recording(200, opts);
      await kept.handler(req(traceparent));
      const [span] = exporter.getFinishedSpans();
      assert.ok(span, `recorded (ratio ${r}, traceparent ${traceparent})`);
      assert.equal(kept.seen.ctx?.spanId, span.spanContext().spanId, 'the handler runs inside the span');
    }
  });

  it('untrustedCallers: the client context reaches the tracer marked, as an untrusted remote parent', async () => {
    ratio = 0;
    const seenParents: Array<{ remote?: boolean; marked: boolean }> = [];
    const probe = {
      startSpan: (name: string, options: unknown, ctx: Context) => {
        seenParents.push({
          remote: trace.getSpanContext(ctx)?.isRemote,
          marked: ctx.getValue(createContextKey('meridian.untrusted-caller')) === true,
        });
        return sdk.getTracer('sdk').startSpan(name, options as never, ctx);
      },
    };
    trace.disable();
    trace.setGlobalTracerProvider({ getTracer: () => probe as never });
    try {
      await recording(200, { untrustedCallers: true }).handler(req(SAMPLED));
      await recording(200).handler(req(SAMPLED));
    } finally {
      trace.disable();
      trace.setGlobalTracerProvider(sdk);
    }
    assert.deepEqual(seenParents, [
      { remote: true, marked: true },
      { remote: true, marked: false },
    ]);
  });

  it('probes and scrapes (/health, /ready, /metrics) are not traced; other paths are', async () => {
    ratio = 1;
    const { handler } = recording();
    for (const path of ['/health', '/ready', '/metrics', '/health/regions'])
      await handler(new Request(`http://edge.test${path}`));
    assert.deepEqual(exporter.getFinishedSpans(), []);
    await handler(new Request('http://edge.test/healthy-looking/graphql'));
    assert.deepEqual(
      exporter.getFinishedSpans().map((s) => s.name),
      ['GET /healthy-looking/graphql'],
    );
  });

  it('sampled or not, a Response returned synchronously is returned synchronously (the server’s fast path)', async () => {
    ratio = 0;
    const answer = new Response('hit');
    const sync = withServerSpans((_req: Request) => answer);
    const res = sync(req());
    assert.equal(res, answer, 'not wrapped in a Promise');
    assert.deepEqual(exporter.getFinishedSpans(), []);
    ratio = 1;
    const sampled = sync(req());
    assert.equal(sampled, answer, 'sampled: not wrapped in a Promise either');
    const [span, ...rest] = exporter.getFinishedSpans();
    assert.equal(rest.length, 0, 'ended at once');
    assert.equal(span?.attributes['http.response.status_code'], 200);
    assert.equal(span?.name, 'POST /graphql');
  });

  it('records scheme, host (without port) and the path without its query', async () => {
    ratio = 1;
    const h = withServerSpans((_req: Request) => new Response('x'));
    h(new Request('http://edge.test:8080/graphql?query=%7B%20a%20%7D'));
    h(new Request('https://[::1]:8443/v1/stream'));
    h(new Request('http://edge.test'));
    assert.deepEqual(
      exporter
        .getFinishedSpans()
        .map((s) => [s.name, s.attributes['url.scheme'], s.attributes['server.address'], s.attributes['url.path']]),
      [
        ['GET /graphql', 'http', 'edge.test', '/graphql'],
        ['GET /v1/stream', 'https', '[::1]', '/v1/stream'],
        ['GET /', 'http', 'edge.test', '/'],
      ],
    );
  });

  it('a handler that throws synchronously: the span records the error, which is thrown on', () => {
    ratio = 1;
    const h = withServerSpans((_req: Request): Response => {
      throw new Error('sync boom');
    });
    assert.throws(() => h(req()), /sync boom/);
    const [span] = exporter.getFinishedSpans();
    assert.equal(span?.status.code, SpanStatusCode.ERROR);
    assert.equal(span?.events[0]?.name, 'exception');
  });

  it('a 5xx answer or a thrown error marks the span as an error (the error is thrown on)', async () => {
    ratio = 1;
    await recording(503).handler(req());
    const failing = withServerSpans(async (_req: Request): Promise<Response> => {
      throw new Error('boom');
    });
    await assert.rejects(async () => failing(req()), /boom/);
    const spans = exporter.getFinishedSpans();
    assert.deepEqual(
      spans.map((s) => [s.attributes['http.response.status_code'], s.status.code]),
      [
        [503, SpanStatusCode.ERROR],
        [undefined, SpanStatusCode.ERROR],
      ],
    );
    assert.equal(spans[1]?.events[0]?.name, 'exception');
  });
});
