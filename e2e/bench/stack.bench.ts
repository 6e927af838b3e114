/**
 * The local stack: cold `up` (empty .stack folder: data initialised, Kafka jars copied,
 * FerretDB built; Debian packages and the Maven/Go download caches kept), restart `up`
 * (data kept), warm `up` (everything running: the baseline), and the resident memory
 * of every service. DESTRUCTIVE: wipes the .stack folder first.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, STACK_DIR } from '../../infra/stack/paths.ts';
import { familyOf } from '../../infra/stack/ports.ts';
import { runningPid } from '../../infra/stack/process.ts';
import { stackServices } from '../../infra/stack/services.ts';

const cli = path.join(REPO_ROOT, 'infra/stack/cli.ts');

function timed(...args: string[]): number {
  const t0 = performance.now();
  execFileSync(process.execPath, ['--disable-warning=TimeoutNegativeWarning', cli, ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return (performance.now() - t0) / 1000;
}

function rssKiB(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

timed('down');
rmSync(STACK_DIR, { recursive: true, force: true });
const cold = timed('up');
const warm = [timed('up'), timed('up'), timed('up')].sort((a, b) => a - b)[1] as number;
timed('down');
const restart = timed('up');

console.log(`cold up (empty .stack)      ${cold.toFixed(1)}s`);
console.log(`restart up (data kept)      ${restart.toFixed(1)}s`);
console.log(`warm up (all running, median of 3)  ${warm.toFixed(2)}s`);
console.log(`ratio cold/warm ${(cold / warm).toFixed(0)}x, restart/warm ${(restart / warm).toFixed(0)}x`);

let total = 0;
console.log('\nresident memory (RSS, process group and children):');
for (const s of stackServices(process.env)) {
  const pid = runningPid(s.id);
  if (pid === undefined) continue;
  const kib = [...familyOf(pid)].reduce((sum, p) => sum + rssKiB(p), 0);
  total += kib;
  console.log(`  ${s.id.padEnd(16)} ${(kib / 1024).toFixed(0).padStart(6)} MiB`);
}
console.log(`  ${'total'.padEnd(16)} ${(total / 1024).toFixed(0).padStart(6)} MiB`);
