/**
 * A role of the platform as a process of its own (a webhook dispatcher, an AMQP bridge), for crash
 * tests and benchmarks: started with an environment, ready when it prints its "started as" line,
 * SIGKILLed on demand, its CPU time readable from /proc.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface RoleProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** User + system CPU seconds so far (Linux /proc). */
  cpuSeconds(): number;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `node <script> <args>`; resolves once a line contains `ready`. Lines go to `output`. */
export function startRole(
  script: string,
  args: readonly string[],
  env: Record<string, string | undefined>,
  output: string[],
  ready = ': started as ',
  timeoutMs = 90_000,
): Promise<RoleProcess> {
  const child = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', script, ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid ?? -1;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const role: RoleProcess = {
    child,
    pid,
    cpuSeconds() {
      // Fields 14 and 15 of /proc/<pid>/stat: utime and stime in clock ticks (USER_HZ, 100 on Linux).
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
        .replace(/^.*\) /, '')
        .split(' ');
      return (Number(fields[11]) + Number(fields[12])) / 100;
    },
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
  return new Promise((resolve, reject) => {
    // A process joining a consumer group whose member was just killed waits for that member's
    // session to expire (30 s) before its first fetch: starting may take that long.
    const timer = setTimeout(() => {
      child.kill('SIGKILL'); // never left behind
      reject(new Error(`${script} did not start within ${timeoutMs} ms:\n${output.join('\n')}`));
    }, timeoutMs);
    const onLine = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        output.push(`[${pid}] ${line}`);
        if (line.includes(ready)) {
          clearTimeout(timer);
          resolve(role);
        }
      }
    };
    child.stdout?.on('data', onLine);
    child.stderr?.on('data', onLine);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited ${code}:\n${output.join('\n')}`));
    });
  });
}

/** Processes of one role started alike, killed on demand, and all reaped at the end. */
export interface RoleFleet {
  start(): Promise<RoleProcess>;
  kill(role: RoleProcess): Promise<void>;
  killAll(): Promise<void>;
}

/** A fleet of `node <script> <args>` with `env()` (read when each starts); lines go to `output`. */
export function roleFleet(
  script: string,
  args: readonly string[],
  env: () => Record<string, string | undefined>,
  output: string[],
): RoleFleet {
  const running = new Set<RoleProcess>();
  const kill = async (role: RoleProcess) => {
    await role.kill();
    running.delete(role);
  };
  return {
    async start() {
      const role = await startRole(script, args, env(), output);
      running.add(role);
      return role;
    },
    kill,
    killAll: async () => {
      await Promise.all([...running].map(kill));
    },
  };
}
