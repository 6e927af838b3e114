import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type DrillReport, errorsByOperation, latencyByOperation, quantile, reportHtml, timeline } from './report.ts';
import type { Attempt } from './traffic.ts';

const attempt = (at: number, ok: boolean, overrides: Partial<Attempt> = {}): Attempt => ({
  at,
  op: 'placeOrder',
  write: true,
  edge: 'edge-deno',
  ok,
  status: ok ? 200 : 503,
  latencyMs: 10,
  ...(ok ? {} : { code: 'WRITER_UNAVAILABLE' }),
  ...overrides,
});

describe('drill report', () => {
  it('quantiles by nearest rank', () => {
    assert.equal(quantile([], 0.95), 0);
    assert.equal(quantile([5, 1, 3, 2, 4], 0.5), 3);
    assert.equal(
      quantile(
        Array.from({ length: 100 }, (_, i) => i + 1),
        0.95,
      ),
      95,
    );
    assert.equal(quantile([7], 0.99), 7);
  });

  it('the timeline says per second what clients saw, writes apart', () => {
    const t = timeline(
      [
        attempt(100, true, { latencyMs: 5 }),
        attempt(900, false),
        attempt(1100, false),
        attempt(1500, true, { op: 'readProducts', write: false, latencyMs: 40 }),
      ],
      3,
    );
    assert.deepEqual(
      t.map((s) => [s.second, s.requests, s.successRate, s.writes, s.writeSuccessRate, s.p95Ms]),
      [
        [0, 2, 0.5, 2, 0.5, 10],
        [1, 2, 0.5, 1, 0, 40],
        [2, 0, 1, 0, 1, 0],
      ],
    );
  });

  it('counts errors by operation and code, and latency by operation', () => {
    const attempts = [attempt(1, false), attempt(2, false, { status: 0, code: undefined }), attempt(3, true)];
    assert.deepEqual(errorsByOperation(attempts), { placeOrder: { WRITER_UNAVAILABLE: 1, 'no answer': 1 } });
    assert.deepEqual(latencyByOperation(attempts), { placeOrder: { p50: 10, p95: 10, p99: 10, count: 3 } });
  });

  it('the HTML page carries the verdict, the measurements, each invariant and the timeline chart, escaped', () => {
    const report: DrillReport = {
      drill: 'failover',
      from: 'east',
      to: 'west',
      mode: 'soft',
      startedAt: '2026-11-30T00:00:00.000Z',
      ok: false,
      measurements: {
        timeToDetectMs: 250,
        rtoMs: 2100,
        rpoOrders: 1,
        rpoWindowMs: 80,
        reconcileMs: 9000,
        backlogAtStart: { east: 0, west: 1234 },
        settleMs: 4500,
        acknowledgedOrders: 40,
      },
      errorsByOperation: { placeOrder: { WRITER_UNAVAILABLE: 3 } },
      latency: { placeOrder: { p50: 9, p95: 20, p99: 30, count: 40 } },
      events: [{ at: 5000, label: 'east down <killed>' }],
      timeline: timeline([attempt(100, true)], 10),
      invariants: [
        { name: 'no payment taken twice', ok: true, detail: '40 orders charged, each once' },
        { name: 'histories converged', ok: false, detail: 'differ: x' },
      ],
    };
    const html = reportHtml(report);
    assert.match(html, /id="verdict">FAILED</);
    assert.match(html, /RTO[^<]*<\/th><td>2\.10 s/);
    assert.match(html, /backlog found at the start[^<]*<\/th><td>east 0, west 1234 records; 4\.50 s/);
    assert.match(html, /✖ histories converged/);
    assert.match(html, /<svg [^>]*role="img"/);
    assert.match(html, /east down &lt;killed&gt;/);
    assert.doesNotMatch(html, /<killed>/);
  });
});
