/**
 * Test helpers for the hub's GraphQL transports: a `graphql-ws` client (the npm package, as
 * any application would use it) and a subscription that collects its results so a test can
 * wait for the next one with a deadline. No test-runner import: usable from any test file.
 */
import { type Client, createClient } from 'graphql-ws';
import { WebSocket } from 'ws';

/** One GraphQL result as graphql-ws delivers it. */
export interface LiveResult {
  readonly data?: Record<string, unknown> | null;
  readonly errors?: ReadonlyArray<{ message: string; extensions?: Record<string, unknown> }>;
  readonly extensions?: { hub?: { id?: string; epoch?: string; reset?: boolean } } & Record<string, unknown>;
}

/** A running subscription: results so far, the next one on demand, and how it ended. */
export interface LiveSubscription {
  readonly results: LiveResult[];
  /** The next result not yet taken (waits up to `ms`). */
  next(ms?: number): Promise<LiveResult>;
  /** Results until `accept` matches one (which is returned); the others are skipped. */
  until(accept: (r: LiveResult) => boolean, ms?: number): Promise<LiveResult>;
  /** Every result not yet taken, at once (no waiting). */
  drain(): LiveResult[];
  /** Settles when the server completes the subscription or it fails (the error, if any). */
  readonly ended: Promise<unknown>;
  dispose(): void;
}

/** A graphql-ws client for `url` (ws://…/v1/graphql), with the token in connection_init unless `tokenInUrl`. */
export function liveClient(
  url: string,
  token: string,
  opts: { tokenInUrl?: boolean; retryAttempts?: number; onClosed?: (event: unknown) => void } = {},
): Client {
  return createClient({
    url: opts.tokenInUrl ? `${url}${url.includes('?') ? '&' : '?'}access_token=${token}` : url,
    webSocketImpl: WebSocket,
    retryAttempts: opts.retryAttempts ?? 0,
    lazy: true,
    connectionParams: opts.tokenInUrl ? undefined : { authorization: `Bearer ${token}` },
    on: opts.onClosed ? { closed: opts.onClosed } : undefined,
  });
}

/** Starts a subscription (or any operation) and collects its results. */
export function live(
  client: Client,
  payload: { query: string; variables?: Record<string, unknown>; extensions?: Record<string, unknown> },
): LiveSubscription {
  const results: LiveResult[] = [];
  let taken = 0;
  let wake: (() => void) | undefined;
  let settle: (e: unknown) => void = () => {};
  const ended = new Promise<unknown>((resolve) => {
    settle = resolve;
  });
  let finished = false;
  const dispose = client.subscribe(payload, {
    next: (r) => {
      results.push(r as LiveResult);
      wake?.();
    },
    error: (e) => {
      finished = true;
      settle(e);
      wake?.();
    },
    complete: () => {
      finished = true;
      settle(undefined);
      wake?.();
    },
  });
  async function next(ms = 5000): Promise<LiveResult> {
    const deadline = Date.now() + ms;
    while (taken >= results.length) {
      if (finished) throw new Error(`subscription ended after ${results.length} results`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no result within ${ms} ms (had ${results.length})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return results[taken++] as LiveResult;
  }
  return {
    results,
    next,
    async until(accept, ms = 5000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const r = await next(Math.max(1, deadline - Date.now()));
        if (accept(r)) return r;
      }
    },
    drain() {
      const rest = results.slice(taken);
      taken = results.length;
      return rest;
    },
    ended,
    dispose,
  };
}

/** The hub's WebSocket URL for its HTTP port. */
export function hubSocketUrl(hubPort: number): string {
  return `ws://127.0.0.1:${hubPort}/v1/graphql`;
}

/**
 * Waits until the hub holds exactly `count` subscriptions. graphql-ws does not acknowledge a
 * subscribe, so a test that must not miss the first live message waits for the hub to have it:
 * count = the hub's subscriptions when none of the test's were open, plus the test's own. Exact,
 * not "at least": a socket closed by an earlier test may still be leaving.
 */
export async function untilSubscriptions(hub: { stats(): { subscriptions: number } }, count: number, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (hub.stats().subscriptions !== count) {
    if (Date.now() > deadline)
      throw new Error(`the hub holds ${hub.stats().subscriptions} subscriptions after ${ms} ms, not ${count}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * The hub's subscription count once it has held still for `quietMs` (sockets an earlier test
 * closed have left, a reconnecting edge feed is back): the baseline for `untilSubscriptions`.
 */
export async function quietSubscriptions(hub: { stats(): { subscriptions: number } }, quietMs = 200): Promise<number> {
  let last = hub.stats().subscriptions;
  let since = Date.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, 20));
    const now = hub.stats().subscriptions;
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return now;
  }
}
