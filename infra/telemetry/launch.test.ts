import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { denoTelemetryEnv, nodeTelemetryArgs, sampleRatio } from './launch.ts';

describe('telemetry launch settings', () => {
  it('samples every new trace in development and one in ten in production, unless told', () => {
    assert.equal(sampleRatio({}), 1);
    assert.equal(sampleRatio({ NODE_ENV: 'production' }), 0.1);
    assert.equal(sampleRatio({ NODE_ENV: 'production', MERIDIAN_OTEL_SAMPLE_RATIO: '0.25' }), 0.25);
    assert.equal(sampleRatio({ MERIDIAN_OTEL_SAMPLE_RATIO: '0' }), 0);
    for (const bad of ['1.5', '-0.1', 'half', 'NaN'])
      assert.throws(() => sampleRatio({ MERIDIAN_OTEL_SAMPLE_RATIO: bad }), /MERIDIAN_OTEL_SAMPLE_RATIO/);
  });

  it('the Deno edge samples parent-based at the same ratio, exports OTLP/JSON, and keeps its metrics off', () => {
    const env = denoTelemetryEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', NODE_ENV: 'production' }, 'e');
    assert.deepEqual(env, {
      OTEL_DENO: 'true',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'e',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.1',
      OTEL_DENO_METRICS: 'false',
      OTEL_DENO_CONSOLE: 'ignore',
    });
  });

  it('nothing is traced without an endpoint (Deno) or with MERIDIAN_OTEL=off (both)', () => {
    assert.deepEqual(denoTelemetryEnv({}, 'e'), {});
    assert.deepEqual(denoTelemetryEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x', MERIDIAN_OTEL: 'off' }, 'e'), {});
    assert.deepEqual(nodeTelemetryArgs({ MERIDIAN_OTEL: 'off' }), []);
    assert.equal(nodeTelemetryArgs({})[0], '--import');
  });
});
