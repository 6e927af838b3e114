/**
 * The context a new message carries when the SDK samples nothing new (ratio 0): the sampler's
 * decision travels with the message, so its consumers (parent-based) follow it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { messageTraceparent, withTelemetry } from './context.ts';
import { type RunningTelemetry, startTelemetry } from './otel.ts';
import { parseTraceparent } from './traceparent.ts';

const kafka = { system: 'kafka', destination: 'iot.telemetry.raw.v1' };
const TRACE = '0123456789abcdef0123456789abcdef';

describe('a message’s traceparent with the SDK sampling no new trace', () => {
  let telemetry: RunningTelemetry;
  before(() => {
    telemetry = startTelemetry({ serviceName: 'message-test', exporter: { kind: 'memory' }, sampleRatio: 0 });
  });
  after(() => telemetry.shutdown());

  it('no caller context (a device that sent none): a new trace each time, unsampled, nothing recorded', async () => {
    telemetry.memory?.reset();
    const a = parseTraceparent(messageTraceparent(undefined, kafka));
    const b = parseTraceparent(messageTraceparent(null, kafka));
    assert.ok(a && b);
    assert.equal(a.flags, '00', 'the dropped decision travels on');
    assert.equal(b.flags, '00');
    assert.notEqual(a.traceId, b.traceId, 'a trace of its own each');
    assert.deepEqual(await telemetry.finishedSpans(), []);
  });

  it('a sampled caller wins over the ratio: its trace, sampled, with the creation span recorded', async () => {
    telemetry.memory?.reset();
    const tp = parseTraceparent(messageTraceparent(`00-${TRACE}-0123456789abcdef-01`, kafka));
    assert.equal(tp?.traceId, TRACE);
    assert.equal(tp?.flags, '01');
    assert.notEqual(tp?.spanId, '0123456789abcdef', 'the creation span’s own id');
    const [span] = await telemetry.finishedSpans();
    assert.equal(span?.name, 'create iot.telemetry.raw.v1');
    assert.equal(span?.spanContext().spanId, tp?.spanId);
  });

  it('an unsampled caller, or an unsampled request around it: the same trace, unsampled, a span id of its own', async () => {
    telemetry.memory?.reset();
    const direct = parseTraceparent(messageTraceparent(`00-${TRACE}-0123456789abcdef-00`, kafka));
    assert.equal(direct?.traceId, TRACE);
    assert.equal(direct?.flags, '00');
    assert.notEqual(direct?.spanId, '0123456789abcdef');
    let inside: string | undefined;
    await withTelemetry({}, async () => {
      inside = messageTraceparent(undefined, kafka);
    });
    assert.equal(parseTraceparent(inside)?.flags, '00', 'a dropped request’s message is dropped too');
    assert.deepEqual(await telemetry.finishedSpans(), []);
  });
});
