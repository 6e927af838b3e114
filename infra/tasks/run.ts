/** Runs a command as one named step of a task, streaming its output, and times it. */
import { spawn } from 'node:child_process';
import { REPO_ROOT } from '../stack/paths.ts';

export interface StepResult {
  readonly name: string;
  readonly ok: boolean;
  readonly seconds: number;
  readonly output: string;
}

/** Node with the project's flags: kafkajs schedules a negative timeout on every request (harmless). */
export const NODE = [process.execPath, '--disable-warning=TimeoutNegativeWarning'];

/**
 * Runs one step. Its output streams as it comes, or with `buffered` (a step running beside
 * others) is printed in one piece when it ends, so the steps' lines never interleave.
 */
export function step(
  name: string,
  command: string,
  args: readonly string[],
  env: Record<string, string> = {},
  opts: { buffered?: boolean } = {},
): Promise<StepResult> {
  const t0 = performance.now();
  if (!opts.buffered) console.log(`\n▶ ${name}`);
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env, FORCE_COLOR: '0', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const collect = (chunk: Buffer, stream: NodeJS.WriteStream) => {
      output += chunk.toString();
      if (!opts.buffered) stream.write(chunk);
    };
    child.stdout.on('data', (c: Buffer) => collect(c, process.stdout));
    child.stderr.on('data', (c: Buffer) => collect(c, process.stderr));
    child.on('close', (code) => {
      const seconds = (performance.now() - t0) / 1000;
      if (opts.buffered) console.log(`\n▶ ${name} (ran beside the steps above)\n${output.trimEnd()}`);
      console.log(`${code === 0 ? '✔' : '✖'} ${name} (${seconds.toFixed(1)}s)`);
      resolve({ name, ok: code === 0, seconds, output });
    });
  });
}
