import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { batchOptions } from './otel.ts';

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
