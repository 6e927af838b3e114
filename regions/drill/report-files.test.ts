import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { DrillReport } from './report.ts';
import { saveReport } from './report-files.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'drill-reports-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const report = (startedAt: string): DrillReport => ({
  drill: 'failover',
  from: 'west',
  to: 'east',
  mode: 'hard',
  startedAt,
  ok: true,
  measurements: {
    timeToDetectMs: 20,
    rtoMs: 400,
    rpoOrders: 0,
    rpoWindowMs: 0,
    reconcileMs: 30_000,
    acknowledgedOrders: 3,
    acknowledgedMessages: 2,
    acknowledgedPosts: 1,
  },
  errorsByOperation: {},
  latency: {},
  events: [],
  timeline: [],
  invariants: [],
});

describe('drill report files', () => {
  it('saves JSON and HTML under the start time, and as latest only when asked', () => {
    const html = saveReport(report('2026-11-30T10:00:00.000Z'), { dir });
    assert.equal(html, path.join(dir, 'drill-2026-11-30T10-00-00-000Z.html'));
    saveReport(report('2026-11-30T11:00:00.000Z'), { dir, latest: true });
    assert.deepEqual(readdirSync(dir).sort(), [
      'drill-2026-11-30T10-00-00-000Z.html',
      'drill-2026-11-30T10-00-00-000Z.json',
      'drill-2026-11-30T11-00-00-000Z.html',
      'drill-2026-11-30T11-00-00-000Z.json',
      'latest.html',
      'latest.json',
    ]);
    const latest = JSON.parse(readFileSync(path.join(dir, 'latest.json'), 'utf8')) as DrillReport;
    assert.equal(latest.startedAt, '2026-11-30T11:00:00.000Z');
    assert.match(readFileSync(path.join(dir, 'latest.html'), 'utf8'), /chat messages, posts<\/th><td>2, 1/);
  });
});
