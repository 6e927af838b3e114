/**
 * The firmware dispatcher: a service that steps every active rollout (domain dispatchRollout:
 * time-outs, the abort threshold, new commands within the concurrency cap, the end) every
 * `intervalMs`, and at once when poked (a rollout started, a job reported). Any number of region
 * processes may run it: a rollout is stepped by one at a time (row lock, others skip it).
 */
import { dispatchRollout, type OrchestratorDeps } from '../../domains/iot/rollouts.ts';
import type { Service } from '../host/domain-module.ts';

export interface FirmwareDispatcher extends Service {
  /** Steps the rollouts soon (new work). */
  poke(): void;
  readonly steps: number;
}

export function firmwareDispatcher(
  name: string,
  needs: readonly string[],
  deps: Pick<OrchestratorDeps, 'rollouts' | 'commands' | 'clock'>,
  opts: { intervalMs?: number; log?: (line: string) => void } = {},
): FirmwareDispatcher {
  const intervalMs = opts.intervalMs ?? 500;
  let running = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let again = false;
  let steps = 0;
  let lastError = '';

  async function pass() {
    for (const id of await deps.rollouts.active(200)) {
      await dispatchRollout(deps, id);
      steps++;
    }
  }

  async function run() {
    while (running) {
      again = false;
      try {
        await pass();
        lastError = '';
      } catch (err) {
        lastError = (err as Error).message;
        opts.log?.(`iot firmware dispatcher: ${lastError}`);
      }
      if (!running || again) continue;
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, intervalMs);
      });
      wake = undefined;
    }
  }

  return {
    name,
    needs,
    get steps() {
      return steps;
    },
    poke() {
      again = true;
      wake?.();
    },
    async start() {
      running = true;
      loop = run();
    },
    async stop() {
      running = false;
      wake?.();
      await loop;
    },
    async check() {
      if (lastError) throw new Error(lastError);
      return `${steps} rollout steps`;
    },
  };
}
