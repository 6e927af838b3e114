import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { context, ROOT_CONTEXT, TraceFlags, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { proxySse } from './sse-proxy.ts';

const UPSTREAM = 'http://127.0.0.1:41001/v1/stream?topics=order.x';
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** An upstream hub whose SSE body the test writes chunk by chunk; records what the proxy sent. */
function controlledUpstream(init: { status?: number; headers?: Record<string, string> } = {}) {
  let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  let cancelled = false;
  let signal: AbortSignal | undefined;
  let sent: Headers | undefined;
  let sentInit: RequestInit | undefined;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    cancel() {
      cancelled = true;
    },
  });
  const fetchFn: typeof fetch = (_input, requestInit) => {
    signal = requestInit?.signal ?? undefined;
    sent = new Headers(requestInit?.headers);
    sentInit = requestInit;
    // Like a real fetch: aborting the request errors the body being read.
    signal?.addEventListener('abort', () => {
      try {
        controller?.error(new DOMException('aborted', 'AbortError'));
      } catch {}
    });
    return Promise.resolve(
      new Response(body, {
        status: init.status ?? 200,
        headers: init.headers ?? { 'content-type': 'text/event-stream', 'x-meridian-region': 'east' },
      }),
    );
  };
  return {
    fetch: fetchFn,
    write: (text: string) => controller?.enqueue(encoder.encode(text)),
    end: () => controller?.close(),
    get signal() {
      return signal;
    },
    get sent() {
      return sent;
    },
    get sentInit() {
      return sentInit;
    },
    get cancelled() {
      return cancelled;
    },
  };
}

