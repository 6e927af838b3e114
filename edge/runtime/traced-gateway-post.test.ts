/** The edge's calls to the regions as CLIENT spans, and the decision they carry when not sampled. */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { AlwaysOnSampler, InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { GatewayAnswer, GatewayPost } from '../origin.ts';
import { tracedFetch, tracedGatewayPost } from './traced-gateway-post.ts';

const TRACE = '0123456789abcdef0123456789abcdef';
const PARENT = '0123456789abcdef';
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$/;

describe('traced gateway calls', () => {
  const exporter = new InMemorySpanExporter();
  before(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(
      new TracerProvider({ sampler: new AlwaysOnSampler(), spanProcessors: [new SimpleSpanProcessor({ exporter })] }),
    );
  });
  after(() => {
    trace.disable();
    context.disable();
    propagation.disable();
  });
  beforeEach(() => exporter.reset());

  /** A gateway port that remembers the headers of each call and answers `status` (or fails). */
  function gateway(status: number | Error = 200) {
    const calls: Array<Record<string, string>> = [];
    const post: GatewayPost = async (_url, req) => {
      calls.push(req.headers);
      await Promise.resolve();
      if (status instanceof Error) throw status;
      return { status, headers: { get: () => null }, text: '{}' } satisfies GatewayAnswer;
    };
    return { calls, post };
  }
  const call = (post: GatewayPost, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    post('http://127.0.0.1:4100/graphql', { headers, body: '{}', timeoutMs: 1000 });
  /** Runs `fn` inside a span of the caller's trace, sampled or not. */
  const within = <T>(sampled: boolean, fn: () => Promise<T>) => {
    const span = sampled
      ? trace.getTracer('t').startSpan('server', { kind: SpanKind.SERVER })
      : trace.wrapSpanContext({ traceId: TRACE, spanId: PARENT, traceFlags: TraceFlags.NONE });
    return { span, run: context.with(trace.setSpan(ROOT_CONTEXT, span), fn) };
  };
  /** Ends the request span; the one CLIENT span recorded, checked to be `name` and its child. */
  const clientUnder = (server: Span, name: string) => {
    server.end();
    const client = exporter.getFinishedSpans().find((s) => s.kind === SpanKind.CLIENT);
    assert.ok(client);
    assert.equal(client.name, name);
    assert.equal(client.parentSpanContext?.spanId, server.spanContext().spanId);
    return client;
  };

  it('sampled: a CLIENT span, a child of the request span, whose context the region receives', async () => {
    const { calls, post } = gateway(200);
    const { span: server, run } = within(true, () => call(tracedGatewayPost(post)));
    assert.equal((await run).status, 200);
    const client = clientUnder(server, 'POST');
    assert.equal(client.attributes['http.request.method'], 'POST');
    assert.equal(client.attributes['url.full'], 'http://127.0.0.1:4100/graphql');
    assert.equal(client.attributes['server.address'], '127.0.0.1');
    assert.equal(client.attributes['server.port'], 4100);
    assert.equal(client.attributes['http.response.status_code'], 200);
    assert.equal(client.status.code, SpanStatusCode.UNSET);
    const sent = TRACEPARENT.exec(calls[0]?.traceparent ?? '');
    assert.deepEqual(sent?.slice(1), [client.spanContext().traceId, client.spanContext().spanId, '01']);
    assert.equal(calls[0]?.['content-type'], 'application/json', "the caller's headers go too");
  });

  it('sampled: a 5xx answer or a failed call marks the span as an error (the failure goes on)', async () => {
    await within(true, () => call(tracedGatewayPost(gateway(503).post))).run;
    await assert.rejects(
      within(true, () => call(tracedGatewayPost(gateway(new Error('refused')).post))).run,
      /refused/,
    );
    const clients = exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.CLIENT);
    assert.deepEqual(
      clients.map((s) => [s.attributes['http.response.status_code'], s.status.code, s.events[0]?.name]),
      [
        [503, SpanStatusCode.ERROR, undefined],
        [undefined, SpanStatusCode.ERROR, 'exception'],
      ],
    );
  });

  it('an unsampled request span: no span, and the region receives its unsampled context', async () => {
    const { calls, post } = gateway();
    await within(false, () => call(tracedGatewayPost(post))).run;
    assert.deepEqual(exporter.getFinishedSpans(), []);
    assert.equal(calls[0]?.traceparent, `00-${TRACE}-${PARENT}-00`);
  });

  it("no span active: the caller's unsampled traceparent goes on; anything else is replaced by a new unsampled trace", async () => {
    const { calls, post } = gateway();
    const traced = tracedGatewayPost(post);
    const callersUnsampled = `00-${TRACE}-${PARENT}-00`;
    await call(traced, { traceparent: callersUnsampled });
    for (const bad of [`00-${TRACE}-${PARENT}-01`, 'not-a-traceparent', `00-${'0'.repeat(32)}-${PARENT}-00`])
      await call(traced, { traceparent: bad });
    await call(traced, {});
    await call(traced, {});
    assert.deepEqual(exporter.getFinishedSpans(), [], 'nothing recorded');
    assert.equal(calls[0]?.traceparent, callersUnsampled);
    const fresh = calls.slice(1).map((h) => TRACEPARENT.exec(h.traceparent ?? ''));
    for (const m of fresh) {
      assert.ok(m, 'a valid traceparent');
      assert.equal(m[3], '00', 'not sampled');
      assert.notEqual(m[1], TRACE);
      assert.notEqual(m[1], '0'.repeat(32));
    }
    assert.equal(new Set(fresh.map((m) => m?.[1])).size, fresh.length, 'a new trace each time');
  });

  /** A fetch that remembers each request it was given and answers `status`. */
  function hub(status = 200) {
    const requests: Request[] = [];
    const fetchFn: typeof fetch = async (input, init) => {
      requests.push(new Request(input, init));
      return new Response('', { status, headers: { 'content-type': 'text/event-stream' } });
    };
    return { requests, fetchFn };
  }
  const clientSampled = `00-${TRACE}-${PARENT}-01`;

  it('fetch (the SSE proxy to a hub), sampled: a CLIENT span; the request carries its context instead of the one it had', async () => {
    const { requests, fetchFn } = hub();
    const controller = new AbortController();
    const { span: server, run } = within(true, () =>
      tracedFetch(fetchFn)('http://127.0.0.1:41001/v1/stream?topics=a', {
        headers: {
          accept: 'text/event-stream',
          authorization: 'Bearer t',
          traceparent: clientSampled,
          tracestate: 'x=1',
        },
        signal: controller.signal,
        redirect: 'manual',
      }),
    );
    assert.equal((await run).status, 200);
    const client = clientUnder(server, 'GET');
    assert.equal(client.attributes['url.full'], 'http://127.0.0.1:41001/v1/stream?topics=a');
    const sent = requests[0];
    assert.ok(sent);
    const m = TRACEPARENT.exec(sent.headers.get('traceparent') ?? '');
    assert.deepEqual(
      m?.slice(1),
      [client.spanContext().traceId, client.spanContext().spanId, '01'],
      "one traceparent: the span's",
    );
    assert.equal(sent.headers.get('tracestate'), null, "the client's tracestate belongs to the client's context");
    assert.equal(sent.headers.get('authorization'), 'Bearer t');
    assert.equal(sent.headers.get('accept'), 'text/event-stream');
    assert.equal(sent.redirect, 'manual');
    controller.abort();
    assert.equal(sent.signal.aborted, true, 'the caller can still abort the request');
  });

  it("fetch, no span active: the caller's unsampled traceparent goes on; a sampled one is replaced by a new unsampled trace", async () => {
    const { requests, fetchFn } = hub();
    const traced = tracedFetch(fetchFn);
    await traced('http://127.0.0.1:41001/v1/stream', { headers: { traceparent: `00-${TRACE}-${PARENT}-00` } });
    await traced('http://127.0.0.1:41001/v1/stream', { headers: { traceparent: clientSampled } });
    await traced('http://127.0.0.1:41001/v1/graphql/stream', { method: 'POST', body: '{"query":"subscription{a}"}' });
    assert.deepEqual(exporter.getFinishedSpans(), []);
    assert.equal(requests[0]?.headers.get('traceparent'), `00-${TRACE}-${PARENT}-00`);
    for (const r of requests.slice(1)) {
      const m = TRACEPARENT.exec(r.headers.get('traceparent') ?? '');
      assert.ok(m);
      assert.equal(m[3], '00');
      assert.notEqual(m[1], TRACE);
    }
    assert.equal(await requests[2]?.text(), '{"query":"subscription{a}"}', 'a POST keeps its body');
    assert.equal(requests[2]?.method, 'POST');
  });
});
