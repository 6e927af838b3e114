/**
 * How a composition root starts a child process with OpenTelemetry on: Node processes `--import`
 * register.ts (the SDK and the ESM loader hook before any instrumented module loads); the Deno
 * edge uses Deno's built-in OpenTelemetry, exporting OTLP/JSON to the same endpoint.
 */
import { fileURLToPath } from 'node:url';

const REGISTER = fileURLToPath(new URL('./register.ts', import.meta.url));

/** Node arguments that turn tracing on in a child (none when MERIDIAN_OTEL=off). */
export function nodeTelemetryArgs(env: Record<string, string | undefined>): string[] {
  return env.MERIDIAN_OTEL === 'off' ? [] : ['--import', REGISTER];
}

/**
 * The share of new traces a process samples: MERIDIAN_OTEL_SAMPLE_RATIO (0..1), else 0.1 with
 * NODE_ENV=production and 1 in development. A caller's sampled flag always wins (parent-based).
 */
export function sampleRatio(env: Record<string, string | undefined>): number {
  const raw = env.MERIDIAN_OTEL_SAMPLE_RATIO?.trim();
  if (!raw) return env.NODE_ENV === 'production' ? 0.1 : 1;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < 0 || v > 1)
    throw new Error(`MERIDIAN_OTEL_SAMPLE_RATIO: "${raw}" is not a number from 0 to 1`);
  return v;
}

/**
 * Environment for a Deno process (the edge): Deno's OpenTelemetry when an OTLP endpoint is
 * configured (OTLP/HTTP with JSON, as the Node exporter sends), else nothing — Deno would
 * otherwise export to localhost:4318 and complain when nothing listens there. Sampled like the
 * Node processes (Deno reads OTEL_TRACES_SAMPLER since 2.9); Deno's own OTLP metrics stay off
 * (the edge serves Prometheus text, and with them on every request pays for histograms).
 */
export function denoTelemetryEnv(env: Record<string, string | undefined>, serviceName: string): Record<string, string> {
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (env.MERIDIAN_OTEL === 'off' || !endpoint) return {};
  return {
    OTEL_DENO: 'true',
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_SERVICE_NAME: env.OTEL_SERVICE_NAME ?? serviceName,
    OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
    OTEL_TRACES_SAMPLER_ARG: String(sampleRatio(env)),
    OTEL_DENO_METRICS: 'false',
    // Console output stays on stdout; only traces go to the backend.
    OTEL_DENO_CONSOLE: 'ignore',
  };
}
