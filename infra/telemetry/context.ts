/**
 * The request or event being handled, carried through async calls (AsyncLocalStorage,
 * available on Node and Deno) so adapters can stamp outgoing calls and events with the
 * caller's trace without threading it through every domain port.
 *
 * With OpenTelemetry on (infra/telemetry/register.ts), each context is a real span: a child of
 * the OTel span already active (the HTTP or gRPC instrumentation's), else of the given
 * traceparent (an event's), else a new trace — and `currentTraceparent()` is that span's, so
 * what is stamped on events and calls continues the same trace. With it off, the same API
 * still makes W3C traceparents (a child span id per context), so correlation never depends on
 * the SDK being there.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  type Attributes,
  type Context,
  context,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { childTraceparent, formatTraceparent, parseTraceparent, type TraceContext } from './traceparent.ts';

export interface TelemetryContext {
  /** The traceparent of the current span (incoming request or consumed event). */
  readonly traceparent: string;
  /** Correlates logs and errors of one request across services. */
  readonly correlationId: string;
}

/** What a span is about: its name, kind and attributes (OTel semantic conventions). */
export interface SpanOptions {
  readonly name: string;
  readonly kind?: 'server' | 'client' | 'producer' | 'consumer' | 'internal';
  readonly attributes?: Attributes;
  /** Parent the span on the given traceparent even when another span is active (a consumed event's own trace). */
  readonly preferTraceparent?: boolean;
  /** Other spans this one is about (a batch's other messages). */
  readonly links?: readonly TraceContext[];
}

const storage = new AsyncLocalStorage<TelemetryContext>();
// A ProxyTracer until the SDK starts, then the SDK's: looked up once, not per span.
const meridianTracer = trace.getTracer('meridian');
const tracer = () => meridianTracer;
const KINDS = {
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
  internal: SpanKind.INTERNAL,
} as const;

let sdkSeen = false;
/** What the API's proxy delegates to while no SDK is registered. */
const noTracing = new ProxyTracerProvider().getDelegate();
/**
 * Whether an OpenTelemetry SDK is registered. Without one every span is a no-op, and a caller on a
 * per-message path (the MQTT bridge) can skip making them; once registered it stays so.
 */
export function tracingOn(): boolean {
  if (sdkSeen) return true;
  const provider = trace.getTracerProvider();
  sdkSeen = !(provider instanceof ProxyTracerProvider) || provider.getDelegate() !== noTracing;
  return sdkSeen;
}

/** The OTel context whose parent is `traceparent` (a remote span), or undefined when it is malformed. */
function remoteParent(traceparent: string | null | undefined): Context | undefined {
  const parsed = parseTraceparent(traceparent);
  if (!parsed) return undefined;
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: parsed.traceId,
    spanId: parsed.spanId,
    traceFlags: Number.parseInt(parsed.flags, 16),
    isRemote: true,
  });
}

/** The traceparent of an OTel span, when the SDK made a real one. */
function traceparentOf(span: Span): string | undefined {
  const sc = span.spanContext();
  if (!trace.isSpanContextValid(sc)) return undefined;
  return formatTraceparent({
    traceId: sc.traceId,
    spanId: sc.spanId,
    flags: sc.traceFlags.toString(16).padStart(2, '0'),
  });
}

/**
 * Runs `fn` with OpenTelemetry's instrumentations switched off when the active span is not
 * sampled (`suppressTracing`): an unsampled request then pays for no spans of Apollo's, graphql's
 * or undici's making, and no context switches for them. Whatever `fn` calls downstream must carry
 * the trace by hand (`currentTraceparent()`, which keeps the unsampled flag), since the
 * instrumentations inject nothing while switched off. Sampled requests, and processes without the
 * SDK, run `fn` as is.
 */
export function quietUnlessSampled<T>(fn: () => T): T {
  const active = trace.getSpan(context.active());
  if (!active || active.isRecording()) return fn();
  return context.with(suppressTracing(context.active()), fn);
}

/**
 * Runs `fn` in a span: a child of the active OTel span, else of `parent.traceparent`, else a new
 * trace; with a correlation id. The span ends when `fn` settles, with an error status if it threw.
 */
export function withTelemetry<T>(
  parent: { traceparent?: string | null; correlationId?: string | null },
  fn: () => T,
  span: SpanOptions = { name: 'handle' },
): T {
  const active = trace.getSpan(context.active());
  const fromParent = remoteParent(parent.traceparent);
  const parentContext =
    span.preferTraceparent && fromParent ? fromParent : active ? context.active() : (fromParent ?? context.active());
  const otel = tracer().startSpan(
    span.name,
    {
      kind: KINDS[span.kind ?? 'internal'],
      attributes: span.attributes,
      links: span.links?.map((l) => ({
        context: { traceId: l.traceId, spanId: l.spanId, traceFlags: Number.parseInt(l.flags, 16), isRemote: true },
      })),
    },
    parentContext,
  );
  // Without the SDK (or unsampled) the span records nothing: a child traceparent is made by hand.
  const inherited = parent.traceparent ?? (active ? traceparentOf(active) : undefined);
  const ctx: TelemetryContext = {
    traceparent: (otel.isRecording() ? traceparentOf(otel) : undefined) ?? childTraceparent(inherited),
    correlationId: parent.correlationId || crypto.randomUUID(),
  };
  const end = (err?: unknown) => {
    if (err !== undefined) {
      otel.recordException(err instanceof Error ? err : String(err));
      otel.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
    }
    otel.end();
  };
  return context.with(trace.setSpan(parentContext, otel), () =>
    storage.run(ctx, () => {
      let result: T;
      try {
        result = fn();
      } catch (err) {
        end(err);
        throw err;
      }
      if (result instanceof Promise) {
        return result.then(
          (v) => {
            end();
            return v;
          },
          (err: unknown) => {
            end(err);
            throw err;
          },
        ) as T;
      }
      end();
      return result;
    }),
  );
}

