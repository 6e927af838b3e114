/** Spans made by withTelemetry, recorded by the OpenTelemetry SDK's in-memory exporter. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { context, propagation, ROOT_CONTEXT, type Span, SpanKind, trace } from '@opentelemetry/api';
import {
  consumedTraceparent,
  currentIds,
  currentTelemetry,
  currentTraceparent,
  messageTraceparent,
  quietUnlessSampled,
  withRequestTelemetry,
  withSendSpan,
  withTelemetry,
} from './context.ts';
import { type RunningTelemetry, startTelemetry } from './otel.ts';
import { parseTraceparent } from './traceparent.ts';

const INCOMING = '00-0123456789abcdef0123456789abcdef-0123456789abcdef-01';

describe('telemetry context with the SDK on', () => {
  let telemetry: RunningTelemetry;
  before(() => {
    telemetry = startTelemetry({ serviceName: 'context-test', exporter: { kind: 'memory' }, sampleRatio: 1 });
  });
  after(() => telemetry.shutdown());
  const spans = () => telemetry.finishedSpans();

  it('a context continues the caller’s trace as a real span, and stamps its own traceparent', async () => {
    telemetry.memory?.reset();
    let stamped: string | undefined;
    await withTelemetry(
      { traceparent: INCOMING, correlationId: 'c-1' },
      async () => {
        stamped = currentTraceparent();
        assert.equal(currentIds()?.traceId, '0123456789abcdef0123456789abcdef');
      },
      { name: 'process orders.created', kind: 'consumer', attributes: { 'messaging.system': 'kafka' } },
    );
    const [span] = await spans();
    assert.equal(span?.name, 'process orders.created');
    assert.equal(span?.spanContext().traceId, '0123456789abcdef0123456789abcdef');
    assert.equal(span?.parentSpanContext?.spanId, '0123456789abcdef');
    assert.equal(span?.attributes['messaging.system'], 'kafka');
    assert.equal(
      parseTraceparent(stamped)?.spanId,
      span?.spanContext().spanId,
      'events carry this span, not the caller’s',
    );
  });

  it('nested contexts make child spans in one trace; a failure marks the span', async () => {
    telemetry.memory?.reset();
    await assert.rejects(
      withTelemetry(
        { traceparent: INCOMING },
        () =>
          withTelemetry(
            {},
            async () => {
              throw new Error('payment provider down');
            },
            { name: 'authorize', kind: 'client' },
          ),
        { name: 'handle' },
      ),
      /provider down/,
    );
    const [inner, outer] = await spans();
    assert.equal(inner?.name, 'authorize');
    assert.equal(inner?.parentSpanContext?.spanId, outer?.spanContext().spanId);
    assert.equal(inner?.status.code, 2, 'ERROR');
    assert.equal(outer?.spanContext().traceId, inner?.spanContext().traceId);
  });

  it('an event’s own trace wins over the active span when asked (a consumed event)', async () => {
    telemetry.memory?.reset();
    await withTelemetry({}, () =>
      withTelemetry({ traceparent: INCOMING }, async () => {}, { name: 'process', preferTraceparent: true }),
    );
    const process = (await spans()).find((s) => s.name === 'process');
    assert.equal(process?.spanContext().traceId, '0123456789abcdef0123456789abcdef');
  });

  it('a message carries its creation span; the send is a child of it, linked to the batch’s other messages', async () => {
    telemetry.memory?.reset();
    const kafka = { system: 'kafka', destination: 'commerce.order.created.v1' };
    let first = '';
    let second = '';
    await withTelemetry(
      { traceparent: INCOMING },
      async () => {
        first = messageTraceparent(undefined, kafka);
      },
      { name: 'placeOrder' },
    );
    second = messageTraceparent('00-11111111111111111111111111111111-2222222222222222-01', kafka);
    await withSendSpan([first, second], kafka, async () => {});
    const all = await spans();
    const create = all.filter((s) => s.name === 'create commerce.order.created.v1');
    const placeOrder = all.find((s) => s.name === 'placeOrder');
    assert.equal(create.length, 2);
    assert.equal(create[0]?.parentSpanContext?.spanId, placeOrder?.spanContext().spanId, 'created under the request');
    assert.equal(
      parseTraceparent(first)?.spanId,
      create[0]?.spanContext().spanId,
      'the message carries its create span',
    );
    assert.equal(
      create[1]?.spanContext().traceId,
      '11111111111111111111111111111111',
      'no active span: the given parent',
    );
    const send = all.find((s) => s.name === 'send commerce.order.created.v1');
    assert.equal(send?.parentSpanContext?.spanId, parseTraceparent(first)?.spanId);
    assert.equal(send?.attributes['messaging.batch.message_count'], 2);
    assert.deepEqual(
      send?.links.map((l) => l.context.spanId),
      [parseTraceparent(second)?.spanId],
    );
  });

  it('a consumed message continues the transport’s span only when it is in the message’s own trace', () => {
    const creation = '00-0123456789abcdef0123456789abcdef-0123456789abcdef-01';
    const sameTrace = '00-0123456789abcdef0123456789abcdef-aaaaaaaaaaaaaaaa-01';
    const otherTrace = '00-99999999999999999999999999999999-aaaaaaaaaaaaaaaa-01';
    assert.equal(consumedTraceparent(creation, sameTrace), sameTrace);
    assert.equal(consumedTraceparent(creation, otherTrace), creation, 'a batch sent under another trace');
    assert.equal(consumedTraceparent(creation, undefined), creation);
    assert.equal(consumedTraceparent(undefined, sameTrace), sameTrace);
  });

  it('an unsampled request runs with the instrumentations off, and carries its unsampled trace downstream by hand', async () => {
    telemetry.memory?.reset();
    const unsampled = '00-0123456789abcdef0123456789abcdef-0123456789abcdef-00';
    let library: Span | undefined;
    let downstream: string | undefined;
    await withTelemetry({ traceparent: unsampled }, () =>
      quietUnlessSampled(() =>
        withTelemetry({}, async () => {
          // What Apollo's or undici's instrumentation would start.
          library = trace.getTracer('a-library').startSpan('gateway.request');
          library.end();
          downstream = currentTraceparent();
        }),
      ),
    );
    assert.equal(library?.isRecording(), false);
    assert.equal(
      library !== undefined && trace.isSpanContextValid(library.spanContext()),
      false,
      'switched off, not merely unsampled',
    );
    const tp = parseTraceparent(downstream);
    assert.equal(tp?.traceId, '0123456789abcdef0123456789abcdef', 'downstream continues the trace');
    assert.equal(tp?.flags, '00', '… unsampled, so it starts no trace of its own');
    assert.deepEqual(await spans(), []);

    // Sampled: nothing is switched off.
    await withTelemetry({ traceparent: INCOMING }, () =>
      quietUnlessSampled(() => trace.getTracer('a-library').startSpan('gateway.request').end()),
    );
    assert.ok((await spans()).some((s) => s.name === 'gateway.request'));
  });

  it('a request under a server span adds no span of its own; downstream continues the server span, sampled or not', async () => {
    telemetry.memory?.reset();
    const tracer = trace.getTracer('server');
    const serve = (incoming: string) => {
      const parent = propagation.extract(ROOT_CONTEXT, { traceparent: incoming });
      const server = tracer.startSpan('POST /graphql', { kind: SpanKind.SERVER }, parent);
      return context.with(trace.setSpan(parent, server), () =>
        withRequestTelemetry({ traceparent: incoming, correlationId: 'c-9' }, async () => {
          const seen = { downstream: currentTraceparent(), correlationId: currentTelemetry()?.correlationId };
          server.end();
          return { ...seen, server: server.spanContext().spanId };
        }),
      );
    };
    const sampled = await serve(INCOMING);
    assert.deepEqual(
      (await spans()).map((s) => s.name),
      ['POST /graphql'],
    );
    assert.equal(parseTraceparent(sampled.downstream)?.spanId, sampled.server, 'the server span is the parent');
    assert.equal(sampled.correlationId, 'c-9');

    telemetry.memory?.reset();
    const unsampled = await serve('00-0123456789abcdef0123456789abcdef-0123456789abcdef-00');
    const tp = parseTraceparent(unsampled.downstream);
    assert.equal(tp?.traceId, '0123456789abcdef0123456789abcdef');
    assert.equal(tp?.spanId, unsampled.server);
    assert.equal(tp?.flags, '00', 'unsampled downstream too');
    assert.deepEqual(await spans(), []);

    // No server span (a process without one): as withTelemetry, a span of its own.
    telemetry.memory?.reset();
    await withRequestTelemetry({ traceparent: INCOMING }, async () => {});
    const [own] = await spans();
    assert.equal(own?.name, 'handle');
    assert.equal(own?.parentSpanContext?.spanId, '0123456789abcdef');
  });

  it('a malformed incoming traceparent starts a new trace', async () => {
    let stamped: string | undefined;
    await withTelemetry({ traceparent: 'garbage' }, async () => {
      stamped = currentTraceparent();
    });
    assert.ok(parseTraceparent(stamped));
    assert.notEqual(parseTraceparent(stamped)?.traceId, '0123456789abcdef0123456789abcdef');
  });
});
