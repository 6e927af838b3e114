/** The drills' reports as the drill CLI writes them: `<dir>/drill-<stamp>.json` (+ .html), and latest.json. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { DrillReport } from '../drill/report.ts';
import { DRILL_REPORTS_DIR } from '../drill/report-files.ts';

export { DRILL_REPORTS_DIR };

const REPORT_NAME = /^drill-[0-9A-Za-z-]+\.json$/;

/** Report names, newest first. */
export function listReports(dir = DRILL_REPORTS_DIR): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => REPORT_NAME.test(f))
    .sort()
    .reverse()
    .map((f) => f.replace(/\.json$/, ''));
}

/** A report by name (`drill-<stamp>` or `latest`); undefined when absent or not a report. */
export function readReport(name: string, dir = DRILL_REPORTS_DIR): DrillReport | undefined {
  if (name !== 'latest' && !REPORT_NAME.test(`${name}.json`)) return undefined;
  const file = path.join(dir, `${name}.json`);
  if (!existsSync(file)) return undefined;
  try {
    const report = JSON.parse(readFileSync(file, 'utf8')) as DrillReport;
    return report?.drill === 'failover' && Array.isArray(report.timeline) ? report : undefined;
  } catch {
    return undefined;
  }
}
