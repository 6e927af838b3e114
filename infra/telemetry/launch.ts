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
 * Environment for a Deno process (the edge): Deno's OpenTelemetry when an OTLP endpoint is
 * configured (OTLP/HTTP with JSON, as the Node exporter sends), else nothing — Deno would
 * otherwise export to localhost:4318 and complain when nothing listens there.
 */
export function denoTelemetryEnv(env: Record<string, string | undefined>, serviceName: string): Record<string, string> {
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (env.MERIDIAN_OTEL === 'off' || !endpoint) return {};
  return {
    OTEL_DENO: 'true',
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_SERVICE_NAME: env.OTEL_SERVICE_NAME ?? serviceName,
    // Console output stays on stdout; only traces go to the backend.
    OTEL_DENO_CONSOLE: 'ignore',
  };
}
