/**
 * `npm test`: static checks, then the real local stack (brought up if needed), then
 * every unit and integration test, then the stack lifecycle tests (which stop
 * services, so they run last and alone). Prints one closing line: "N passed, N failed".
 */
import { globSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../stack/paths.ts';
import { checks, SOURCE_DIRS } from './check.ts';
import { NODE, type StepResult, step } from './run.ts';

const LIFECYCLE = /\.lifecycle\.test\.ts$/;

function testFiles(): { main: string[]; e2e: string[]; lifecycle: string[] } {
  const all = SOURCE_DIRS.flatMap((dir) => globSync(`${dir}/**/*.test.ts`, { cwd: REPO_ROOT })).sort();
  const lifecycle = all.filter((f) => LIFECYCLE.test(f));
  const e2e = all.filter((f) => f.startsWith('e2e/') && !LIFECYCLE.test(f));
  return { main: all.filter((f) => !f.startsWith('e2e/') && !LIFECYCLE.test(f)), e2e, lifecycle };
}

/** Counts from node's spec reporter summary ("ℹ pass 12", "ℹ fail 0"). */
function counts(result: StepResult): { passed: number; failed: number } {
  const pick = (label: string) => Number(new RegExp(`ℹ ${label} (\\d+)`).exec(result.output)?.[1] ?? 0);
  return { passed: pick('pass'), failed: pick('fail') + pick('cancelled') };
}

/** Counts from deno test's summary ("ok | 12 passed (40 steps) | 0 failed"). */
function denoCounts(result: StepResult): { passed: number; failed: number } {
  const m = /(\d+) passed(?: \((\d+) steps?\))? \| (\d+) failed/.exec(result.output);
  return { passed: Number(m?.[2] ?? m?.[1] ?? 0), failed: Number(m?.[3] ?? 0) };
}

const t0 = performance.now();
const results: StepResult[] = [...(await checks())];
const stack = await step('local stack up', NODE[0] as string, [...NODE.slice(1), 'infra/stack/cli.ts', 'up']);
results.push(stack);

let passed = 0;
let failed = 0;
// The edge's own suite on Deno (Node runs it with the rest below).
const deno = await step('edge unit tests on Deno', path.join(REPO_ROOT, 'node_modules', '.bin', 'deno'), [
  'test',
  '--allow-all',
  '--no-check',
  'edge/',
]);
results.push(deno);
passed += denoCounts(deno).passed;
failed += denoCounts(deno).failed + (deno.ok || denoCounts(deno).failed > 0 ? 0 : 1);
if (stack.ok) {
  const { main, e2e, lifecycle } = testFiles();
  const nodeTest = (files: string[], concurrency: number) => [
    ...NODE.slice(1),
    '--test',
    '--test-reporter=spec',
    `--test-concurrency=${concurrency}`,
    ...files,
  ];
  // End-to-end suites assert latencies (purge within 1 s, failover within an interval):
  // one at a time, so one suite's load is not another's flake.
  for (const [name, files, concurrency] of [
    ['unit + integration tests', main, 2],
    ['end-to-end tests', e2e, 1],
    ['stack lifecycle tests', lifecycle, 1],
  ] as const) {
    if (files.length === 0) continue;
    const r = await step(`${name} (${files.length} files)`, NODE[0] as string, nodeTest([...files], concurrency));
    const c = counts(r);
    passed += c.passed;
    failed += c.failed + (r.ok || c.failed > 0 ? 0 : 1);
    results.push(r);
  }
}

const stepsFailed = results.filter((r) => !r.ok);
console.log('\n── summary ──');
for (const r of results) console.log(`${r.ok ? '✔' : '✖'} ${r.name.padEnd(48)} ${r.seconds.toFixed(1)}s`);
console.log(`total ${((performance.now() - t0) / 1000).toFixed(1)}s`);
// Failed checks count as failures too, so the closing line never hides one.
console.log(`${passed} passed, ${failed + stepsFailed.filter((r) => !/tests/.test(r.name)).length} failed`);
process.exitCode = stepsFailed.length === 0 ? 0 : 1;
