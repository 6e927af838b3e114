/**
 * `/metrics` for a process without an HTTP port of its own (outbox relay, webhook dispatcher,
 * AMQP bridge run apart): listens only when `MERIDIAN_METRICS_PORT` is set (0 = any free port),
 * since such processes run as many at once as wanted and a fixed port would collide. What they
 * do is also visible without it from the region gateway's /metrics (outbox backlog, their
 * consumer groups' lag).
 */
import { Hono } from 'hono';
import { ConfigError } from '../../infra/config/endpoints.ts';
import { listen } from '../host/http.ts';
import type { RegionMetrics } from './region-metrics.ts';

/** Serves the metrics on MERIDIAN_METRICS_PORT when set; resolves with a stop function (a no-op when not). */
export async function serveMetricsFromEnv(
  metrics: RegionMetrics,
  env: Record<string, string | undefined>,
  log: (line: string) => void,
): Promise<() => Promise<void>> {
  const raw = env.MERIDIAN_METRICS_PORT;
  if (raw === undefined || raw === '') return async () => {};
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`MERIDIAN_METRICS_PORT: "${raw}" is not a port (0-65535)`);
  }
  const app = new Hono();
  app.route('/', metrics.routes());
  const server = await listen(app.fetch, port);
  log(`metrics on http://127.0.0.1:${server.port}/metrics`);
  return () => server.close();
}
