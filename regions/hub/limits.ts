/**
 * Per-user limits of the hub's live transports, per hub process: how many connections one user
 * (tenant + subject: the same id in two tenants is two users) may hold open, and a token bucket
 * for the operations that user sends (subscribe, and mutations such as posting a message). A client
 * over either limit is told so and nothing else is affected.
 */
import type { Actor } from '../../domains/shared/actor.ts';

/** Options of createUserLimits. */
export interface UserLimitOptions {
  /** Open connections per user; 16 by default. */
  readonly maxConnectionsPerUser?: number;
  /** Burst of operations per user; 60 by default. */
  readonly operationBurst?: number;
  /** Sustained operations per user per second; 20 by default. */
  readonly operationsPerSecond?: number;
  readonly clock?: () => number;
}

/** The answer of a rate check: allowed, or when to try again. */
export type Admission = { readonly ok: true } | { readonly ok: false; readonly retryAfterMs: number };

/** Connection counts and operation buckets of one hub process. */
export interface UserLimits {
  /** Registers a connection; undefined when the user already holds the maximum, else a release function (idempotent). */
  connect(actor: Actor): (() => void) | undefined;
  /** Takes one operation token for the user. */
  admit(actor: Actor): Admission;
  stats(): { readonly users: number; readonly connections: number };
}

const userKey = (actor: Actor) => `${actor.tenant}/${actor.subject}`;

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new TypeError(`${name} must be a positive number`);
  return value;
}

/** Creates the limits; all state is in memory and bounded by the users currently active. */
export function createUserLimits(opts: UserLimitOptions = {}): UserLimits {
  const maxConnections = positive('maxConnectionsPerUser', opts.maxConnectionsPerUser ?? 16);
  const burst = positive('operationBurst', opts.operationBurst ?? 60);
  const rate = positive('operationsPerSecond', opts.operationsPerSecond ?? 20) / 1000;
  const clock = opts.clock ?? Date.now;
  const connections = new Map<string, number>();
  let total = 0;
  const buckets = new Map<string, { tokens: number; at: number }>();
  let sweptAt = clock();

  // A bucket that has refilled completely is the same as no bucket: forget it, so memory follows active users.
  function sweep(now: number): void {
    if (now - sweptAt < 60_000) return;
    sweptAt = now;
    for (const [key, b] of buckets) if (b.tokens + (now - b.at) * rate >= burst) buckets.delete(key);
  }

  return {
    connect(actor) {
      const key = userKey(actor);
      const held = connections.get(key) ?? 0;
      if (held >= maxConnections) return undefined;
      connections.set(key, held + 1);
      total += 1;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        total -= 1;
        const left = (connections.get(key) ?? 1) - 1;
        if (left <= 0) connections.delete(key);
        else connections.set(key, left);
      };
    },
    admit(actor) {
      const now = clock();
      sweep(now);
      const key = userKey(actor);
      const b = buckets.get(key) ?? { tokens: burst, at: now };
      b.tokens = Math.min(burst, b.tokens + (now - b.at) * rate);
      b.at = now;
      buckets.set(key, b);
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return { ok: true };
      }
      return { ok: false, retryAfterMs: Math.ceil((1 - b.tokens) / rate) };
    },
    stats: () => ({ users: connections.size, connections: total }),
  };
}
