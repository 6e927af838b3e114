/**
 * `node --import ./infra/telemetry/register.ts <main>`: turns on OpenTelemetry for the process
 * before its code loads. ESM instrumentation on Node 24 needs the loader hook registered first
 * (`module.register` of @opentelemetry/instrumentation/hook.mjs, import-in-the-middle); without
 * it, modules imported with `import` (pg, ioredis, kafkajs…) are never patched.
 *
 * Configured from the environment (this file is a composition root's prelude):
 *   MERIDIAN_OTEL=off                        no tracing at all (the default is on)
 *   OTEL_EXPORTER_OTLP_TRACES_ENDPOINT       OTLP/HTTP traces endpoint (e.g. http://127.0.0.1:4318/v1/traces);
 *   OTEL_EXPORTER_OTLP_ENDPOINT              … or its base, `/v1/traces` appended; unset: spans are not exported
 *   MERIDIAN_OTEL_SAMPLE_RATIO               share of new traces sampled, 0..1 (default 1 in development, 0.1 in production)
 *   MERIDIAN_OTEL_MAX_NEW_TRACES_PER_SECOND  cap on new traces sampled per second (default none; 100 in production)
 *   OTEL_SERVICE_NAME                        service.name (default: meridian-<script>)
 *   MERIDIAN_OTEL_HTTP_SERVER_SPANS          `app` (the default): the servers make their own HTTP server
 *                                            spans, sampling first, and the http instrumentation traces
 *                                            outgoing calls only; `instrumentation`: the http instrumentation
 *                                            makes them (for a server that has no wrapper of its own)
 */
import { register } from 'node:module';
import path from 'node:path';
import { createAddHookMessageChannel } from 'import-in-the-middle';
import { maxNewTracesPerSecond, sampleRatio, tracesEndpoint } from '../../edge/runtime/tracing-settings.ts';
import { startTelemetry } from './otel.ts';

function exporterFromEnv(env: NodeJS.ProcessEnv) {
  const url = tracesEndpoint(env);
  return url ? { kind: 'otlp' as const, url } : { kind: 'none' as const };
}

/** A sampling setting, or exit 78 naming the variable. */
function setting<T>(read: (env: NodeJS.ProcessEnv) => T): T {
  try {
    return read(process.env);
  } catch (err) {
    console.error(`telemetry: ${(err as Error).message}`);
    process.exit(78);
  }
}

if (process.env.MERIDIAN_OTEL !== 'off') {
  // Only the modules an instrumentation hooks are wrapped (import-in-the-middle's message
  // channel): by default the loader wraps every ES module the process imports, ours included.
  const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, registerOptions);
  const script = path.basename(process.argv[1] ?? 'node', '.ts');
  // The process's servers make their own server spans, sampling first (edge/runtime/server-spans.ts,
  // node-server-spans.ts); the http instrumentation traces outgoing calls only.
  process.env.MERIDIAN_OTEL_HTTP_SERVER_SPANS ??= 'app';
  let telemetry: ReturnType<typeof startTelemetry>;
  try {
    telemetry = startTelemetry({
      serviceName: process.env.OTEL_SERVICE_NAME ?? `meridian-${script}-${process.argv[2] ?? ''}`.replace(/-$/, ''),
      exporter: exporterFromEnv(process.env),
      sampleRatio: setting(sampleRatio),
      maxNewTracesPerSecond: setting(maxNewTracesPerSecond),
      httpServerSpans: process.env.MERIDIAN_OTEL_HTTP_SERVER_SPANS !== 'app',
    });
  } catch (err) {
    // A setting the SDK cannot start with (OTEL_BSP_*): say which, as a configuration error.
    console.error(`telemetry: ${(err as Error).message}`);
    process.exit(78);
  }
  process.once('beforeExit', () => void telemetry.shutdown());
  // The instrumentations named their modules to the loader; nothing may be imported before it knows.
  await waitForAllMessagesAcknowledged();
}
