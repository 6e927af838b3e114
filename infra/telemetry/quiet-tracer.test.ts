/** The SDK's tracers as startTelemetry hands them out: active spans cost nothing under suppression. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { type RunningTelemetry, startTelemetry } from './otel.ts';

describe('tracers under startTelemetry', () => {
  let telemetry: RunningTelemetry;
  before(() => {
    telemetry = startTelemetry({ serviceName: 'quiet-tracer-test', exporter: { kind: 'memory' }, sampleRatio: 1 });
  });
  after(() => telemetry.shutdown());
  const finished = () => telemetry.finishedSpans();

  it('an active span is recorded as before, and is the active span inside its callback', async () => {
    telemetry.memory?.reset();
    const tracer = trace.getTracer('library');
    const inside = await tracer.startActiveSpan('outer', async (span) => {
      assert.equal(trace.getActiveSpan(), span);
      const child = tracer.startActiveSpan('inner', { attributes: { n: 1 } }, (s) => {
        s.end();
        return s;
      });
      span.end();
      return child;
    });
    const [inner, outer] = await finished();
    assert.equal(outer?.name, 'outer');
    assert.equal(inner?.name, 'inner');
    assert.equal(inner?.attributes.n, 1);
    assert.equal(inner?.parentSpanContext?.spanId, outer?.spanContext().spanId);
    assert.equal(inside.spanContext().spanId, inner?.spanContext().spanId);
  });

  it('suppressed, the callback runs in the very context it was called from, and nothing is recorded', async () => {
    telemetry.memory?.reset();
    const tracer = trace.getTracer('library');
    const quiet = suppressTracing(ROOT_CONTEXT);
    const result = context.with(quiet, () =>
      tracer.startActiveSpan('request', (span) => {
        assert.equal(context.active(), quiet, 'no new context entered');
        assert.equal(span.isRecording(), false);
        // What it starts inside is suppressed as well, active or not.
        tracer.startSpan('fetch').end();
        tracer.startActiveSpan('execute', { kind: 0 }, context.active(), (s) => s.end());
        span.end();
        return 'done';
      }),
    );
    assert.equal(result, 'done', 'the callback’s value is returned');
    assert.deepEqual(await finished(), []);
  });

  it('a context passed explicitly decides: suppressed there, quiet; not suppressed, recorded', async () => {
    telemetry.memory?.reset();
    const tracer = trace.getTracer('library');
    tracer.startActiveSpan('quiet', {}, suppressTracing(ROOT_CONTEXT), (s) => s.end());
    context.with(suppressTracing(ROOT_CONTEXT), () =>
      tracer.startActiveSpan('recorded', {}, ROOT_CONTEXT, (s) => s.end()),
    );
    assert.deepEqual(
      (await finished()).map((s) => s.name),
      ['recorded'],
    );
  });

  it('one tracer per name and version', () => {
    assert.equal(trace.getTracer('a', '1'), trace.getTracer('a', '1'));
    assert.notEqual(trace.getTracer('a', '1'), trace.getTracer('a', '2'));
  });
});
