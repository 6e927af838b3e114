/**
 * `npm run bench [name...]`: runs the benchmarks in e2e/bench (all, or those named),
 * one after another, against the local stack. Figures go to stdout.
 */
import { globSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../infra/stack/paths.ts';
import { NODE, step } from '../../infra/tasks/run.ts';

const wanted = process.argv.slice(2);
const all = globSync('e2e/bench/*.bench.ts', { cwd: REPO_ROOT }).sort();
const chosen = wanted.length ? all.filter((f) => wanted.some((w) => path.basename(f).startsWith(w))) : all;
let ok = true;
for (const file of chosen) {
  const r = await step(`bench ${path.basename(file)}`, NODE[0] as string, [...NODE.slice(1), file]);
  ok &&= r.ok;
}
process.exitCode = ok ? 0 : 1;
