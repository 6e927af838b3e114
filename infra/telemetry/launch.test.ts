import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { denoTelemetryEnv, nodeTelemetryArgs } from './launch.ts';

describe('telemetry launch settings', () => {
  it('the Deno edge traces itself from the same variables as the Node processes; it only gets its name', () => {
    assert.deepEqual(denoTelemetryEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }, 'e'), {
      OTEL_SERVICE_NAME: 'e',
    });
    assert.deepEqual(
      denoTelemetryEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SERVICE_NAME: 'mine' }, 'e'),
      { OTEL_SERVICE_NAME: 'mine' },
    );
  });

  it("with Deno's built-in chosen: parent-based at the same ratio, OTLP/JSON, its metrics off", () => {
    const env = denoTelemetryEnv(
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
        NODE_ENV: 'production',
        MERIDIAN_EDGE_DENO_OTEL: 'builtin',
      },
      'e',
    );
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
