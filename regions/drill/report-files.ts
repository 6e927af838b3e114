/**
 * Where drill reports are kept (.stack/reports/drills/, read by the ops console) and how one is
 * saved: JSON and HTML under a name from its start time, optionally also as latest.json/html.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { paths } from '../../infra/stack/paths.ts';
import { type DrillReport, reportHtml } from './report.ts';

export const DRILL_REPORTS_DIR = path.join(paths.root, 'reports', 'drills');

/** Writes the report; resolves with its HTML file's path. */
export function saveReport(report: DrillReport, opts: { latest?: boolean; dir?: string } = {}): string {
  const dir = opts.dir ?? DRILL_REPORTS_DIR;
  mkdirSync(dir, { recursive: true });
  const name = `drill-${report.startedAt.replace(/[:.]/g, '-')}`;
  for (const n of opts.latest ? [name, 'latest'] : [name]) {
    writeFileSync(path.join(dir, `${n}.json`), `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(path.join(dir, `${n}.html`), reportHtml(report));
  }
  return path.join(dir, `${name}.html`);
}
