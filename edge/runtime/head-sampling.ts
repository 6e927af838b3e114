/**
 * Sampling decided before the SDK is asked for a span. The platform's tracers (quiet-tracer.ts)
 * take the decision the SDK's sampler would take — parent-based: a span follows its parent's
 * sampled flag; a new trace is sampled at the configured ratio — and hand out a span the SDK never
 * sees when it is "not sampled". Such a span costs a random draw and a span context whose ids are
 * made only when read. The SDK's startSpan, for a span that is dropped all the same, runs its id
 * generator (six Math.random calls, Buffer writes, two hex encodings), the sampler and its
 * self-metrics: measured under wrk on the Node edge's cache hit with nothing sampled, 0.81–0.87×
 * the untraced edge's throughput, against 0.91–0.93× with the decision taken here.
 *
 * A new trace drawn as sampled goes to the SDK marked, and the SDK's root sampler (`headSampler`)
 * samples what is marked, so the ratio is drawn once. Its trace id is the SDK's, as before.
 */
import { randomFillSync } from 'node:crypto';
import {
  type Context,
  createContextKey,
  isSpanContextValid,
  type Span,
  type SpanContext,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import { type Sampler, SamplingDecision, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace';

/** Set on the context a new trace drawn as sampled starts from; read by `headSampler`. */
const HEAD_SAMPLED = createContextKey('meridian.head-sampled');

/**
 * The SDK's root sampler: a new trace drawn as sampled here is sampled; any other new trace (a
 * tracer that is not the platform's) by its trace id's ratio, as the SDK's own would.
 */
export function headSampler(ratio: number): Sampler {
  const byTraceId = new TraceIdRatioBasedSampler(ratio);
  return {
    shouldSample: (ctx, traceId) =>
      ctx.getValue(HEAD_SAMPLED) === true
        ? { decision: SamplingDecision.RECORD_AND_SAMPLED }
        : byTraceId.shouldSample(ctx, traceId),
    toString: () => `HeadSampler{${byTraceId.toString()}}`,
  };
}

/** Set by a server on the context of a caller it does not trust (a client of the edge); read by `headDecision`. */
const UNTRUSTED_CALLER = createContextKey('meridian.untrusted-caller');

/**
 * `ctx` (a caller's extracted context) marked as coming from outside the platform: its sampled flag
 * is then honoured only within the cap on new traces (`NewTraces.admit`), since any client can set
 * it and would otherwise choose, request by request, what tracing costs the edge.
 */
export function fromUntrustedCaller(ctx: Context): Context {
  return ctx.setValue(UNTRUSTED_CALLER, true);
}

/** The process's budget of new traces (`newTraces`). */
export interface NewTraces {
  /** A new trace of the process's own: drawn at the ratio, then within the cap. */
  draw(): boolean;
  /** A trace an untrusted caller asked to sample: within the cap, whatever the ratio. */
  admit(): boolean;
}

/**
 * New traces sampled at `ratio`, and no more than `maxPerSecond` of them per second in this
 * process (a token bucket holding one second's worth, at least one). A trusted caller's sampled
 * flag (a process of the platform) is followed whatever the count, so no trace loses its middle;
 * an untrusted caller's counts against the cap. The cap bounds what tracing costs a process under
 * any load: at 30,000 requests a second, 10% would be 3,000 new traces a second from one edge
 * process. `now` is in milliseconds.
 */
export function newTraces(
  ratio: number,
  maxPerSecond = Number.POSITIVE_INFINITY,
  now: () => number = () => performance.now(),
): NewTraces {
  if (maxPerSecond === Number.POSITIVE_INFINITY) return { draw: () => Math.random() < ratio, admit: () => true };
  const capacity = Math.max(1, maxPerSecond);
  let tokens = capacity;
  let at = now();
  const admit = () => {
    const t = now();
    tokens = Math.min(capacity, tokens + ((t - at) * maxPerSecond) / 1000);
    at = t;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };
  return { draw: () => Math.random() < ratio && admit(), admit };
}

/**
 * The decision for a span about to start in `parent` (`root`: a new trace whatever the parent):
 * `unsampled`, a span to use as is (nothing recorded, its context carries "not sampled" on); or
 * `from`, the context the SDK starts the span from (it records it).
 */
export function headDecision(
  traces: NewTraces,
  parent: Context,
  root: boolean,
): { readonly unsampled: Span } | { readonly from: Context } {
  const caller = root ? undefined : trace.getSpanContext(parent);
  if (caller === undefined || !isSpanContextValid(caller)) {
    if (traces.draw()) return { from: parent.setValue(HEAD_SAMPLED, true) };
    return { unsampled: unsampledSpan() };
  }
  // Only the caller's own (remote) span is in question: the spans the request then makes are
  // children of the server's span, local, and followed like any.
  const untrusted = caller.isRemote === true && parent.getValue(UNTRUSTED_CALLER) === true;
  if (caller.traceFlags & TraceFlags.SAMPLED && (!untrusted || traces.admit())) return { from: parent };
  return { unsampled: unsampledSpan(caller) };
}

/** A span nothing records: a child of `parent` (its trace, not sampled), or the root of a new trace. */
export function unsampledSpan(parent?: SpanContext): Span {
  return trace.wrapSpanContext(new UnsampledSpanContext(parent));
}

const POOL = Buffer.allocUnsafe(4096);
let poolAt = POOL.length;
const ZEROS = { 8: '0'.repeat(16), 16: '0'.repeat(32) };

/** `bytes` random bytes as lowercase hex, never all zeros (an invalid id). */
function randomId(bytes: 8 | 16): string {
  for (;;) {
    if (poolAt + bytes > POOL.length) {
      randomFillSync(POOL);
      poolAt = 0;
    }
    const hex = POOL.toString('hex', poolAt, poolAt + bytes);
    poolAt += bytes;
    if (hex !== ZEROS[bytes]) return hex;
  }
}

/**
 * An unsampled span context, a child of `parent` (its trace, its trace state) or the root of a new
 * trace, whose ids are made when first read: most unsampled requests (an edge cache hit) call
 * nothing downstream, and encoding the ids as hex was most of what such a request still cost under
 * load (the Node edge's hit with nothing sampled: 0.84× untraced with ids made at once, 0.91× with
 * constant ones). The ids are getters: read them (as the propagators, the SDK and the logger do); a
 * spread copy of the object would not have them.
 */
class UnsampledSpanContext implements SpanContext {
  readonly traceFlags = TraceFlags.NONE;
  readonly traceState: SpanContext['traceState'];
  #traceId: string | undefined;
  #spanId: string | undefined;
  constructor(parent: SpanContext | undefined) {
    this.#traceId = parent?.traceId;
    this.traceState = parent?.traceState;
  }
  get traceId(): string {
    this.#traceId ??= randomId(16);
    return this.#traceId;
  }
  get spanId(): string {
    this.#spanId ??= randomId(8);
    return this.#spanId;
  }
}
