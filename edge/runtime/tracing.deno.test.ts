/**
 * The edge's tracing on Deno, started as main.deno.ts starts it (run here under Node: it uses only
 * OpenTelemetry's portable SDK): when it turns on, and that its spans reach an OTLP/HTTP receiver.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { SpanKind, trace } from '@opentelemetry/api';
import { startEdgeTracing } from './tracing.deno.ts';

describe('the edge tracing itself (tracing.deno.ts)', () => {
  const bodies: Array<{ url: string; type: string; body: string }> = [];
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      bodies.push({ url: req.url ?? '', type: req.headers['content-type'] ?? '', body });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  after(() => receiver.close());

  it('stays off without an endpoint, with MERIDIAN_OTEL=off, or with Deno’s built-in chosen', () => {
    assert.equal(startEdgeTracing({}), undefined);
    assert.equal(
      startEdgeTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1', MERIDIAN_OTEL: 'off' }),
      undefined,
    );
    assert.equal(startEdgeTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1', OTEL_DENO: 'true' }), undefined);
    assert.equal(trace.getTracer('t').startSpan('x').isRecording(), false, 'nothing registered');
  });

  it('refuses a bad setting, naming it', () => {
    assert.throws(
      () => startEdgeTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1', MERIDIAN_OTEL_SAMPLE_RATIO: '2' }),
      /MERIDIAN_OTEL_SAMPLE_RATIO/,
    );
    assert.throws(
      () => startEdgeTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1', OTEL_BSP_SCHEDULE_DELAY: 'soon' }),
      /OTEL_BSP_SCHEDULE_DELAY/,
    );
  });

  it('with an endpoint: the SDK samples at the ratio and exports OTLP/JSON there under the service name', async () => {
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const { port } = receiver.address() as AddressInfo;
    const tracing = startEdgeTracing({
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      OTEL_SERVICE_NAME: 'edge-under-test',
      MERIDIAN_OTEL_SAMPLE_RATIO: '1',
    });
    assert.ok(tracing);
    const span = trace.getTracer('meridian-edge').startSpan('POST /graphql', { kind: SpanKind.SERVER });
    assert.equal(span.isRecording(), true);
    span.end();
    await tracing.shutdown();
    assert.equal(bodies.length, 1);
    assert.equal(bodies[0]?.url, '/v1/traces');
    assert.match(bodies[0]?.type ?? '', /application\/json/);
    const sent = JSON.parse(bodies[0]?.body ?? '{}');
    const resource = sent.resourceSpans[0];
    assert.deepEqual(resource.resource.attributes.find((a: { key: string }) => a.key === 'service.name')?.value, {
      stringValue: 'edge-under-test',
    });
    assert.equal(resource.scopeSpans[0].spans[0].name, 'POST /graphql');
    assert.equal(resource.scopeSpans[0].spans[0].traceId, span.spanContext().traceId);
    assert.equal(trace.getTracer('t').startSpan('x').isRecording(), false, 'shut down: unregistered');
  });
});
