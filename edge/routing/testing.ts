/** Test builders for routing: a fake clock and scripted region gateways. Runtime-neutral (no node: imports). */
import type { Clock, RegionName } from './region-router.ts';

/** Lets pending promise chains settle (a real macrotask, so every queued microtask runs first). */
export const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/** A clock whose timers fire only when the test advances it. */
export interface FakeClock extends Clock {
  /** Moves time forward, firing due timers in order and letting their async work settle. */
  advance(ms: number): Promise<void>;
  readonly pending: number;
}

/** Creates a fake clock starting at `start` (ms since the epoch). */
export function fakeClock(start = Date.UTC(2030, 0, 1)): FakeClock {
  let now = start;
  let nextId = 1;
  const timers = new Map<number, { at: number; fn: () => void }>();
  return {
    now: () => now,
    setTimeout(fn, ms) {
      const id = nextId;
      nextId += 1;
      timers.set(id, { at: now + Math.max(0, ms), fn });
      return id;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
    get pending() {
      return timers.size;
    },
    async advance(ms) {
      const target = now + ms;
      await settle();
      for (;;) {
        let due: [number, { at: number; fn: () => void }] | undefined;
        for (const entry of timers)
          if (entry[1].at <= target && (due === undefined || entry[1].at < due[1].at)) due = entry;
        if (due === undefined) break;
        timers.delete(due[0]);
        now = due[1].at;
        due[1].fn();
        await settle();
      }
      now = target;
      await settle();
    },
  };
}

/** How a scripted gateway answers `/health`. */
export type GatewayMode = 'ok' | 'error' | 'refused' | 'hang';

/** Two scripted gateways behind one injected fetch; counts health checks per region. */
export function scriptedGateways(urls: Record<RegionName, string>) {
  const mode: Record<RegionName, GatewayMode> = { east: 'ok', west: 'ok' };
  const checks: Record<RegionName, number> = { east: 0, west: 0 };
  const regionOf = (url: string): RegionName => (url.startsWith(urls.east) ? 'east' : 'west');
  const fetchFn: typeof fetch = (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    const region = regionOf(url);
    checks[region] += 1;
    switch (mode[region]) {
      case 'ok':
        return Promise.resolve(Response.json({ status: 'ok', region }));
      case 'error':
        return Promise.resolve(new Response('down', { status: 503 }));
      case 'refused':
        return Promise.reject(new TypeError('fetch failed: connection refused'));
      case 'hang':
        // Like a real fetch to a black-holed host: settles only when aborted.
        return new Promise((_, reject) => {
          init?.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
        });
    }
  };
  return { mode, checks, fetch: fetchFn };
}
