/**
 * The ops console in Debian's Chromium, driven by Playwright as an operator would: a wrong token
 * is refused, both regions' health and the writer with its epoch show, a real order placed in a
 * region appears in the live event stream, the cache hit ratio appears once the region's cache
 * is used, and the last drill report renders its timeline. Two real regions in-process (commerce
 * on scratch databases, so no shared writer lease moves), the shared Kafka, Redis and MM2.
 * Screenshots: .stack/reports/console/.
 * Starting a real drill from the console is e2e/ops-console-drill.int.test.ts (run it alone).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright';
import { uniqueName } from '../infra/adapters/testing.ts';
import { paths } from '../infra/stack/paths.ts';
import { commerceModule } from '../regions/commerce/module.ts';
import { errorsByOperation, latencyByOperation, reportHtml, timeline } from '../regions/drill/report.ts';
import type { Attempt } from '../regions/drill/traffic.ts';
import { east } from '../regions/east.ts';
import { listen } from '../regions/host/http.ts';
import { type IsolatedRegion, isolatedRegion, testIdentity } from '../regions/host/testing.ts';
import type { Identity } from '../regions/identity/identity.ts';
import { consoleApp } from '../regions/ops/console.ts';
import { createDrillRunner } from '../regions/ops/drill-runner.ts';
import { createEventFeed, type EventFeed } from '../regions/ops/event-feed.ts';
import { west } from '../regions/west.ts';
import { type EdgeProcess, startEdge } from './support/edge-process.ts';

const TOKEN = `ops-${randomUUID()}`;
const EDGE_OPS = `edge-ops-${randomUUID()}`;
export const SCREENSHOTS = path.join(paths.root, 'reports', 'console');

let identity: Identity;
let regions: IsolatedRegion[] = [];
let feed: EventFeed;
let edge: EdgeProcess;
let server: Awaited<ReturnType<typeof listen>>;
let base: string;
let browser: Browser;
let page: Page;
/** The console's reports folder: a scratch one with one report written by the test. */
let reportsDir: string | undefined;

/** A drill report written the way regions/drill/main.ts writes one, from a run's attempts. */
function writeReport(dir: string): void {
  const attempts: Attempt[] = Array.from({ length: 30 }, (_, i) => ({
    at: i * 200,
    op: i % 3 === 0 ? 'placeOrder' : 'readProducts',
    write: i % 3 === 0,
    edge: 'edge-1',
    ok: !(i >= 10 && i < 14),
    status: i >= 10 && i < 14 ? 503 : 200,
    ...(i >= 10 && i < 14 ? { code: 'UNAVAILABLE' } : {}),
    latencyMs: 20 + i * 3,
  }));
  const report = {
    drill: 'failover' as const,
    from: 'east',
    to: 'west',
    mode: 'soft' as const,
    startedAt: new Date().toISOString(),
    ok: true,
    measurements: {
      timeToDetectMs: 900,
      rtoMs: 1800,
      rpoOrders: 0,
      rpoWindowMs: 0,
      reconcileMs: 3000,
      acknowledgedOrders: 10,
    },
    errorsByOperation: errorsByOperation(attempts),
    latency: latencyByOperation(attempts),
    events: [
      { at: 2000, label: 'east killed' },
      { at: 2900, label: 'every edge sees east down' },
      { at: 3800, label: 'writer moved to west' },
    ],
    timeline: timeline(attempts, 6),
    invariants: [{ name: 'no acknowledged order lost', ok: true, detail: '10 of 10 present in both regions' }],
  };
  const stamp = report.startedAt.replace(/[:.]/g, '-');
  for (const name of [`drill-${stamp}`, 'latest']) {
    writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(report));
    writeFileSync(path.join(dir, `${name}.html`), reportHtml(report as Parameters<typeof reportHtml>[0]));
  }
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

async function signIn(): Promise<void> {
  await page.goto(`${base}/login`);
  await page.fill('#token', TOKEN);
  await page.click('#sign-in');
  await page.waitForSelector('#region-east');
}

