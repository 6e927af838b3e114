/**
 * Without an OpenTelemetry SDK (a process started without MERIDIAN_TRACES): `tracingOn()` says
 * so, and a message's traceparent is a child of its parent made by hand, without the no-op spans
 * (the MQTT bridge skips its per-message spans then). Its own process: nothing here registers an
 * SDK until the last test.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { messageTraceparent, tracingOn } from './context.ts';
import { startTelemetry } from './otel.ts';
import { parseTraceparent } from './traceparent.ts';

const kafka = { system: 'kafka', destination: 'iot.telemetry.raw.v1' };
const TRACE = '0123456789abcdef0123456789abcdef';

describe('telemetry without the SDK', () => {
  it('tracingOn() is false, and a message continues its parent’s trace under a span id of its own', () => {
    assert.equal(tracingOn(), false);
    for (const flags of ['01', '00']) {
      const tp = parseTraceparent(messageTraceparent(`00-${TRACE}-0123456789abcdef-${flags}`, kafka));
      assert.equal(tp?.traceId, TRACE);
      assert.equal(tp?.flags, flags, 'the parent’s sampling decision travels on');
      assert.notEqual(tp?.spanId, '0123456789abcdef');
    }
  });

  it('a message without a parent (or with a malformed one) starts a trace of its own', () => {
    const a = parseTraceparent(messageTraceparent(undefined, kafka));
    const b = parseTraceparent(messageTraceparent('00-zz-nonsense-01', kafka));
    assert.ok(a && b);
    assert.notEqual(a.traceId, b.traceId);
    assert.notEqual(a.traceId, TRACE);
  });

  it('tracingOn() turns true once an SDK registers', async () => {
    const telemetry = startTelemetry({ serviceName: 'no-sdk-test', exporter: { kind: 'memory' }, sampleRatio: 1 });
    try {
      assert.equal(tracingOn(), true);
      const tp = parseTraceparent(messageTraceparent(`00-${TRACE}-0123456789abcdef-01`, kafka));
      const [span] = await telemetry.finishedSpans();
      assert.equal(span?.name, 'create iot.telemetry.raw.v1', 'a real creation span now');
      assert.equal(span?.spanContext().spanId, tp?.spanId);
    } finally {
      await telemetry.shutdown();
    }
  });
});
