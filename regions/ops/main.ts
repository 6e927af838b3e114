/**
 * `node regions/ops/main.ts` — the ops console on 127.0.0.1:8090 (MERIDIAN_OPS_CONSOLE_PORT),
 * watching both regions at their configured gateway URLs and reading their Kafka for the live
 * event stream. It takes the regions' ops token (MERIDIAN_OPS_TOKEN; `dev-ops-token` in
 * development, refused in production unless a real secret is set).
 * Composition root: reads and validates the environment once.
 */
import { ConfigError, REGIONS } from '../../infra/config/endpoints.ts';
import { parsePort, regionConfig } from '../config.ts';
import { east } from '../east.ts';
import { listen } from '../host/http.ts';
import { west } from '../west.ts';
import { consoleApp, OPS_CONSOLE_PORT } from './console.ts';
import { createDrillRunner } from './drill-runner.ts';
import { createEventFeed } from './event-feed.ts';

try {
  const configs = REGIONS.map((r) => regionConfig({ east, west }[r], process.env));
  const token = configs[0]?.opsToken;
  if (token === undefined) throw new ConfigError('MERIDIAN_OPS_TOKEN is not set (the console needs it in production)');
  const raw = process.env.MERIDIAN_OPS_CONSOLE_PORT;
  const port = raw === undefined ? OPS_CONSOLE_PORT : parsePort('MERIDIAN_OPS_CONSOLE_PORT', raw);
  const feed = createEventFeed(
    configs.map((c) => ({ name: c.region, brokers: c.endpoints.kafkaBrokers })),
    { log: (line) => console.error(`ops console: ${line}`) },
  );
  const drills = createDrillRunner();
  const edgeRaw = process.env.MERIDIAN_EDGE_PORT;
  const edgePort = edgeRaw === undefined ? 8080 : parsePort('MERIDIAN_EDGE_PORT', edgeRaw);
  const app = consoleApp({
    token,
    regions: configs.map((c) => ({
      name: c.region,
      url: `http://127.0.0.1:${c.gatewayPort}`,
      metricsToken: c.settings.METRICS_TOKEN,
    })),
    // With the edge's ops token the console also shows the writer the edge sends writes to.
    edge: { url: `http://127.0.0.1:${edgePort}`, opsToken: process.env.MERIDIAN_EDGE_OPS_TOKEN?.trim() || undefined },
    feed,
    drills,
  });
  await feed.start();
  const server = await listen(app.fetch, port);
  console.log(`ops console: http://127.0.0.1:${server.port}/ (sign in with the ops token)`);
  const shutdown = async (signal: string) => {
    console.log(`ops console: ${signal}, stopping`);
    setTimeout(() => process.exit(1), 10_000).unref();
    await server.close();
    await drills.stop();
    await feed.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`ops console: invalid configuration — ${err.message}`);
    process.exit(78);
  }
  throw err;
}