/**
 * For a request whose server span is already active (edge/runtime/server-spans.ts, or the http
 * instrumentation's): `fn` runs with the correlation id and that span's trace, without a span of
 * its own (a second span per request would only repeat the server's). Unsampled, the server
 * span's context is what is carried downstream by hand, with its unsampled flag. Without an
 * active span (no SDK), as withTelemetry: a child traceparent made by hand.
 */
export function withRequestTelemetry<T>(
  parent: { traceparent?: string | null; correlationId?: string | null },
  fn: () => T,
): T {
  const active = trace.getSpan(context.active());
  const traceparent = active && traceparentOf(active);
  if (!traceparent) return withTelemetry(parent, fn);
  return storage.run({ traceparent, correlationId: parent.correlationId || crypto.randomUUID() }, fn);
}

export function currentTelemetry(): TelemetryContext | undefined {
  return storage.getStore();
}

/** The traceparent to send on an outgoing call or event: the active OTel span's, else the current context's. */
export function currentTraceparent(): string | undefined {
  const active = trace.getSpan(context.active());
  if (active?.isRecording()) return traceparentOf(active);
  return storage.getStore()?.traceparent ?? (active ? traceparentOf(active) : undefined);
}

/** The trace and span ids to put on a log line, when a span or context is active. */
export function currentIds(): { traceId: string; spanId: string } | undefined {
  const tp = parseTraceparent(currentTraceparent());
  return tp && { traceId: tp.traceId, spanId: tp.spanId };
}

/** Where a message goes, for the messaging spans (OTel messaging semantic conventions). */
export interface MessageDestination {
  /** `messaging.system`: kafka, mqtt, rabbitmq. */
  readonly system: string;
  /** `messaging.destination.name`: the topic, queue or exchange. */
  readonly destination: string;
}

/**
 * The creation context a new message carries (semantic conventions: a "create" span, whose
 * context is what the message propagates, so its consumers continue the producer's trace
 * wherever and whenever it is published). With the SDK on and sampled, a real PRODUCER span,
 * a child of the active span (else of `parent`); otherwise a child id made by hand.
 */
export function messageTraceparent(parent: string | null | undefined, to: MessageDestination): string {
  const active = trace.getSpan(context.active());
  // Without the SDK the span below would be a no-op: go straight to the child made by hand.
  if (!tracingOn()) return childTraceparent(parent ?? (active ? traceparentOf(active) : undefined));
  const fromParent = remoteParent(parent);
  const under = active ? context.active() : (fromParent ?? context.active());
  const span = tracer().startSpan(
    `create ${to.destination}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': to.system,
        'messaging.destination.name': to.destination,
        'messaging.operation.type': 'create',
      },
    },
    under,
  );
  // A span the SDK made, recorded or not (a span id of its own): the message carries its context,
  // so a new trace the sampler dropped travels on unsampled and its consumers record nothing. (A
  // hand-made child of no parent would be a new *sampled* trace: every reading of a device that
  // sends no traceparent was then recorded by every consumer, whatever the ratio.) Without the
  // SDK, or switched off, the API makes no span id: then a child made by hand, as below.
  const own = span.spanContext();
  const fromSdk =
    span.isRecording() || (trace.isSpanContextValid(own) && own.spanId !== trace.getSpanContext(under)?.spanId);
  const made = fromSdk ? traceparentOf(span) : undefined;
  span.end();
  return made ?? childTraceparent(parent ?? (active ? traceparentOf(active) : undefined));
}

/**
 * Runs `fn` in a span about several messages (a batch sent or processed): a child of the first
 * message's context, linked to every other message's (the semantic conventions for batches), so
 * the span shows in the trace of the request that wrote the first message.
 */
export function withMessagesSpan<T>(
  messages: readonly (string | undefined)[],
  fn: () => T,
  span: Omit<SpanOptions, 'preferTraceparent' | 'links'>,
): T {
  const parents = messages.flatMap((tp) => {
    const p = parseTraceparent(tp);
    return p ? [p] : [];
  });
  const first = parents[0];
  return withTelemetry({ traceparent: first ? formatTraceparent(first) : undefined }, fn, {
    ...span,
    preferTraceparent: true,
    links: parents.slice(1),
  });
}

/** Runs `fn` (a batch send) in a PRODUCER span "send <destination>" (see withMessagesSpan). */
export function withSendSpan<T>(messages: readonly (string | undefined)[], to: MessageDestination, fn: () => T): T {
  return withMessagesSpan(messages, fn, {
    name: `send ${to.destination}`,
    kind: 'producer',
    attributes: {
      'messaging.system': to.system,
      'messaging.destination.name': to.destination,
      'messaging.operation.type': 'send',
      'messaging.batch.message_count': messages.length,
    },
  });
}

/**
 * The parent of a consumed message's processing span: the transport's traceparent (the send
 * span the producer's instrumentation injected) when it is in the same trace as the message's
 * creation context, else the creation context itself (a batch sent under another trace's span).
 */
export function consumedTraceparent(creation: string | undefined, transport: string | undefined): string | undefined {
  const c = parseTraceparent(creation);
  const t = parseTraceparent(transport);
  if (t && (!c || c.traceId === t.traceId)) return transport;
  return creation;
}
