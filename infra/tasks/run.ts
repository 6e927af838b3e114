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

export function step(
  name: string,
  command: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<StepResult> {
  const t0 = performance.now();
  console.log(`\n▶ ${name}`);
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env, FORCE_COLOR: '0', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const collect = (chunk: Buffer, stream: NodeJS.WriteStream) => {
      output += chunk.toString();
      stream.write(chunk);
    };
    child.stdout.on('data', (c: Buffer) => collect(c, process.stdout));
    child.stderr.on('data', (c: Buffer) => collect(c, process.stderr));
    child.on('close', (code) => {
      const seconds = (performance.now() - t0) / 1000;
      console.log(`${code === 0 ? '✔' : '✖'} ${name} (${seconds.toFixed(1)}s)`);
      resolve({ name, ok: code === 0, seconds, output });
    });
  });
}
