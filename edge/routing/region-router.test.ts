import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createBreaker } from './breaker.ts';
import { chooseRegion, createRegionRouter, type RegionName, type RegionRouterOptions } from './region-router.ts';
import { fakeClock, scriptedGateways } from './testing.ts';

const URLS = { east: 'http://127.0.0.1:41000', west: 'http://127.0.0.1:42000' };
const REGIONS = {
  east: { gatewayUrl: URLS.east, hubUrl: 'http://127.0.0.1:41001' },
  west: { gatewayUrl: URLS.west, hubUrl: 'http://127.0.0.1:42001' },
};

/** A started router over scripted gateways on a fake clock (interval 1000, timeout 500, threshold 2, open 2000). */
async function setup(overrides: Partial<RegionRouterOptions> = {}) {
  const clock = fakeClock();
  const gateways = scriptedGateways(URLS);
  const router = createRegionRouter({
    regions: REGIONS,
    nearest: 'east',
    writer: 'east',
    fetch: gateways.fetch,
    clock,
    ...overrides,
  });
  router.start();
  await clock.advance(0);
  return { clock, gateways, router };
}

describe('chooseRegion (pure)', () => {
  const up =
    (...names: RegionName[]) =>
    (r: RegionName) =>
      names.includes(r);
  const base = { nearest: 'east', writer: 'east' } as const;

  it('prefers a valid hint, then the nearest, then any routable region', () => {
    assert.deepEqual(chooseRegion({ ...base, routable: up('east', 'west'), hint: 'west' }), {
      region: 'west',
      reason: 'hint',
    });
    assert.deepEqual(chooseRegion({ ...base, routable: up('east', 'west') }), { region: 'east', reason: 'nearest' });
    assert.deepEqual(chooseRegion({ ...base, routable: up('west') }), {
      region: 'west',
      reason: 'failover',
      from: 'east',
    });
    assert.deepEqual(chooseRegion({ ...base, routable: up() }), { region: undefined, reason: 'no-healthy-region' });
  });

  it('reads the hint case-insensitively and ignores unknown values', () => {
    assert.equal(chooseRegion({ ...base, routable: up('east', 'west'), hint: ' WEST ' }).region, 'west');
    const unknown = chooseRegion({ ...base, routable: up('east', 'west'), hint: 'north' });
    assert.deepEqual(unknown, { region: 'east', reason: 'nearest' });
  });

  it('a hinted region that is down fails over to the nearest', () => {
    assert.deepEqual(chooseRegion({ ...base, routable: up('east'), hint: 'west' }), {
      region: 'east',
      reason: 'failover',
      from: 'west',
    });
  });

  it('writes go to the writer only, whatever the hint', () => {
    assert.deepEqual(chooseRegion({ ...base, routable: up('east', 'west'), hint: 'west', write: true }), {
      region: 'east',
      reason: 'writer',
    });
    assert.deepEqual(chooseRegion({ ...base, routable: up('west'), write: true }), {
      region: undefined,
      reason: 'writer-unavailable',
    });
  });
});

describe('breaker', () => {
  it('opens after the threshold, half-opens after openMs with one probe, and closes on success', () => {
    let now = 0;
    const b = createBreaker({ failureThreshold: 2, openMs: 100, now: () => now });
    b.failure();
    assert.equal(b.state(), 'closed');
    b.success();
    assert.equal(b.consecutiveFailures(), 0);
    b.failure();
    b.failure();
    assert.equal(b.state(), 'open');
    assert.equal(b.tryProbe(), false);
    b.success(); // a late answer from before it opened
    assert.equal(b.state(), 'open');
    now = 100;
    assert.equal(b.state(), 'half-open');
    assert.equal(b.tryProbe(), true);
    assert.equal(b.tryProbe(), false, 'only one probe at a time');
    b.failure();
    assert.equal(b.state(), 'open', 'a failed probe opens it again');
    now = 200;
    assert.equal(b.tryProbe(), true);
    b.success();
    assert.equal(b.state(), 'closed');
    assert.equal(b.consecutiveFailures(), 0);
  });

  it('rejects a threshold below one', () => {
    assert.throws(() => createBreaker({ failureThreshold: 0, openMs: 1, now: () => 0 }), TypeError);
  });
});

