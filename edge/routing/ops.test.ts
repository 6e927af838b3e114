import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { constantTimeEqual, opsRoutes } from './ops.ts';
import { createRegionRouter, type RegionName } from './region-router.ts';
import { fakeClock } from './testing.ts';

const TOKEN = 'ops-secret-0123456789';
const REGION_TOKEN = 'region-ops-secret';

/**
 * Two scripted regions that hold a writer lease as the real ones do: `/health` reports it,
 * `PUT /ops/writer` adopts a higher epoch (200) or answers 409 with the newer lease it holds.
 */
function leaseRegions() {
  const lease = { writer: 'east', epoch: 0 };
  const leases: Record<RegionName, { writer: string; epoch: number }> = { east: { ...lease }, west: { ...lease } };
  const down: Record<RegionName, boolean> = { east: false, west: false };
  const puts: Array<{ region: RegionName; body: unknown; token: string | null }> = [];
  const fetchFn: typeof fetch = async (input, init) => {
    const url = new URL(String(input));
    const region: RegionName = url.hostname.startsWith('east') ? 'east' : 'west';
    if (down[region]) throw new TypeError('fetch failed: connection refused');
    const json = (body: unknown, status = 200) => Response.json(body, { status });
    if (url.pathname === '/health')
      return json({ status: 'ok', writers: [{ aggregate: 'orders', ...leases[region] }] });
    if (url.pathname === '/ops/writer' && init?.method === 'PUT') {
      const token = new Headers(init.headers).get('authorization');
      const body = JSON.parse(String(init.body)) as { region: string; epoch: number };
      puts.push({ region, body, token });
      if (token !== `Bearer ${REGION_TOKEN}`) return json({ title: 'Unauthorized' }, 401);
      const held = leases[region];
      if (body.epoch <= held.epoch) return json({ leases: [{ aggregate: 'orders', ...held }], moved: false }, 409);
      leases[region] = { writer: body.region, epoch: body.epoch };
      return json({ leases: [{ aggregate: 'orders', ...leases[region] }], moved: true });
    }
    return json({}, 404);
  };
  return { leases, down, puts, fetch: fetchFn };
}

function edgeOn(regions: ReturnType<typeof leaseRegions>) {
  const router = createRegionRouter({
    regions: {
      east: { gatewayUrl: 'http://east.test', hubUrl: 'http://east-hub.test' },
      west: { gatewayUrl: 'http://west.test', hubUrl: 'http://west-hub.test' },
    },
    nearest: 'east',
    writer: 'east',
    fetch: regions.fetch,
    clock: fakeClock(),
  });
  const changes: Array<{ from: RegionName; to: RegionName; epoch: number }> = [];
  const app = opsRoutes({
    router,
    token: TOKEN,
    regionToken: REGION_TOKEN,
    fetch: regions.fetch,
    onWriterChange: (c) => changes.push(c),
  });
  return { app, router, changes };
}

function setup() {
  const regions = leaseRegions();
  return { ...edgeOn(regions), regions };
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

  it('PUT /ops/writer moves the writer in every region under a new epoch, with the region ops token', async () => {
    const { app, router, changes, regions } = setup();
    const res = await app.request('/ops/writer', putWriter('{"region":"west"}'));
    assert.equal(res.status, 200);
    const body = (await res.json()) as { writer: string; epoch: number; previous: string; regions: unknown[] };
    assert.deepEqual([body.writer, body.epoch, body.previous], ['west', 1, 'east']);
    assert.deepEqual(regions.leases, { east: { writer: 'west', epoch: 1 }, west: { writer: 'west', epoch: 1 } });
    assert.ok(regions.puts.every((p) => p.token === `Bearer ${REGION_TOKEN}`));
    assert.deepEqual([router.writer(), router.writerEpoch()], ['west', 1]);
    assert.deepEqual(router.choose({ write: true }), { region: 'west', reason: 'writer' });
    assert.deepEqual(changes, [{ from: 'east', to: 'west', epoch: 1 }]);
    const back = await app.request('/ops/writer', putWriter('{"region":"east"}'));
    assert.equal(((await back.json()) as { epoch: number }).epoch, 2, 'every move is a new epoch');
  });

  it('a move reaches the region that is up; the one that is down is named unreachable', async () => {
    const { app, router, regions } = setup();
    regions.down.east = true;
    await router.checkNow();
    const res = await app.request('/ops/writer', putWriter('{"region":"west"}'));
    assert.equal(res.status, 200);
    const body = (await res.json()) as { regions: Array<{ region: string; outcome: string }> };
    assert.deepEqual(
      body.regions.map((r) => [r.region, r.outcome]),
      [
        ['east', 'unreachable'],
        ['west', 'moved'],
      ],
    );
    assert.deepEqual(regions.leases.east, { writer: 'east', epoch: 0 }, 'east learns it from its peer when it returns');
  });

  it('no region reachable: 503, and the writer stays where it was', async () => {
    const { app, router, regions } = setup();
    regions.down.east = true;
    regions.down.west = true;
    const res = await app.request('/ops/writer', putWriter('{"region":"west"}'));
    assert.equal(res.status, 503);
    assert.deepEqual([router.writer(), router.writerEpoch()], ['east', 0]);
  });

  it('two edges agree: the other edge learns the move from the regions within one health check', async () => {
    const regions = leaseRegions();
    const a = edgeOn(regions);
    const b = edgeOn(regions);
    assert.equal((await a.app.request('/ops/writer', putWriter('{"region":"west"}'))).status, 200);
    assert.deepEqual([b.router.writer(), b.router.writerEpoch()], ['east', 0]);
    await b.router.checkNow();
    assert.deepEqual([b.router.writer(), b.router.writerEpoch()], ['west', 1]);
    // An edge that missed moves proposes a stale epoch: the regions answer 409 with the newer
    // lease, the edge adopts it, and the move can be retried at the right epoch.
    assert.equal((await a.app.request('/ops/writer', putWriter('{"region":"east"}'))).status, 200);
    const stale = await b.app.request('/ops/writer', putWriter('{"region":"west"}'));
    assert.equal(stale.status, 409);
    assert.deepEqual([b.router.writer(), b.router.writerEpoch()], ['east', 2]);
    assert.equal((await b.app.request('/ops/writer', putWriter('{"region":"west"}'))).status, 200);
    assert.deepEqual(regions.leases.east, { writer: 'west', epoch: 3 });
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
    assert.throws(() => opsRoutes({ router, token: '', regionToken: undefined, fetch }), TypeError);
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
