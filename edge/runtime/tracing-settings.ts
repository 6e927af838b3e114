/**
 * The tracing settings every process of the platform reads from its environment, the same way:
 * the Node processes' SDK (infra/telemetry) and the edge on Deno (tracing.deno.ts).
 *   MERIDIAN_OTEL=off                      no tracing at all
 *   OTEL_EXPORTER_OTLP_TRACES_ENDPOINT     OTLP/HTTP traces endpoint, or
 *   OTEL_EXPORTER_OTLP_ENDPOINT            its base (`/v1/traces` appended); neither: nothing exported
 *   MERIDIAN_OTEL_SAMPLE_RATIO             share of new traces sampled (default 1, 0.1 with NODE_ENV=production)
 *   MERIDIAN_OTEL_MAX_NEW_TRACES_PER_SECOND  at most so many new traces sampled per second and process
 *                                          (default: no limit, 100 with NODE_ENV=production)
 *   OTEL_BSP_*                             the batch span processor's settings (OpenTelemetry's names)
 */

type Env = Record<string, string | undefined>;

/** The OTLP/HTTP traces endpoint, or undefined when spans are not exported. */
export function tracesEndpoint(env: Env): string | undefined {
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (traces) return traces;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  return base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined;
}

/**
 * The share of new traces a process samples: MERIDIAN_OTEL_SAMPLE_RATIO (0..1), else 0.1 with
 * NODE_ENV=production and 1 in development. A caller's sampled flag always wins (parent-based).
 */
export function sampleRatio(env: Env): number {
  const raw = env.MERIDIAN_OTEL_SAMPLE_RATIO?.trim();
  if (!raw) return env.NODE_ENV === 'production' ? 0.1 : 1;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < 0 || v > 1)
    throw new Error(`MERIDIAN_OTEL_SAMPLE_RATIO: "${raw}" is not a number from 0 to 1`);
  return v;
}

/**
 * How many new traces a process may sample per second (a sampled caller of the platform's own
 * is followed all the same; a client's sampled flag counts against it): MERIDIAN_OTEL_MAX_NEW_TRACES_PER_SECOND, a positive number or `none`; else 100 with
 * NODE_ENV=production and no limit in development. What tracing costs a process then stays
 * bounded under any load (head-sampling.ts, `newTraces`).
 */
export function maxNewTracesPerSecond(env: Env): number {
  const raw = env.MERIDIAN_OTEL_MAX_NEW_TRACES_PER_SECOND?.trim();
  if (!raw) return env.NODE_ENV === 'production' ? 100 : Number.POSITIVE_INFINITY;
  if (raw === 'none') return Number.POSITIVE_INFINITY;
  const v = Number(raw);
  if (!Number.isFinite(v) || v <= 0)
    throw new Error(`MERIDIAN_OTEL_MAX_NEW_TRACES_PER_SECOND: "${raw}" is not a positive number or "none"`);
  return v;
}

/**
 * The batch span processor's settings: OpenTelemetry's OTEL_BSP_* variables, else the platform's
 * defaults. Batches of 128 spans, sent at least every 200 ms: the exporter serializes a batch in
 * one go on the event loop, and 512 spans at a time (the SDK's default) held every request in
 * flight for a few milliseconds. On the Node edge at 10% sampled (2 Dec, five rounds each, two
 * runs) p99 went from 2.0–2.8× untraced to 1.2–1.4×, throughput unchanged within the noise.
 */
export function batchOptions(env: Env): {
  scheduledDelayMillis: number;
  maxExportBatchSize: number;
  maxQueueSize: number;
  exportTimeoutMillis: number;
} {
  const num = (name: string, fallback: number) => {
    const raw = env[name]?.trim();
    if (!raw) return fallback;
    const v = Number(raw);
    if (!Number.isInteger(v) || v <= 0) throw new Error(`${name}: "${raw}" is not a positive integer`);
    return v;
  };
  return {
    scheduledDelayMillis: num('OTEL_BSP_SCHEDULE_DELAY', 200),
    maxExportBatchSize: num('OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 128),
    maxQueueSize: num('OTEL_BSP_MAX_QUEUE_SIZE', 2048),
    exportTimeoutMillis: num('OTEL_BSP_EXPORT_TIMEOUT', 30_000),
  };
}
