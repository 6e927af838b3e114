import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { batchOptions, maxNewTracesPerSecond, sampleRatio, tracesEndpoint } from './tracing-settings.ts';

describe('the batch span processor settings', () => {
  it('batches of 128 spans at least every 200 ms by default, queue 2,048, export timeout 30 s', () => {
    assert.deepEqual(batchOptions({}), {
      scheduledDelayMillis: 200,
      maxExportBatchSize: 128,
      maxQueueSize: 2048,
      exportTimeoutMillis: 30_000,
    });
  });

  it("takes OpenTelemetry's OTEL_BSP_* variables", () => {
    assert.deepEqual(
      batchOptions({
        OTEL_BSP_SCHEDULE_DELAY: '5000',
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE: ' 512 ',
        OTEL_BSP_MAX_QUEUE_SIZE: '4096',
        OTEL_BSP_EXPORT_TIMEOUT: '1000',
      }),
      { scheduledDelayMillis: 5000, maxExportBatchSize: 512, maxQueueSize: 4096, exportTimeoutMillis: 1000 },
    );
    assert.equal(batchOptions({ OTEL_BSP_SCHEDULE_DELAY: '' }).scheduledDelayMillis, 200, 'empty is unset');
  });

  it('refuses a value that is not a positive integer, naming the variable', () => {
    for (const bad of ['0', '-5', '1.5', 'lots'])
      assert.throws(
        () => batchOptions({ OTEL_BSP_MAX_EXPORT_BATCH_SIZE: bad }),
        new RegExp(`OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "${bad.replace('.', '\\.')}" is not a positive integer`),
      );
  });
});

describe('the sampling ratio and the endpoint', () => {
  it('samples every new trace in development and one in ten in production, unless told', () => {
    assert.equal(sampleRatio({}), 1);
    assert.equal(sampleRatio({ NODE_ENV: 'production' }), 0.1);
    assert.equal(sampleRatio({ NODE_ENV: 'production', MERIDIAN_OTEL_SAMPLE_RATIO: '0.25' }), 0.25);
    assert.equal(sampleRatio({ MERIDIAN_OTEL_SAMPLE_RATIO: '0' }), 0);
    for (const bad of ['1.5', '-0.1', 'half', 'NaN'])
      assert.throws(() => sampleRatio({ MERIDIAN_OTEL_SAMPLE_RATIO: bad }), /MERIDIAN_OTEL_SAMPLE_RATIO/);
  });

  it('caps new traces at 100 a second in production, none in development, unless told', () => {
    assert.equal(maxNewTracesPerSecond({}), Number.POSITIVE_INFINITY);
    assert.equal(maxNewTracesPerSecond({ NODE_ENV: 'production' }), 100);
    assert.equal(
      maxNewTracesPerSecond({ NODE_ENV: 'production', MERIDIAN_OTEL_MAX_NEW_TRACES_PER_SECOND: '250' }),
      250,
    );
    assert.equal(
      maxNewTracesPerSecond({ NODE_ENV: 'production', MERIDIAN_OTEL_MAX_NEW_TRACES_PER_SECOND: 'none' }),
      Number.POSITIVE_INFINITY,
    );
    assert.equal(maxNewTracesPerSecond({ MERIDIAN_OTEL_MAX_NEW_TRACES_PER_SECOND: '0.5' }), 0.5);
    for (const bad of ['0', '-1', 'lots', 'Infinity'])
      assert.throws(
        () => maxNewTracesPerSecond({ MERIDIAN_OTEL_MAX_NEW_TRACES_PER_SECOND: bad }),
        /MERIDIAN_OTEL_MAX_NEW_TRACES_PER_SECOND/,
      );
  });

  it('exports to the traces endpoint, else to the base endpoint with /v1/traces, else nowhere', () => {
    assert.equal(tracesEndpoint({}), undefined);
    assert.equal(tracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: ' ' }), undefined);
    assert.equal(tracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/' }), 'http://c:4318/v1/traces');
    assert.equal(
      tracesEndpoint({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t/x',
      }),
      'http://t/x',
    );
  });
});
