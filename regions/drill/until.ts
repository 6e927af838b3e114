/** Polling for the drill: ask `check` every `everyMs` until it answers, or give up naming what and why. */
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Resolves with the first defined answer of `check`; a check that throws counts as no answer
 * (the region it asks may be down). Past `timeoutMs` it rejects, with the last error if any.
 */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = ` (last: ${(err as Error).message})`;
    }
    if (Date.now() > deadline) throw new Error(`drill: ${what} did not happen within ${timeoutMs / 1000} s${last}`);
    await sleep(everyMs);
  }
}
