import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEdgeMetrics } from './edge-metrics.ts';
import { createRegistry, escapeLabelValue, formatValue, PROMETHEUS_CONTENT_TYPE } from './metrics.ts';

// The format's sample line: metric_name [ "{" label="value" { "," label="value" } [ "," ] "}" ] value [ timestamp ]
const SAMPLE = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*",?)*\})? (\S+)$/;

/** Every line is a HELP, a TYPE or a well-formed sample; the text ends with a line feed. */
function assertWellFormed(text: string): void {
  assert.ok(text.endsWith('\n'), 'the last line must end with a line feed');
  for (const line of text.slice(0, -1).split('\n')) {
    assert.ok(/^# (HELP|TYPE) /.test(line) || SAMPLE.test(line), `malformed line: ${JSON.stringify(line)}`);
  }
}

describe('prometheus registry', () => {
  it('renders HELP and TYPE before the samples of each family', () => {
    const r = createRegistry();
    const c = r.counter({ name: 'jobs_total', help: 'Jobs done.', labelNames: ['queue', 'status'] });
    const g = r.gauge({ name: 'queue_depth', help: 'Items waiting.' });
    c.inc({ queue: 'a', status: 'ok' });
    c.inc({ queue: 'a', status: 'ok' }, 2);
    c.inc({ queue: 'b', status: 'failed' });
    g.set(undefined, 7);
    g.dec(undefined, 2);
    assert.equal(
      r.render(),
      [
        '# HELP jobs_total Jobs done.',
        '# TYPE jobs_total counter',
        'jobs_total{queue="a",status="ok"} 3',
        'jobs_total{queue="b",status="failed"} 1',
        '# HELP queue_depth Items waiting.',
        '# TYPE queue_depth gauge',
        'queue_depth 5',
        '',
      ].join('\n'),
    );
    assert.equal(PROMETHEUS_CONTENT_TYPE, 'text/plain; version=0.0.4; charset=utf-8');
  });

  it('escapes label values (backslash, double quote, line feed) and HELP text (backslash, line feed)', () => {
    const r = createRegistry();
    const c = r.counter({ name: 'files_total', help: 'Paths like C:\\DIR\nsecond line', labelNames: ['path'] });
    c.inc({ path: 'C:\\DIR\\FILE.TXT' });
    c.inc({ path: 'Cannot find file:\n"FILE.TXT"' });
    const text = r.render();
    assert.ok(text.includes('# HELP files_total Paths like C:\\\\DIR\\nsecond line\n'), text);
    assert.ok(text.includes('files_total{path="C:\\\\DIR\\\\FILE.TXT"} 1\n'), text);
    assert.ok(text.includes('files_total{path="Cannot find file:\\n\\"FILE.TXT\\""} 1\n'), text);
    assert.equal(escapeLabelValue('a\\"b\n'), 'a\\\\\\"b\\n');
    assertWellFormed(text);
  });

  it('histogram buckets are cumulative, ordered, end with +Inf equal to _count', () => {
    const r = createRegistry();
    const h = r.histogram({ name: 'latency_seconds', help: 'Latency.', labelNames: ['route'], buckets: [0.1, 0.5, 1] });
    for (const v of [0.05, 0.1, 0.3, 0.7, 0.9, 5]) h.observe({ route: '/graphql' }, v);
    assert.equal(
      r.render(),
      [
        '# HELP latency_seconds Latency.',
        '# TYPE latency_seconds histogram',
        'latency_seconds_bucket{route="/graphql",le="0.1"} 2',
        'latency_seconds_bucket{route="/graphql",le="0.5"} 3',
        'latency_seconds_bucket{route="/graphql",le="1"} 5',
        'latency_seconds_bucket{route="/graphql",le="+Inf"} 6',
        'latency_seconds_sum{route="/graphql"} 7.05',
        'latency_seconds_count{route="/graphql"} 6',
        '',
      ].join('\n'),
    );
  });

  it('a histogram without labels renders zeros before its first observation; the timer observes seconds', async () => {
    const r = createRegistry();
    const h = r.histogram({ name: 'op_seconds', help: 'Op.', buckets: [0.001, 10] });
    assert.ok(r.render().includes('op_seconds_bucket{le="+Inf"} 0\nop_seconds_sum 0\nop_seconds_count 0\n'));
    const stop = h.startTimer();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const seconds = stop();
    assert.ok(seconds > 0.001 && seconds < 10, String(seconds));
    assert.ok(r.render().includes('op_seconds_bucket{le="0.001"} 0\nop_seconds_bucket{le="10"} 1\n'));
  });

  it('formats special values as Go parses them', () => {
    assert.deepEqual([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e-7, 42].map(formatValue), [
      'NaN',
      '+Inf',
      '-Inf',
      '1e-7',
      '42',
    ]);
  });

  it('rejects bad names, undeclared labels, reserved labels, decreasing counters, bad buckets, duplicates', () => {
    const r = createRegistry();
    assert.throws(() => r.counter({ name: 'bad-name', help: 'x' }), /invalid metric name/);
    assert.throws(() => r.counter({ name: 'ok_total', help: 'x', labelNames: ['__reserved'] }), /invalid label/);
    assert.throws(() => r.histogram({ name: 'h', help: 'x', labelNames: ['le'] }), /invalid label/);
    assert.throws(() => r.histogram({ name: 'h2', help: 'x', buckets: [1, 1] }), /strictly increasing/);
    const c = r.counter({ name: 'c_total', help: 'x', labelNames: ['a'] });
    assert.throws(() => c.inc({ a: '1' }, -1), /only goes up/);
    assert.throws(() => c.inc({ b: '1' } as never), /not declared/);
    assert.throws(() => r.counter({ name: 'c_total', help: 'x' }), /already registered/);
  });

  it('renders collected metrics from what their callback reads at render time', () => {
    const r = createRegistry();
    const stats = { hits: 1, misses: 0 };
    r.collect({ name: 'lookups_total', help: 'Lookups.', type: 'counter', labelNames: ['result'] }, () => [
      [{ result: 'hit' }, stats.hits],
      [{ result: 'miss' }, stats.misses],
    ]);
    assert.match(r.render(), /^lookups_total\{result="hit"\} 1$/m);
    stats.hits = 5;
    const text = r.render();
    assertWellFormed(text);
    assert.match(text, /^# TYPE lookups_total counter$/m);
    assert.match(text, /^lookups_total\{result="hit"\} 5$/m);
    r.collect({ name: 'broken_total', help: 'Goes down.', type: 'counter' }, () => [[undefined, -1]]);
    assert.throws(() => r.render(), /only goes up/);
  });
});

describe('edge metrics', () => {
  it('declares every edge metric with known label values at zero, in valid text format', () => {
    const m = createEdgeMetrics({ regions: ['east', 'west'] });
    m.requests.inc({ route: '/graphql', status: 200 });
    m.requestDuration.observe({ route: '/graphql' }, 0.003);
    m.cacheRequests.inc({ result: 'hit' });
    m.cachePurges.inc({ kind: 'soft' });
    m.rateLimited.inc({ bucket: 'client' });
    m.upstreamRequests.inc({ region: 'west' });
    m.failovers.inc({ from: 'east', to: 'west' });
    const text = m.render();
    assertWellFormed(text);
    for (const line of [
      '# TYPE meridian_edge_requests_total counter',
      'meridian_edge_requests_total{route="/graphql",status="200"} 1',
      '# TYPE meridian_edge_request_duration_seconds histogram',
      'meridian_edge_request_duration_seconds_bucket{route="/graphql",le="0.0025"} 0',
      'meridian_edge_request_duration_seconds_bucket{route="/graphql",le="0.005"} 1',
      'meridian_edge_request_duration_seconds_count{route="/graphql"} 1',
      'meridian_edge_cache_requests_total{result="hit"} 1',
      'meridian_edge_cache_requests_total{result="miss"} 0',
      'meridian_edge_cache_requests_total{result="stale"} 0',
      'meridian_edge_cache_requests_total{result="bypass"} 0',
      'meridian_edge_cache_purges_total{kind="soft"} 1',
      'meridian_edge_cache_purges_total{kind="hard"} 0',
      'meridian_edge_rate_limited_total{bucket="client"} 1',
      'meridian_edge_rate_limited_total{bucket="tenant"} 0',
      'meridian_edge_upstream_requests_total{region="east"} 0',
      'meridian_edge_upstream_requests_total{region="west"} 1',
      'meridian_edge_failovers_total{from="east",to="west"} 1',
    ]) {
      assert.ok(text.includes(`${line}\n`), `missing ${line}`);
    }
    assert.equal(text.match(/^# HELP /gm)?.length, 7);
  });
});
