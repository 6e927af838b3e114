/**
 * How a composition root starts a child process with OpenTelemetry on: Node processes `--import`
 * register.ts (the SDK and the ESM loader hook before any instrumented module loads); the Deno
 * edge starts the same SDK itself (edge/runtime/tracing.deno.ts), or Deno's built-in OpenTelemetry.
 */
import { fileURLToPath } from 'node:url';
import { sampleRatio } from '../../edge/runtime/tracing-settings.ts';

const REGISTER = fileURLToPath(new URL('./register.ts', import.meta.url));

/** Node arguments that turn tracing on in a child (none when MERIDIAN_OTEL=off). */
export function nodeTelemetryArgs(env: Record<string, string | undefined>): string[] {
  return env.MERIDIAN_OTEL === 'off' ? [] : ['--import', REGISTER];
}

/**
 * Environment for a Deno process (the edge), when an OTLP endpoint is configured; else nothing.
 * By default the edge traces itself with OpenTelemetry's JS SDK (edge/runtime/tracing.deno.ts),
 * reading the same variables as the Node processes, so it only needs its service name here.
 * MERIDIAN_EDGE_DENO_OTEL=builtin chooses Deno's built-in OpenTelemetry instead (OTLP/HTTP with
 * JSON, sampled like the Node processes: Deno reads OTEL_TRACES_SAMPLER since 2.9; its OTLP
 * metrics off, since the edge serves Prometheus text and with them on every request pays for
 * histograms); it traces every request before sampling, which costs more (see tracing.deno.ts),
 * and its sampler has no cap on new traces (MERIDIAN_OTEL_MAX_NEW_TRACES_PER_SECOND does not apply).
 */
export function denoTelemetryEnv(env: Record<string, string | undefined>, serviceName: string): Record<string, string> {
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (env.MERIDIAN_OTEL === 'off' || !endpoint) return {};
  const service = env.OTEL_SERVICE_NAME ?? serviceName;
  if (env.MERIDIAN_EDGE_DENO_OTEL !== 'builtin') return { OTEL_SERVICE_NAME: service };
  return {
    OTEL_DENO: 'true',
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_SERVICE_NAME: service,
    OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
    OTEL_TRACES_SAMPLER_ARG: String(sampleRatio(env)),
    OTEL_DENO_METRICS: 'false',
    // Console output stays on stdout; only traces go to the backend.
    OTEL_DENO_CONSOLE: 'ignore',
  };
}