before(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  identity = testIdentity();
  regions = await Promise.all(
    [east, west].map((profile) => isolatedRegion(profile, [commerceModule], { identity, processors: false })),
  );
  // The edge (Deno) in front of both regions: the console shows its routing view too.
  const [e, w] = regions.map((r) => r.region) as [IsolatedRegion['region'], IsolatedRegion['region']];
  edge = await startEdge('deno', {
    MERIDIAN_EDGE_EAST_GATEWAY_URL: `http://127.0.0.1:${e.gatewayPort}`,
    MERIDIAN_EDGE_EAST_HUB_URL: `http://127.0.0.1:${e.hubPort}`,
    MERIDIAN_EDGE_WEST_GATEWAY_URL: `http://127.0.0.1:${w.gatewayPort}`,
    MERIDIAN_EDGE_WEST_HUB_URL: `http://127.0.0.1:${w.hubPort}`,
    MERIDIAN_JWKS_URL: `http://127.0.0.1:${e.gatewayPort}/.well-known/jwks.json`,
    MERIDIAN_EDGE_HEALTH_INTERVAL_MS: '200',
    MERIDIAN_EDGE_OPS_TOKEN: EDGE_OPS,
  });
  feed = createEventFeed(
    regions.map((r) => ({ name: r.region.config.region, brokers: r.region.config.endpoints.kafkaBrokers })),
  );
  await feed.start();
  reportsDir = mkdtempSync(path.join(tmpdir(), 'meridian-drills-'));
  writeReport(reportsDir);
  const app = consoleApp({
    token: TOKEN,
    regions: regions.map((r) => ({ name: r.region.config.region, url: `http://127.0.0.1:${r.region.gatewayPort}` })),
    edge: { url: edge.url, opsToken: EDGE_OPS },
    feed,
    drills: createDrillRunner(),
    reportsDir,
  });
  server = await listen(app.fetch, 0);
  base = `http://127.0.0.1:${server.port}`;
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
});

after(async () => {
  await browser?.close();
  await server?.close();
  await feed?.stop();
  await edge?.stop();
  await Promise.all(regions.map((r) => r.stop()));
  if (reportsDir) rmSync(reportsDir, { recursive: true, force: true });
});