describe('region router', () => {
  it('checks every gateway at start and routes to the nearest', async () => {
    const { gateways, router } = await setup();
    assert.deepEqual(gateways.checks, { east: 1, west: 1 });
    assert.deepEqual(router.choose(), { region: 'east', reason: 'nearest' });
    const status = router.status();
    assert.equal(status.regions.east.healthy, true);
    assert.equal(status.regions.east.breaker, 'closed');
    assert.match(status.regions.east.lastCheck ?? '', /^2030-01-01T/);
    assert.equal(status.failovers, 0);
    router.stop();
  });

  it('a failing gateway loses its traffic within one interval, then its breaker opens', async () => {
    const { clock, gateways, router } = await setup();
    gateways.mode.east = 'error';
    await clock.advance(1000);
    assert.deepEqual(router.choose(), { region: 'west', reason: 'failover', from: 'east' });
    assert.equal(router.status().failovers, 1);
    let east = router.status().regions.east;
    assert.equal(east.healthy, false);
    assert.equal(east.lastError, 'HTTP 503');
    assert.equal(east.consecutiveFailures, 1);
    assert.equal(east.breaker, 'closed');
    await clock.advance(1000);
    east = router.status().regions.east;
    assert.equal(east.breaker, 'open');
    assert.equal(east.consecutiveFailures, 2);
    router.choose();
    assert.equal(router.status().failovers, 2, 'every request sent elsewhere counts');
    router.stop();
  });

  it('an open breaker stops checks for openMs, then lets one probe through', async () => {
    const { clock, gateways, router } = await setup();
    gateways.mode.east = 'refused';
    await clock.advance(2000); // two failures: open at t=2000
    assert.equal(router.status().regions.east.breaker, 'open');
    const before = gateways.checks.east;
    await clock.advance(1000); // t=3000: still open, no check
    assert.equal(gateways.checks.east, before);
    await clock.advance(1000); // t=4000: half-open, one probe, still refused → open again
    assert.equal(gateways.checks.east, before + 1);
    assert.equal(router.status().regions.east.breaker, 'open');
    assert.match(router.status().regions.east.lastError ?? '', /refused/);
    assert.equal(router.choose().region, 'west');
    router.stop();
  });

  it('traffic returns to the nearest region once it recovers', async () => {
    const { clock, gateways, router } = await setup();
    gateways.mode.east = 'error';
    await clock.advance(2000);
    assert.equal(router.choose().region, 'west');
    gateways.mode.east = 'ok';
    await clock.advance(2000); // t=4000: openMs after opening → the probe passes
    assert.equal(router.status().regions.east.breaker, 'closed');
    assert.deepEqual(router.choose(), { region: 'east', reason: 'nearest' });
    router.stop();
  });

  it('a gateway that does not answer within healthTimeoutMs counts as failed', async () => {
    const { clock, gateways, router } = await setup();
    gateways.mode.east = 'hang';
    await clock.advance(1000);
    assert.equal(router.choose().region, 'east', 'still waiting for the answer');
    await clock.advance(500);
    assert.equal(router.status().regions.east.healthy, false);
    assert.match(router.status().regions.east.lastError ?? '', /no answer within 500 ms/);
    assert.equal(router.choose().region, 'west');
    router.stop();
  });

  it('a fetch that ignores its abort signal still times out', async () => {
    const hanging: typeof fetch = () => new Promise(() => {});
    const { clock, router } = await setup({ fetch: hanging });
    await clock.advance(500);
    assert.equal(router.status().regions.east.healthy, false);
    router.stop();
  });

  it('honours the hint while that region is healthy', async () => {
    const { clock, gateways, router } = await setup();
    assert.deepEqual(router.choose({ hint: 'west' }), { region: 'west', reason: 'hint' });
    gateways.mode.west = 'error';
    await clock.advance(1000);
    assert.deepEqual(router.choose({ hint: 'west' }), { region: 'east', reason: 'failover', from: 'west' });
    gateways.mode.west = 'ok';
    await clock.advance(1000);
    assert.deepEqual(router.choose({ hint: 'west' }), { region: 'west', reason: 'hint' });
    router.stop();
  });

  it('writes go to the writer; when it is down there is no region, never the other one', async () => {
    const { clock, gateways, router } = await setup();
    assert.deepEqual(router.choose({ write: true, hint: 'west' }), { region: 'east', reason: 'writer' });
    gateways.mode.east = 'error';
    await clock.advance(1000);
    assert.deepEqual(router.choose({ write: true }), { region: undefined, reason: 'writer-unavailable' });
    assert.equal(router.status().failovers, 0, 'a refused write is not a failover');
    router.setWriter('west');
    assert.equal(router.writer(), 'west');
    assert.deepEqual(router.choose({ write: true }), { region: 'west', reason: 'writer' });
    assert.equal(router.status().writer, 'west');
    assert.throws(() => router.setWriter('north' as RegionName), TypeError);
    router.stop();
  });

  it('reported request failures open the breaker even while /health passes', async () => {
    const { clock, router } = await setup();
    router.reportResult('east', false);
    assert.equal(router.choose().region, 'east', 'one failure is below the threshold');
    router.reportResult('east', false);
    assert.equal(router.status().regions.east.breaker, 'open');
    assert.equal(router.status().regions.east.healthy, true);
    assert.equal(router.choose().region, 'west');
    await clock.advance(2000); // half-open; the next tick's probe passes
    assert.equal(router.status().regions.east.breaker, 'closed');
    assert.equal(router.choose().region, 'east');
    router.stop();
  });

  it('a success between failures resets the count', async () => {
    const { router } = await setup();
    router.reportResult('east', false);
    router.reportResult('east', true);
    router.reportResult('east', false);
    assert.equal(router.status().regions.east.breaker, 'closed');
    assert.equal(router.status().regions.east.consecutiveFailures, 1);
    router.stop();
  });

  it('no routable region → no region', async () => {
    const { clock, gateways, router } = await setup();
    gateways.mode.east = 'error';
    gateways.mode.west = 'error';
    await clock.advance(1000);
    assert.deepEqual(router.choose(), { region: undefined, reason: 'no-healthy-region' });
    router.stop();
  });

  it('a probe abandoned by stop() does not keep the breaker half-open after a restart', async () => {
    const { clock, gateways, router } = await setup();
    gateways.mode.east = 'error';
    await clock.advance(2000);
    gateways.mode.east = 'hang';
    await clock.advance(2000); // t=4000: the half-open probe hangs
    assert.equal(router.status().regions.east.breaker, 'half-open');
    router.stop();
    gateways.mode.east = 'ok';
    router.start();
    await clock.advance(0);
    assert.equal(router.status().regions.east.breaker, 'closed');
    assert.equal(router.choose().region, 'east');
    router.stop();
  });

  it('stop() ends polling and leaves no timer behind', async () => {
    const { clock, gateways, router } = await setup();
    router.stop();
    const before = { ...gateways.checks };
    await clock.advance(5000);
    assert.deepEqual(gateways.checks, before);
    assert.equal(clock.pending, 0);
  });

  it('checks <gatewayUrl>/health, keeping a path prefix', async () => {
    const seen: string[] = [];
    const recording: typeof fetch = (input) => {
      seen.push(String(input));
      return Promise.resolve(new Response('ok'));
    };
    const router = createRegionRouter({
      regions: {
        east: { gatewayUrl: 'http://gw.example/east/', hubUrl: 'http://hub.example' },
        west: REGIONS.west,
      },
      nearest: 'east',
      writer: 'east',
      fetch: recording,
      clock: fakeClock(),
    });
    await router.checkNow();
    assert.deepEqual(seen.sort(), ['http://127.0.0.1:42000/health', 'http://gw.example/east/health']);
    assert.equal(router.endpoints('east').hubUrl, 'http://hub.example');
  });

  it('rejects a configuration with an unknown region or a bad URL', () => {
    const opts = { regions: REGIONS, nearest: 'east', writer: 'east' } as const;
    assert.throws(() => createRegionRouter({ ...opts, nearest: 'north' as RegionName }), /nearest/);
    assert.throws(
      () => createRegionRouter({ ...opts, regions: { ...REGIONS, west: { gatewayUrl: 'nope', hubUrl: 'x' } } }),
      /regions\.west\.gatewayUrl/,
    );
    assert.throws(() => createRegionRouter({ ...opts, healthIntervalMs: 0 }), /healthIntervalMs/);
  });
});
