/**
 * An operator starts a real failover drill from the ops console in Chromium, watches its
 * progress, and reads the report it wrote, timeline included. The drill is the real one
 * (`npm run drill` as a child process: its own region processes, short soft traffic), so this
 * takes about a minute and a half and moves the shared writer lease (and back): like
 * e2e/drill.int.test.ts it runs alone in the e2e tier.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright';
import { REGIONS } from '../infra/config/endpoints.ts';
import { paths } from '../infra/stack/paths.ts';
import { regionConfig } from '../regions/config.ts';
import { east } from '../regions/east.ts';
import { listen } from '../regions/host/http.ts';
import { consoleApp } from '../regions/ops/console.ts';
import { createDrillRunner, type DrillRunner } from '../regions/ops/drill-runner.ts';
import { createEventFeed, type EventFeed } from '../regions/ops/event-feed.ts';
import { listReports, readReport } from '../regions/ops/reports.ts';
import { west } from '../regions/west.ts';

const TOKEN = 'console-drill-test-token';
const SCREENSHOTS = path.join(paths.root, 'reports', 'console');

let feed: EventFeed;
let drills: DrillRunner;
let server: Awaited<ReturnType<typeof listen>>;
let base: string;
let browser: Browser;
let page: Page;

before(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const configs = REGIONS.map((r) => regionConfig({ east, west }[r], process.env));
  feed = createEventFeed(configs.map((c) => ({ name: c.region, brokers: c.endpoints.kafkaBrokers })));
  await feed.start();
  drills = createDrillRunner();
  const app = consoleApp({
    token: TOKEN,
    regions: configs.map((c) => ({ name: c.region, url: `http://127.0.0.1:${c.gatewayPort}` })),
    feed,
    drills,
  });
  server = await listen(app.fetch, 0);
  base = `http://127.0.0.1:${server.port}`;
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
});

after(async () => {
  await browser?.close();
  await server?.close();
  await drills?.stop();
  await feed?.stop();
});

/** Waits with `until`; when it gives up, the error carries the drill's last lines (where it was). */
async function duringDrill<T>(what: string, until: () => Promise<T>): Promise<T> {
  try {
    return await until();
  } catch (err) {
    const lines = drills.current()?.lines.slice(-40).join('\n') ?? '(no drill)';
    throw new Error(`${what}: ${(err as Error).message}\nthe drill's last lines:\n${lines}`, { cause: err });
  }
}

describe('failover drill from the ops console', () => {
  it('starts a real drill, shows its progress, and links the report it wrote', { timeout: 600_000 }, async () => {
    const before = new Set(listReports());
    await page.goto(`${base}/login`);
    await page.fill('#token', TOKEN);
    await page.click('#sign-in');
    await page.waitForSelector('#drill-form');
    await page.selectOption('#drill-form select[name=from]', 'east');
    await page.fill('#drill-form input[name=warmup]', '5');
    await page.fill('#drill-form input[name=outage]', '5');
    await page.fill('#drill-form input[name=after]', '3');
    // A light load: reconciliation catches up with what east missed while traffic goes on, and on
    // this machine (the whole stack, two regions, two edges and Chromium on two cores) 10 orders a
    // second took it 60-125 s.
    await page.fill('#drill-form input[name=orders]', '3');
    page.once('dialog', (d) => void d.accept());
    await page.click('#start-drill');
    await page.waitForSelector('#drill-status[data-running="true"]');
    assert.equal(await page.isDisabled('#start-drill'), true, 'one drill at a time');
    // Progress: the drill's own lines, as it goes.
    await duringDrill('the writer moved to west', () =>
      page.waitForFunction(
        () => /writer moved to west/.test(document.querySelector('#drill-log')?.textContent ?? ''),
        undefined,
        { timeout: 300_000 },
      ),
    );
    await page.screenshot({ path: path.join(SCREENSHOTS, '10-drill-running.png'), fullPage: true });
    await duringDrill('the drill ended', () =>
      page.waitForSelector('#drill-status[data-running="false"]', { timeout: 420_000 }),
    );
    assert.match(
      (await page.textContent('#drill-status')) ?? '',
      /passed/,
      (await page.textContent('#drill-log')) ?? '',
    );
    const written = listReports().filter((n) => !before.has(n));
    assert.equal(written.length, 1, 'the drill wrote one new report');
    // What the drill measured (this is the test command's passing drill; e2e/drill.int.test.ts
    // runs the sabotaged one).
    const report = readReport(written[0] as string);
    assert.ok(report, 'the report reads back');
    assert.deepEqual(
      report.invariants.filter((i) => !i.ok),
      [],
      'every invariant holds',
    );
    const m = report.measurements;
    assert.ok(m.acknowledgedOrders > 20, `orders were taken (${m.acknowledgedOrders})`);
    // Chat messages and posts ran beside the orders (2/s each by default) and reached both regions.
    assert.ok((m.acknowledgedMessages ?? 0) > 5, `chat messages were taken (${m.acknowledgedMessages})`);
    assert.ok((m.acknowledgedPosts ?? 0) > 5, `posts were taken (${m.acknowledgedPosts})`);
    assert.deepEqual(
      report.invariants.filter((i) => /chat message|post/.test(i.name)).map((i) => i.ok),
      [true, true],
    );
    assert.ok(m.timeToDetectMs !== null && m.timeToDetectMs < 5000, `detected in ${m.timeToDetectMs} ms`);
    assert.ok(m.rtoMs !== null && m.rtoMs < 10_000, `RTO ${m.rtoMs} ms (design goal < 10 s)`);
    assert.ok(m.reconcileMs !== null, 'reconciled');
    assert.ok(m.backlogAtStart, 'the backlog the regions had at the start is reported');
    assert.ok(
      report.timeline.some((s) => s.writes > 0 && s.writeSuccessRate < 1),
      'the outage shows in the timeline',
    );
    await page.click('#drill-status a');
    await page.waitForSelector('#timeline svg');
    assert.equal(await page.textContent('#verdict'), 'PASSED');
    const labels = await page.locator('#timeline-events td').allTextContents();
    assert.ok(
      labels.some((l) => l.startsWith('writer moved to west')),
      labels.join(' | '),
    );
    await page.screenshot({ path: path.join(SCREENSHOTS, '11-drill-report.png'), fullPage: true });
  });
});
