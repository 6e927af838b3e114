import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { constantTimeEqual, opsRoutes } from './ops.ts';
import { createRegionRouter, type RegionName } from './region-router.ts';
import { fakeClock, scriptedGateways } from './testing.ts';

const TOKEN = 'ops-secret-0123456789';

function setup() {
  const gateways = scriptedGateways({ east: 'http://east.test', west: 'http://west.test' });
  const router = createRegionRouter({
    regions: {
      east: { gatewayUrl: 'http://east.test', hubUrl: 'http://east-hub.test' },
      west: { gatewayUrl: 'http://west.test', hubUrl: 'http://west-hub.test' },
    },
    nearest: 'east',
    writer: 'east',
    fetch: gateways.fetch,
    clock: fakeClock(),
  });
  const changes: Array<{ from: RegionName; to: RegionName }> = [];
  const app = opsRoutes({ router, token: TOKEN, onWriterChange: (c) => changes.push(c) });
  return { app, router, gateways, changes };
}

const auth = (token = TOKEN) => ({ authorization: `Bearer ${token}` });
const putWriter = (body: string, headers: Record<string, string> = auth()) => ({
  method: 'PUT',
  headers: { 'content-type': 'application/json', ...headers },
  body,
});

async function assertProblem(res: Response, status: number, detail: RegExp): Promise<void> {
  assert.equal(res.status, status);
  assert.equal(res.headers.get('content-type'), 'application/problem+json');
  const body = (await res.json()) as { status: number; title: string; detail: string; type: string };
  assert.equal(body.status, status);
  assert.equal(body.type, 'about:blank');
  assert.match(body.detail, detail);
}

describe('ops routes', () => {
  it('GET /ops/regions answers the routing status with the ops token', async () => {
    const { app, router } = setup();
    await router.checkNow();
    const res = await app.request('/ops/regions', { headers: auth() });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const body = (await res.json()) as ReturnType<typeof router.status>;
    assert.equal(body.writer, 'east');
    assert.equal(body.nearest, 'east');
    assert.equal(body.regions.west.healthy, true);
    assert.equal(body.regions.west.breaker, 'closed');
    assert.equal(typeof body.regions.west.lastCheck, 'string');
    assert.equal(body.failovers, 0);
  });

  it('401 problem+json without a token, or with a wrong one', async () => {
    const { app } = setup();
    const none = await app.request('/ops/regions');
    assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="meridian-ops"');
    await assertProblem(none, 401, /ops bearer token/);
    const wrong = await app.request('/ops/regions', { headers: auth(`${TOKEN}x`) });
    assert.match(wrong.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    await assertProblem(wrong, 401, /ops bearer token/);
    const basic = await app.request('/ops/regions', { headers: { authorization: `Basic ${btoa(`ops:${TOKEN}`)}` } });
    assert.equal(basic.status, 401);
  });

  it('accepts the bearer scheme in any case', async () => {
    const { app } = setup();
    const res = await app.request('/ops/regions', { headers: { authorization: `bearer ${TOKEN}` } });
    assert.equal(res.status, 200);
  });

  it('PUT /ops/writer moves the writer and says whether the new writer is routable', async () => {
    const { app, router, changes } = setup();
    const res = await app.request('/ops/writer', putWriter('{"region":"west"}'));
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { writer: 'west', previous: 'east', changed: true, writerRoutable: true });
    assert.equal(router.writer(), 'west');
    assert.deepEqual(router.choose({ write: true }), { region: 'west', reason: 'writer' });
    assert.deepEqual(changes, [{ from: 'east', to: 'west' }]);
    const again = await app.request('/ops/writer', putWriter('{"region":"west"}'));
    assert.equal(((await again.json()) as { changed: boolean }).changed, false);
    assert.equal(changes.length, 1, 'no change, no notification');
  });

  it('moving the writer to a region that is down is allowed, and reported as not routable', async () => {
    const { app, router, gateways } = setup();
    gateways.mode.west = 'error';
    await router.checkNow();
    const res = await app.request('/ops/writer', putWriter('{"region":"west"}'));
    assert.equal(((await res.json()) as { writerRoutable: boolean }).writerRoutable, false);
    assert.deepEqual(router.choose({ write: true }), { region: undefined, reason: 'writer-unavailable' });
  });

  it('400 problem+json for bad bodies, and nothing changes', async () => {
    const { app, router } = setup();
    await assertProblem(await app.request('/ops/writer', putWriter('{"region":')), 400, /must be JSON/);
    await assertProblem(await app.request('/ops/writer', putWriter('{"region":"north"}')), 400, /east, west/);
    await assertProblem(await app.request('/ops/writer', putWriter('null')), 400, /region/);
    await assertProblem(await app.request('/ops/writer', putWriter('"west"')), 400, /region/);
    const big = JSON.stringify({ region: 'west', pad: 'x'.repeat(2000) });
    await assertProblem(await app.request('/ops/writer', putWriter(big)), 400, /at most 1024 bytes/);
    assert.equal(router.writer(), 'east');
  });

  it('PUT /ops/writer without the token is 401 and leaves the writer alone', async () => {
    const { app, router } = setup();
    const res = await app.request('/ops/writer', putWriter('{"region":"west"}', {}));
    await assertProblem(res, 401, /ops bearer token/);
    assert.equal(router.writer(), 'east');
  });

  it('refuses to start without a token', () => {
    const { router } = setup();
    assert.throws(() => opsRoutes({ router, token: '' }), TypeError);
  });
});

describe('constantTimeEqual', () => {
  it('is equality on strings of any length', async () => {
    assert.equal(await constantTimeEqual('abc', 'abc'), true);
    assert.equal(await constantTimeEqual('abc', 'abd'), false);
    assert.equal(await constantTimeEqual('abc', 'abcd'), false);
    assert.equal(await constantTimeEqual('', ''), true);
    assert.equal(await constantTimeEqual('ü', 'u'), false);
  });
});
