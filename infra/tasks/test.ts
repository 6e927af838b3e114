/**
 * `npm test`: static checks and the unit tests (which need nothing running) while the real local
 * stack comes up (if needed), then the integration and end-to-end tests, and last the stack
 * lifecycle tests (which stop services, so they run alone). Prints one closing line:
 * "N passed, N failed".
 *
 * Test tiers are in the file names:
 *   x.test.ts            unit: no service needed; runs (and reports) even when the stack cannot start
 *   x.int.test.ts        integration: talks to the real local stack; e2e/ ones run one at a time
 *   x.lifecycle.test.ts  stops and starts the stack itself: last and alone
 */
import { globSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../stack/paths.ts';
import { checks, SOURCE_DIRS } from './check.ts';
import { shareCompileCache } from './compile-cache.ts';
import { NODE, type StepResult, step } from './run.ts';
import { type TestTier, tierOf } from './tiers.ts';

function testFiles() {
  const all = SOURCE_DIRS.flatMap((dir) => globSync(`${dir}/**/*.test.ts`, { cwd: REPO_ROOT })).sort();
  const of = (tier: TestTier) => all.filter((f) => tierOf(f) === tier);
  const isEdge = (f: string) => f.startsWith('edge/');
  const isE2e = (f: string) => f.startsWith('e2e/');
  return {
    unit: of('unit'),
    // The edge's suites also run on Deno (Node runs them with the rest).
    denoUnit: of('unit').filter(isEdge),
    denoIntegration: of('integration').filter(isEdge),
    integration: of('integration').filter((f) => !isE2e(f)),
    e2e: of('integration').filter(isE2e),
    lifecycle: of('lifecycle'),
  };
}

/** Counts from node's spec reporter summary ("ℹ pass 12", "ℹ fail 0"). */
function nodeCounts(result: StepResult): { passed: number; failed: number } {
  const pick = (label: string) => Number(new RegExp(`ℹ ${label} (\\d+)`).exec(result.output)?.[1] ?? 0);
  return { passed: pick('pass'), failed: pick('fail') + pick('cancelled') };
}

/** Counts from deno test's summary ("ok | 12 passed (40 steps) | 0 failed"). */
function denoCounts(result: StepResult): { passed: number; failed: number } {
  const m = /(\d+) passed(?: \((\d+) steps?\))? \| (\d+) failed/.exec(result.output);
  return { passed: Number(m?.[2] ?? m?.[1] ?? 0), failed: Number(m?.[3] ?? 0) };
}

const t0 = performance.now();
shareCompileCache();
const files = testFiles();
const node = NODE[0] as string;
// The stack comes up while the checks and unit tests run (they need nothing from it, and it
// spends most of its start waiting on its services); its output is printed when it is up.
const stackUp = step('local stack up', node, [...NODE.slice(1), 'infra/stack/cli.ts', 'up'], {}, { buffered: true });
const results: StepResult[] = [...(await checks())];
let passed = 0;
let failed = 0;

async function runTests(
  name: string,
  command: string,
  args: string[],
  count: (r: StepResult) => { passed: number; failed: number },
): Promise<void> {
  const r = await step(name, command, args);
  const c = count(r);
  passed += c.passed;
  // A run that failed without a failed test (a crash, a load error) still counts once.
  failed += c.failed + (r.ok || c.failed > 0 ? 0 : 1);
  results.push(r);
}

const deno = path.join(REPO_ROOT, 'node_modules', '.bin', 'deno');
const denoTest = (list: string[]) => ['test', '--allow-all', '--no-check', ...list];
const nodeTest = (list: string[], concurrency: number) => [
  ...NODE.slice(1),
  '--test',
  '--test-reporter=spec',
  `--test-concurrency=${concurrency}`,
  ...list,
];

// Unit tests first: they need nothing running, so they report even when the stack cannot start.
await runTests(`edge unit tests on Deno (${files.denoUnit.length} files)`, deno, denoTest(files.denoUnit), denoCounts);
await runTests(`unit tests (${files.unit.length} files)`, node, nodeTest(files.unit, 2), nodeCounts);

const stack = await stackUp;
results.push(stack);
if (stack.ok) {
  if (files.denoIntegration.length > 0) {
    await runTests(
      `edge integration tests on Deno (${files.denoIntegration.length} files)`,
      deno,
      denoTest(files.denoIntegration),
      denoCounts,
    );
  }
  // End-to-end suites assert latencies (purge within 1 s, failover within an interval):
  // one at a time, so one suite's load is not another's flake.
  for (const [name, list, concurrency] of [
    ['integration tests', files.integration, 2],
    ['end-to-end tests', files.e2e, 1],
    ['stack lifecycle tests', files.lifecycle, 1],
  ] as const) {
    if (list.length === 0) continue;
    await runTests(`${name} (${list.length} files)`, node, nodeTest([...list], concurrency), nodeCounts);
  }
} else {
  console.log('\nthe stack did not come up: integration, end-to-end and lifecycle tests were not run');
}

/**
 * Node's spec reporter lists the failures after each run's counts, which later tiers push out of
 * sight (CI keeps the tail of the log): they are repeated here, without stack frames.
 */
function failureReport(r: StepResult): string | undefined {
  const at = r.output.lastIndexOf('✖ failing tests:');
  if (at < 0) return undefined;
  const text = r.output
    .slice(at)
    .split('\n')
    .filter((line) => !/^\s+at /.test(line))
    .join('\n');
  return text.length > 6000 ? `${text.slice(0, 6000)}\n… (the rest is in the log above)` : text;
}

const stepsFailed = results.filter((r) => !r.ok);
for (const r of stepsFailed) {
  const report = failureReport(r);
  if (report) console.log(`\n── failures in ${r.name} ──\n${report.trimEnd()}`);
}
console.log('\n── summary ──');
for (const r of results) console.log(`${r.ok ? '✔' : '✖'} ${r.name.padEnd(52)} ${r.seconds.toFixed(1)}s`);
console.log(`total ${((performance.now() - t0) / 1000).toFixed(1)}s`);
// Failed checks (and a stack that did not start) count as failures too, so the closing line never hides one.
console.log(`${passed} passed, ${failed + stepsFailed.filter((r) => !/tests/.test(r.name)).length} failed`);
process.exitCode = stepsFailed.length === 0 ? 0 : 1;
