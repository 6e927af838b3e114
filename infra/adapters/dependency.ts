/** What every infrastructure adapter offers its composition root. */
export interface Dependency {
  /** Stable name used in /ready and in logs, e.g. "postgres". */
  readonly name: string;
  /** Round-trips to the service; resolves with its version, rejects when it is down. */
  ping(): Promise<string>;
  /** Releases connections; safe to call twice. */
  close(): Promise<void>;
}

/** Rejects with a timeout error if `work` does not settle within `ms`. */
export async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Whether `work` resolves within `ms` (true) or not (false; it goes on running). Rejects if `work`
 * rejects first. The timer is cleared either way: a bare `Promise.race` with a `setTimeout`
 * keeps the process alive until the timer fires, long after the work is done.
 */
export async function resolvesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([work.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