/** Reads one chunk, failing instead of hanging when none arrives. */
async function readChunk(reader: ReadableStreamDefaultReader<Uint8Array>, ms = 1000): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no chunk within ${ms} ms`)), ms);
  });
  try {
    const r = await Promise.race([reader.read(), timeout]);
    assert.equal(r.done, false, 'stream ended early');
    return decoder.decode(r.value);
  } finally {
    clearTimeout(timer);
  }
}

const clientRequest = (headers: Record<string, string> = {}, signal?: AbortSignal) =>
  new Request('http://edge.test/v1/stream?topics=order.x', { headers, ...(signal ? { signal } : {}) });

describe('proxySse', () => {
  it('forwards each chunk as it arrives, before the upstream finishes', async () => {
    const upstream = controlledUpstream();
    const res = await proxySse(clientRequest(), UPSTREAM, upstream.fetch);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    assert.equal(res.headers.get('x-accel-buffering'), 'no');
    assert.equal(res.headers.get('x-meridian-region'), 'east');
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    upstream.write('retry: 2000\n\n');
    assert.equal(await readChunk(reader), 'retry: 2000\n\n');
    upstream.write('id: 1\nevent: commerce.order.created.v1\ndata: {"n":1}\n\n');
    assert.equal(await readChunk(reader), 'id: 1\nevent: commerce.order.created.v1\ndata: {"n":1}\n\n');
    upstream.end();
    assert.equal((await reader.read()).done, true);
  });

  it('forwards Authorization, Last-Event-ID and traceparent, and nothing else of the client', async () => {
    const upstream = controlledUpstream();
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const res = await proxySse(
      clientRequest({ authorization: 'Bearer t0k', 'last-event-id': 'e-41', traceparent, cookie: 'session=secret' }),
      UPSTREAM,
      upstream.fetch,
    );
    const sent = upstream.sent as Headers;
    assert.equal(sent.get('authorization'), 'Bearer t0k');
    assert.equal(sent.get('last-event-id'), 'e-41');
    assert.equal(sent.get('traceparent'), traceparent);
    assert.equal(sent.get('accept'), 'text/event-stream');
    assert.equal(sent.get('cookie'), null);
    await res.body?.cancel();
  });

  it("under runtime tracing (a span active), leaves the trace to the runtime's HTTP client: the client's is not forwarded too", async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    try {
      const upstream = controlledUpstream();
      const span = trace.wrapSpanContext({
        traceId: '0123456789abcdef0123456789abcdef',
        spanId: '0123456789abcdef',
        traceFlags: TraceFlags.SAMPLED,
      });
      const res = await context.with(trace.setSpan(ROOT_CONTEXT, span), () =>
        proxySse(
          clientRequest({
            authorization: 'Bearer t0k',
            traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
            tracestate: 'x=1',
          }),
          UPSTREAM,
          upstream.fetch,
        ),
      );
      const sent = upstream.sent as Headers;
      assert.equal(sent.get('authorization'), 'Bearer t0k');
      assert.equal(sent.get('traceparent'), null);
      assert.equal(sent.get('tracestate'), null);
      await res.body?.cancel();
    } finally {
      context.disable();
    }
  });

  it('forwards a graphql-sse POST with its body and content type', async () => {
    const upstream = controlledUpstream();
    const body = JSON.stringify({ query: 'subscription { hubEvents(topics: ["x"]) { id } }' });
    const res = await proxySse(clientRequest({ authorization: 'Bearer t0k' }), UPSTREAM, upstream.fetch, {
      post: { body, contentType: 'application/json' },
    });
    assert.equal(upstream.sentInit?.method, 'POST');
    assert.equal(upstream.sentInit?.body, body);
    assert.equal(upstream.sent?.get('content-type'), 'application/json');
    assert.equal(upstream.sent?.get('accept'), 'text/event-stream');
    await res.body?.cancel();
  });

  it('a client that goes away aborts the upstream request', async () => {
    const upstream = controlledUpstream();
    const client = new AbortController();
    const res = await proxySse(clientRequest({}, client.signal), UPSTREAM, upstream.fetch);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    upstream.write(': ping\n\n');
    assert.equal(await readChunk(reader), ': ping\n\n');
    assert.equal(upstream.signal?.aborted, false);
    client.abort();
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(upstream.signal?.aborted, true);
    await assert.rejects(reader.read());
  });

  it('cancelling the response body cancels the upstream body', async () => {
    const upstream = controlledUpstream();
    const res = await proxySse(clientRequest(), UPSTREAM, upstream.fetch);
    await res.body?.cancel();
    assert.equal(upstream.cancelled, true);
  });

  it('a client already gone never reaches the upstream as a live request', async () => {
    const upstream = controlledUpstream();
    const client = new AbortController();
    client.abort();
    const res = await proxySse(clientRequest({}, client.signal), UPSTREAM, upstream.fetch);
    assert.equal(upstream.signal?.aborted, true);
    await res.body?.cancel().catch(() => {});
  });

  it('an unreachable upstream is 502 problem+json', async () => {
    const refused: typeof fetch = () => Promise.reject(new TypeError('fetch failed: ECONNREFUSED'));
    const res = await proxySse(clientRequest(), UPSTREAM, refused);
    assert.equal(res.status, 502);
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
    const body = (await res.json()) as { title: string; detail: string; instance: string };
    assert.equal(body.title, 'Bad Gateway');
    assert.match(body.detail, /ECONNREFUSED/);
    assert.equal(body.instance, '/v1/stream');
  });

  it('an upstream that sends no headers within connectTimeoutMs is 502', async () => {
    const hanging: typeof fetch = (_input, init) =>
      new Promise((_, reject) => init?.signal?.addEventListener('abort', () => reject(new Error('aborted'))));
    const res = await proxySse(clientRequest(), UPSTREAM, hanging, { connectTimeoutMs: 20 });
    assert.equal(res.status, 502);
    assert.match(((await res.json()) as { detail: string }).detail, /no answer within 20 ms/);
  });

  it('an upstream 5xx, or a 200 that is not an event stream, is 502', async () => {
    const failing = controlledUpstream({ status: 503, headers: { 'content-type': 'application/problem+json' } });
    const res = await proxySse(clientRequest(), UPSTREAM, failing.fetch);
    assert.equal(res.status, 502);
    assert.match(((await res.json()) as { detail: string }).detail, /503/);
    assert.equal(failing.cancelled, true, 'the upstream body is released');
    const json = controlledUpstream({ headers: { 'content-type': 'application/json' } });
    const wrong = await proxySse(clientRequest(), UPSTREAM, json.fetch);
    assert.equal(wrong.status, 502);
    await wrong.body?.cancel();
  });

  it("passes the hub's own 4xx answer through (401 challenge, 403 topic)", async () => {
    const hubProblem = JSON.stringify({ type: 'about:blank', title: 'Unauthorized', status: 401 });
    const denying: typeof fetch = () =>
      Promise.resolve(
        new Response(hubProblem, {
          status: 401,
          headers: {
            'content-type': 'application/problem+json',
            'www-authenticate': 'Bearer realm="meridian"',
            'content-encoding': 'gzip',
          },
        }),
      );
    const res = await proxySse(clientRequest(), UPSTREAM, denying);
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="meridian"');
    assert.equal(res.headers.get('content-encoding'), null, 'fetch decoded the body already');
    assert.equal(await res.text(), hubProblem);
  });
});
