/**
 * The request or event being handled, carried through async calls (AsyncLocalStorage,
 * available on Node and Deno) so adapters can stamp outgoing calls and events with
 * the caller's trace without threading it through every domain port.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { childTraceparent } from './traceparent.ts';

export interface TelemetryContext {
  /** The traceparent of the current span (incoming request or consumed event). */
  readonly traceparent: string;
  /** Correlates logs and errors of one request across services. */
  readonly correlationId: string;
}

const storage = new AsyncLocalStorage<TelemetryContext>();

/** Runs `fn` as a child span of `parent` (or a new trace), with a correlation id. */
export function withTelemetry<T>(
  parent: { traceparent?: string | null; correlationId?: string | null },
  fn: () => T,
): T {
  const ctx: TelemetryContext = {
    traceparent: childTraceparent(parent.traceparent),
    correlationId: parent.correlationId || crypto.randomUUID(),
  };
  return storage.run(ctx, fn);
}

export function currentTelemetry(): TelemetryContext | undefined {
  return storage.getStore();
}

/** The traceparent to send on an outgoing call or event, if a context is active. */
export function currentTraceparent(): string | undefined {
  return storage.getStore()?.traceparent;
}
