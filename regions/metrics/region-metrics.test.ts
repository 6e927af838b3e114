import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Hono } from 'hono';
import { createRegistry } from '../../edge/metrics/metrics.ts';
import { parsePromText } from '../ops/prom-text.ts';
import { addBridgeStats } from './bridges.ts';
import { createRegionMetrics } from './region-metrics.ts';
import { heartbeatTime } from './replication.ts';

const value = (text: string, name: string, labels: Record<string, string> = {}) =>
  parsePromText(text).find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    ?.value;

describe('region metrics', () => {
  it('labels HTTP requests by route pattern, never by the ids in the path', async () => {
    const metrics = createRegionMetrics({ region: 'east' });
    const app = new Hono();
    app.use(metrics.http('gateway'));
    app.get('/orders/:id', (c) => c.text(c.req.param('id')));
    app.route('/', metrics.routes());
    await app.request('/orders/a1');
    await app.request('/orders/b2');
    await app.request('/nowhere');
    const text = await (await app.request('/metrics')).text();
    const labels = { server: 'gateway', method: 'GET' };
    assert.equal(
      value(text, 'meridian_region_http_requests_total', { ...labels, route: '/orders/:id', status: '200' }),
      2,
    );
    assert.equal(
      value(text, 'meridian_region_http_requests_total', { ...labels, route: 'unmatched', status: '404' }),
      1,
    );
    assert.ok(!text.includes('a1'), 'no id becomes a label value');
    assert.equal(value(text, 'meridian_region_http_requests_in_flight', { server: 'gateway' }), 1, 'the scrape itself');
    assert.equal(value(text, 'meridian_region_info', { region: 'east' }), 1);
  });

  it('refreshes scrape-time collectors at most once per ttl, and keeps the last values when one fails', async () => {
    const metrics = createRegionMetrics({ region: 'east', ttlMs: 60_000, timeoutMs: 50 });
    const depth = metrics.registry.gauge({ name: 'depth', help: 'Depth.' });
    let calls = 0;
    metrics.addCollector({
      name: 'depth',
      async refresh() {
        calls += 1;
        depth.set(undefined, calls * 10);
      },
    });
    let fail = true;
    metrics.addCollector({
      name: 'stuck',
      refresh: () => (fail ? new Promise(() => {}) : Promise.resolve()),
    });
    const [a, b] = await Promise.all([metrics.render(), metrics.render()]);
    assert.equal(calls, 1, 'concurrent scrapes share one refresh');
    assert.equal(value(a, 'depth'), 10);
    assert.equal(value(b, 'depth'), 10);
    const c = await metrics.render();
    assert.equal(calls, 1, 'within the ttl the measurement is reused');
    assert.equal(value(c, 'meridian_region_scrape_errors_total', { collector: 'stuck' }), 2, 'timed out twice');
    fail = false;
    assert.equal(value(await metrics.render(), 'meridian_region_scrape_errors_total', { collector: 'stuck' }), 2);
  });

  it('counts GraphQL operations by name, keeping the number of names bounded', async () => {
    const metrics = createRegionMetrics({ region: 'east' });
    const plugin = metrics.graphqlPlugin();
    const run = async (name: string | null, errors?: Array<{ extensions?: { code?: string } }>) => {
      const hooks = await plugin.requestDidStart?.({} as never);
      await (hooks as { willSendResponse: (r: unknown) => Promise<void> }).willSendResponse({
        operationName: name,
        operation: { operation: 'query' },
        response: { body: { kind: 'single', singleResult: { errors } } },
        errors: undefined,
      });
    };
    await run('Products');
    await run('Products', [{ extensions: { code: 'BAD_USER_INPUT' } }]);
    await run(null);
    for (let i = 0; i < 205; i++) await run(`Op${i}`);
    const text = await metrics.render();
    const ops = (labels: Record<string, string>) => value(text, 'meridian_region_graphql_operations_total', labels);
    assert.equal(ops({ operation: 'Products', outcome: 'ok' }), 1);
    assert.equal(ops({ operation: 'Products', outcome: 'error' }), 1);
    assert.equal(
      value(text, 'meridian_region_graphql_errors_total', { operation: 'Products', code: 'BAD_USER_INPUT' }),
      1,
    );
    assert.equal(ops({ operation: 'anonymous', outcome: 'ok' }), 1);
    assert.equal(ops({ operation: 'other', outcome: 'ok' }), 6, 'names past the first 200 count as other');
  });
});

describe('metrics token', () => {
  it('when set, /metrics needs it as a bearer token, and a wrong one counts as an auth failure', async () => {
    const metrics = createRegionMetrics({ region: 'east', token: 'scrape-secret' });
    const app = metrics.routes();
    assert.equal((await app.request('/metrics')).status, 401);
    assert.equal((await app.request('/metrics', { headers: { authorization: 'Bearer nope' } })).status, 401);
    const ok = await app.request('/metrics', { headers: { authorization: 'Bearer scrape-secret' } });
    assert.equal(ok.status, 200);
    assert.equal(value(await ok.text(), 'meridian_region_auth_failures_total', { surface: 'metrics' }), 2);
  });
});

describe('bridge stats', () => {
  it('puts every bridge of a process under one family, each once', () => {
    const registry = createRegistry();
    const amqp = { produced: 3, deadLettered: 1 };
    addBridgeStats(registry, 'amqp', () => amqp);
    addBridgeStats(registry, 'mqtt', () => ({ received: 9, produced: 8, deadLettered: 1 }));
    amqp.produced = 4;
    const text = registry.render();
    assert.equal(value(text, 'meridian_bridge_messages_total', { bridge: 'amqp', outcome: 'produced' }), 4);
    assert.equal(value(text, 'meridian_bridge_messages_total', { bridge: 'mqtt', outcome: 'received' }), 9);
    assert.equal(value(text, 'meridian_bridge_messages_total', { bridge: 'amqp', outcome: 'received' }), undefined);
    assert.throws(() => addBridgeStats(registry, 'amqp', () => amqp), /already reports/);
  });
});

describe('MirrorMaker 2 heartbeat', () => {
  it('reads the emission time after the version header, else the record timestamp', () => {
    // As MM2 wrote one here (kcat): INT16 version 0, INT64 timestamp.
    const value = Buffer.from('0000000001a22d2c2ea7', 'hex');
    assert.equal(heartbeatTime(value, '1'), 0x1a22d2c2ea7);
    assert.equal(heartbeatTime(Buffer.from('x'), '1796054199975'), 1796054199975);
  });
});