describe('ops console in Chromium', () => {
  it('refuses a wrong token, and answers the API 401 without one', async () => {
    const res = await fetch(`${base}/api/status`);
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
    await page.goto(`${base}/`);
    assert.match(page.url(), /\/login$/, 'the dashboard sends a stranger to sign in');
    await page.fill('#token', 'not-the-token');
    const [answer] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/login')),
      page.click('#sign-in'),
    ]);
    assert.equal(answer.status(), 401);
    assert.match((await page.textContent('#login-error')) ?? '', /refused/);
    await shot('01-wrong-token');
    assert.equal((await fetch(`${base}/`, { headers: { authorization: 'Bearer nope' } })).status, 401);
  });

  it('shows both regions up with the writer and its epoch, as GET /ops/writer says', async () => {
    await signIn();
    for (const r of regions) {
      const name = r.region.config.region;
      assert.equal(await page.textContent(`#region-${name} .health`), 'up');
      const { leases } = (await (await fetch(`http://127.0.0.1:${r.region.gatewayPort}/ops/writer`)).json()) as {
        leases: Array<{ aggregate: string; writer: string; epoch: number }>;
      };
      const orders = leases.find((l) => l.aggregate === 'orders');
      assert.ok(orders);
      assert.equal(await page.textContent(`#region-${name} .lease[data-aggregate="orders"] .writer`), orders.writer);
      assert.equal(
        await page.textContent(`#region-${name} .lease[data-aggregate="orders"] .epoch`),
        String(orders.epoch),
      );
    }
    const summary = /orders: (east|west) \(epoch (\d+)\)/.exec((await page.textContent('#writer-summary')) ?? '');
    assert.ok(summary);
    // The edge routes to both and sends writes where the regions say.
    await page.waitForFunction(() => document.querySelectorAll('#edge .edge-region td.up').length === 2);
    assert.equal(await page.textContent('#edge .health'), 'up');
    assert.equal(await page.textContent('#edge .writer'), summary[1]);
    assert.equal(await page.textContent('#edge .epoch'), summary[2]);
    // MirrorMaker 2's heartbeats reach both regions: the lag is shown per direction.
    await page.waitForFunction(() =>
      document.querySelector('#region-east .replication')?.textContent?.includes('west → east'),
    );
    await page.waitForFunction(() =>
      document.querySelector('#region-west .replication')?.textContent?.includes('east → west'),
    );
    await shot('02-dashboard');
  });

  it('shows a real order in the live event stream, and the cache hit ratio once the cache is used', async () => {
    await signIn();
    await page.waitForFunction(() => document.querySelector('#stream-state')?.textContent === 'live');
    // Other engineers' traffic shares the stack: follow only order events, as an operator would.
    await page.fill('#event-filter', 'commerce.order.');
    await page.press('#event-filter', 'Enter');
    await page.waitForFunction(() => document.querySelector('#stream-state')?.textContent === 'live');
    const writer = regions[0] as IsolatedRegion;
    const gateway = `http://127.0.0.1:${writer.region.gatewayPort}/graphql`;
    const product = `p-zz-console-${randomUUID().slice(0, 8)}`;
    await writer.region.deps.postgres.pool.query(
      'INSERT INTO products (id, sku, name, price_cents, currency, stock) VALUES ($1, $1, $1, 700, $2, 10)',
      [product, 'USD'],
    );
    const issued = await identity.issuer?.issue({
      sub: uniqueName('buyer'),
      tenant: 't-console',
      scopes: ['orders:write'],
    });
    assert.ok(issued);
    const post = async (query: string, variables: Record<string, unknown>) =>
      (await (
        await fetch(gateway, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${issued.access_token}` },
          body: JSON.stringify({ query, variables }),
        })
      ).json()) as { data?: { placeOrder?: { id: string } }; errors?: unknown[] };
    const placed = await post('mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }', {
      input: { items: [{ productId: product, quantity: 1 }], idempotencyKey: randomUUID(), paymentToken: 'tok_visa' },
    });
    const orderId = placed.data?.placeOrder?.id;
    assert.ok(orderId, JSON.stringify(placed.errors));
    // The order's creation event, as the region's relay published it to Kafka.
    const row = page
      .locator('#events tr.event', { has: page.locator('td.subject', { hasText: orderId }) })
      .filter({ hasText: 'commerce.order.created.v1' })
      .first();
    await row.waitFor({ timeout: 20_000 });
    assert.match((await row.textContent()) ?? '', /t-console/);
    const types = await page.locator('#events tr.event td:nth-child(3)').allTextContents();
    assert.ok(
      types.every((t) => t.startsWith('commerce.order.')),
      `only the filtered types: ${types.join(', ')}`,
    );
    for (let i = 0; i < 3; i++) await post('query($id: ID!) { product(id: $id) { id } }', { id: product });
    // One miss, then hits: the ratio the page shows rises above zero (the cards refresh every 2 s).
    await page.waitForFunction(() => {
      const m = /commerce\s*([\d.]+)%/.exec(document.querySelector('#region-east .cache')?.textContent ?? '');
      return m !== null && Number(m[1]) > 0;
    });
    await shot('03-live-events');
  });

  it('renders the last drill report with its timeline, and refuses a malformed drill request', async () => {
    await signIn();
    await page.click('#last-report');
    await page.waitForSelector('#timeline svg');
    assert.equal(await page.textContent('#verdict'), 'PASSED');
    const events = await page
      .locator('#timeline-events tr')
      .evaluateAll((rows) => rows.map((r) => [...r.children].map((cell) => cell.textContent).join(' ')));
    assert.deepEqual(events, [
      '+2.00 s east killed',
      '+2.90 s every edge sees east down',
      '+3.80 s writer moved to west',
    ]);
    assert.ok((await page.locator('#timeline polyline').count()) >= 3, 'success, writes and p95 lines');
    await shot('04-drill-report');
    const refused = await page.evaluate(async () => {
      const res = await fetch('/api/drill', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ from: 'north' }),
      });
      return { status: res.status, body: await res.json() };
    });
    assert.equal(refused.status, 400);
    assert.match(refused.body.detail, /from: east or west/);
    assert.equal(await page.evaluate(async () => (await fetch('/api/drill')).json()), null, 'no drill was started');
  });
});
