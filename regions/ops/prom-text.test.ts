import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRegistry } from '../../edge/metrics/metrics.ts';
import { parsePromText, samplesOf } from './prom-text.ts';

describe('prometheus text reader', () => {
  it('reads back what the registry renders, escaped label values included', () => {
    const r = createRegistry();
    const c = r.counter({ name: 'x_total', help: 'X.', labelNames: ['path'] });
    c.inc({ path: 'a "quoted"\\path\nnext' }, 3);
    r.gauge({ name: 'y', help: 'Y.' }).set(undefined, Number.POSITIVE_INFINITY);
    r.histogram({ name: 'z_seconds', help: 'Z.', buckets: [1] }).observe(undefined, 0.5);
    const samples = parsePromText(r.render());
    assert.deepEqual(samplesOf(samples, 'x_total'), [
      { name: 'x_total', labels: { path: 'a "quoted"\\path\nnext' }, value: 3 },
    ]);
    assert.equal(samplesOf(samples, 'y')[0]?.value, Number.POSITIVE_INFINITY);
    assert.deepEqual(
      samplesOf(samples, 'z_seconds_bucket').map((s) => [s.labels.le, s.value]),
      [
        ['1', 1],
        ['+Inf', 1],
      ],
    );
  });

  it('skips comments and lines that are not samples', () => {
    assert.deepEqual(parsePromText('# HELP a b\n\nnot a sample line at all\nok 1\n'), [
      { name: 'ok', labels: {}, value: 1 },
    ]);
  });
});
