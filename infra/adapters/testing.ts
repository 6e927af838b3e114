/** Helpers shared by the adapter integration tests, which run against the real local stack. */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** A name no earlier run used, so tests can be re-run against the same services. */
export function uniqueName(prefix: string, separator = '-'): string {
  return `${prefix}${separator}${randomUUID().replaceAll('-', '')}`;
}

export interface EventuallyOptions {
  readonly timeoutMs: number;
  readonly intervalMs?: number;
}

/**
 * Calls `check` until it returns without throwing and resolves with its result. Past the
 * deadline it rethrows the last failure, so an assertion's own message explains the timeout.
 */
export async function eventually<T>(check: () => T | Promise<T>, options: EventuallyOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  const interval = options.intervalMs ?? 100;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() + interval > deadline) throw err;
    }
    await sleep(interval);
  }
}

/** A local TCP port nothing listens on (bound once by us, then released), to test "service down". */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('expected a TCP address');
  return address.port;
}

/** Polls `check` until it resolves to something other than undefined; throws `what` after `timeoutMs`. */
export async function until<T>(
  check: () => Promise<T | undefined> | T | undefined,
  options: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${options.what ?? 'condition'} not met in time`);
    await sleep(options.intervalMs ?? 100);
  }
}
