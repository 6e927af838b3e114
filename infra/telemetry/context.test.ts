/** Spans made by withTelemetry, recorded by the OpenTelemetry SDK's in-memory exporter. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { currentIds, currentTraceparent, withTelemetry } from './context.ts';
import { type RunningTelemetry, startTelemetry } from './otel.ts';
import { parseTraceparent } from './traceparent.ts';

const INCOMING = '00-0123456789abcdef0123456789abcdef-0123456789abcdef-01';

describe('telemetry context with the SDK on', () => {
  let telemetry: RunningTelemetry;
  before(() => {
    telemetry = startTelemetry({ serviceName: 'context-test', exporter: { kind: 'memory' }, sampleRatio: 1 });
  });
  after(() => telemetry.shutdown());
  // Span processors export asynchronously: flush before reading.
  const spans = async () => {
    await telemetry.flush();
    return telemetry.memory?.getFinishedSpans() ?? [];
  };

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

  it('a malformed incoming traceparent starts a new trace', async () => {
    let stamped: string | undefined;
    await withTelemetry({ traceparent: 'garbage' }, async () => {
      stamped = currentTraceparent();
    });
    assert.ok(parseTraceparent(stamped));
    assert.notEqual(parseTraceparent(stamped)?.traceId, '0123456789abcdef0123456789abcdef');
  });
});
