/** Server spans of raw node:http servers (traceServerRequests), recorded by the SDK's in-memory exporter. */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { context, type SpanContext, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { traceServerRequests } from './node-server-spans.ts';
import { type RunningTelemetry, startTelemetry } from './otel.ts';

const TRACE = '0123456789abcdef0123456789abcdef';
const CALLER = '0123456789abcdef';

describe('node:http server spans (sampling first)', () => {
  let telemetry: RunningTelemetry;
  let server: http.Server;
  let url: string;
  const seen: Array<SpanContext | undefined> = [];
  const previous = process.env.MERIDIAN_OTEL_HTTP_SERVER_SPANS;

  before(async () => {
    process.env.MERIDIAN_OTEL_HTTP_SERVER_SPANS = 'app';
    telemetry = startTelemetry({
      serviceName: 'node-server-spans-test',
      exporter: { kind: 'memory' },
      sampleRatio: 1,
      httpServerSpans: false,
    });
    server = http.createServer((req, res) => {
      seen.push(trace.getActiveSpan()?.spanContext());
      res.writeHead(req.url === '/fail' ? 503 : 200).end('ok');
    });
    traceServerRequests(server, 'test-server');
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((r) => server.close(r));
    await telemetry.shutdown();
    if (previous === undefined) delete process.env.MERIDIAN_OTEL_HTTP_SERVER_SPANS;
    else process.env.MERIDIAN_OTEL_HTTP_SERVER_SPANS = previous;
  });
  const spans = async () => (await telemetry.finishedSpans()).filter((s) => s.kind === SpanKind.SERVER);
  const call = async (path: string, traceparent?: string) => {
    telemetry.memory?.reset();
    seen.length = 0;
    // The client's own instrumentation switched off: the request carries exactly our traceparent.
    const res = await context.with(suppressTracing(context.active()), () =>
      fetch(`${url}${path}`, { method: 'POST', headers: traceparent ? { traceparent } : {} }),
    );
    await res.text();
    // The span ends on the response's 'finish', which may come after the client has read it.
    await new Promise((r) => setTimeout(r, 20));
  };

  it("a sampled caller's request is a SERVER span, a child of the caller's, around the listener", async () => {
    await call('/soap?wsdl', `00-${TRACE}-${CALLER}-01`);
    const [span, ...more] = await spans();
    assert.equal(more.length, 0);
    assert.equal(span?.name, 'POST /soap');
    assert.equal(span?.spanContext().traceId, TRACE);
    assert.equal(span?.parentSpanContext?.spanId, CALLER);
    assert.equal(span?.attributes['http.response.status_code'], 200);
    assert.equal(seen[0]?.spanId, span?.spanContext().spanId, 'the listener ran inside the span');
  });

  it('an unsampled caller: nothing recorded, the listener still runs in the trace (unsampled)', async () => {
    await call('/soap', `00-${TRACE}-${CALLER}-00`);
    assert.deepEqual(await spans(), []);
    assert.equal(seen[0]?.traceId, TRACE);
    assert.equal(seen[0]?.traceFlags, 0);
  });

  it('a 5xx answer marks the span; probes are not traced', async () => {
    await call('/fail');
    const [failed] = await spans();
    assert.equal(failed?.status.code, SpanStatusCode.ERROR);
    await call('/health');
    assert.deepEqual(await spans(), []);
    assert.equal(seen[0], undefined);
  });
});
