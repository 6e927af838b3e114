/**
 * OpenTelemetry for every Node process of the platform: the SDK with the official
 * instrumentations (http, undici, graphql, grpc, pg, ioredis, kafkajs, amqplib, mongodb),
 * a parent-based ratio sampler (a request sampled at the edge stays sampled everywhere), and
 * an exporter: OTLP over HTTP to a real backend (Jaeger v2, or any collector), or in memory
 * for tests. Started once, by the file Node `--import`s (register.ts), before anything it
 * instruments is loaded.
 */

import { context, type ProxyTracerProvider, trace } from '@opentelemetry/api';
import { isTracingSuppressed } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { AmqplibInstrumentation } from '@opentelemetry/instrumentation-amqplib';
import { GraphQLInstrumentation } from '@opentelemetry/instrumentation-graphql';
import { GrpcInstrumentation } from '@opentelemetry/instrumentation-grpc';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { KafkaJsInstrumentation } from '@opentelemetry/instrumentation-kafkajs';
import { MongoDBInstrumentation } from '@opentelemetry/instrumentation-mongodb';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  BatchSpanProcessor,
  InMemorySpanExporter,
  ParentBasedSampler,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';
import { headSampler } from '../../edge/runtime/head-sampling.ts';
import { quietTracerProvider } from '../../edge/runtime/quiet-tracer.ts';
import { batchOptions } from '../../edge/runtime/tracing-settings.ts';

export interface TelemetryOptions {
  /** `service.name`, e.g. `meridian-region-east`. */
  readonly serviceName: string;
  /** Where spans go: an OTLP/HTTP traces endpoint, the in-memory exporter (tests), or nowhere. */
  readonly exporter:
    | { readonly kind: 'otlp'; readonly url: string }
    | { readonly kind: 'memory' }
    | { readonly kind: 'none' };
  /** Share of new traces sampled (0..1); a caller's sampled flag always wins. */
  readonly sampleRatio: number;
  /** At most so many new traces sampled per second (no limit unless given). */
  readonly maxNewTracesPerSecond?: number;
  readonly attributes?: Readonly<Record<string, string>>;
  /**
   * Whether the http instrumentation makes the spans of incoming requests (the default). False
   * for a process whose application makes its own (the Node edge: edge/runtime/server-spans.ts).
   */
  readonly httpServerSpans?: boolean;
}

export interface RunningTelemetry {
  /** The in-memory exporter, when that was chosen. */
  readonly memory: InMemorySpanExporter | undefined;
  /** With the in-memory exporter, the spans finished so far (flushed first: processors export asynchronously); else none. */
  finishedSpans(): Promise<ReadableSpan[]>;
  shutdown(): Promise<void>;
}

/** The instrumentations of the libraries the platform uses; health checks are not traced. */
export function instrumentations(opts: { httpServerSpans?: boolean } = {}): Instrumentation[] {
  return [
    new HttpInstrumentation({
      ignoreIncomingRequestHook: (req) => /^\/(health|ready|metrics)\b/.test(req.url ?? ''),
      // Suppressed (an unsampled gateway request): it would make a no-op span and inject nothing,
      // after working out the request's attributes and binding its listeners; skip all of that.
      ignoreOutgoingRequestHook: () => isTracingSuppressed(context.active()),
      disableIncomingRequestInstrumentation: opts.httpServerSpans === false,
    }),
    new UndiciInstrumentation(),
    new GraphQLInstrumentation({ mergeItems: true, ignoreTrivialResolveSpans: true }),
    new GrpcInstrumentation(),
    new PgInstrumentation({ requireParentSpan: true }),
    new IORedisInstrumentation({ requireParentSpan: true }),
    new KafkaJsInstrumentation(),
    new AmqplibInstrumentation(),
    new MongoDBInstrumentation({ requireParentSpan: true }),
  ];
}

/** Starts the SDK; call once per process, before the instrumented libraries are imported. */
export function startTelemetry(opts: TelemetryOptions): RunningTelemetry {
  let memory: InMemorySpanExporter | undefined;
  let processor: SpanProcessor | undefined;
  if (opts.exporter.kind === 'memory') {
    memory = new InMemorySpanExporter();
    processor = new SimpleSpanProcessor({ exporter: memory });
  } else if (opts.exporter.kind === 'otlp') {
    const exporter: SpanExporter = new OTLPTraceExporter({ url: opts.exporter.url });
    processor = new BatchSpanProcessor({ exporter, ...batchOptions(process.env) });
  }
  // The SDK would otherwise start OTLP metric and log exporters of its own (its default when
  // these are unset): metrics are served as Prometheus text by each process, logs go to stdout,
  // and a MeterProvider makes every instrumented request pay for histograms nobody reads.
  process.env.OTEL_METRICS_EXPORTER ??= 'none';
  process.env.OTEL_LOGS_EXPORTER ??= 'none';
  const sdk = new NodeSDK({
    resource: resourceFromAttributes({ 'service.name': opts.serviceName, ...opts.attributes }),
    sampler: new ParentBasedSampler({ root: headSampler(opts.sampleRatio) }),
    spanProcessors: processor ? [processor] : [],
    instrumentations: instrumentations({ httpServerSpans: opts.httpServerSpans }),
  });
  sdk.start();
  // Every tracer handed out from here on (Apollo's, the instrumentations', ours) is the SDK's,
  // deciding sampling first and free under suppression (quiet-tracer.ts).
  // (The global provider is the API's proxy, whichever copy of the API registered it.)
  const global = trace.getTracerProvider() as Partial<ProxyTracerProvider>;
  if (global.setDelegate && global.getDelegate)
    global.setDelegate(
      quietTracerProvider(global.getDelegate(), processor ? opts.sampleRatio : undefined, opts.maxNewTracesPerSecond),
    );
  return {
    memory,
    finishedSpans: async () => {
      await processor?.forceFlush();
      return memory?.getFinishedSpans() ?? [];
    },
    shutdown: () => sdk.shutdown(),
  };
}
