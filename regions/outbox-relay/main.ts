/**
 * `node regions/outbox-relay/main.ts east|west` — one outbox relay process. Run as many as
 * wanted: they share the lanes through Postgres advisory locks, and a killed one's lanes are
 * taken over (and its in-flight batch reconciled) by the others.
 * Composition root: reads and validates the environment once.
 */
import { hostname } from 'node:os';
import { createKafka } from '../../infra/adapters/kafka.ts';
import { createPostgres } from '../../infra/adapters/postgres.ts';
import { ConfigError, parseRegion, resolveEndpoints } from '../../infra/config/endpoints.ts';
import { OUTBOX_LANES } from '../../infra/events/outbox.ts';
import { createOutboxRelay } from '../../infra/outbox/relay.ts';
import { migrate } from '../../infra/postgres/migrate.ts';
import { outboxCollector } from '../metrics/collectors.ts';
import { createRegionMetrics } from '../metrics/region-metrics.ts';
import { serveMetricsFromEnv } from '../metrics/serve.ts';

/** Tells one failure from the next without a stack trace per retry. */
function explain(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e instanceof Error && parts.length < 4; e = e.cause) parts.push(e.message);
  return parts.length > 0 ? parts.join(': ') : String(err);
}

async function main(): Promise<void> {
  const region = parseRegion(process.argv[2] ?? process.env.MERIDIAN_REGION);
  const endpoints = resolveEndpoints(region, process.env);
  const name = `outbox-relay-${region}-${hostname()}-${process.pid}`;
  // One connection holds the lane locks, one listens for outbox writes, one does the lane work; the rest is headroom.
  const postgres = createPostgres({ url: endpoints.postgresUrl, applicationName: name, maxConnections: 5 });
  await migrate(postgres.pool);
  const kafka = createKafka({ brokers: endpoints.kafkaBrokers, clientId: name });
  const relay = createOutboxRelay({
    pool: postgres.pool,
    kafka,
    name,
    onReconciled: (r) =>
      console.log(
        `outbox-relay ${region}: lane ${r.lane} reconciled, ${r.inKafka}/${r.total} in-flight already in Kafka`,
      ),
    onError: (err) => console.error(`outbox-relay ${region}: ${explain(err)} (retrying)`),
  });
  // Before the relay takes lanes: a bad MERIDIAN_METRICS_PORT stops the process with nothing begun.
  const metrics = createRegionMetrics({ region });
  metrics.addCollector(outboxCollector(metrics.registry, postgres.pool));
  const stopMetrics = await serveMetricsFromEnv(metrics, process.env, (line) =>
    console.log(`outbox-relay ${region}: ${line}`),
  );
  relay.start();
  console.log(`outbox-relay ${region}: started as ${name} (${OUTBOX_LANES} lanes, pid ${process.pid})`);

  const shutdown = async (signal: string) => {
    console.log(`outbox-relay ${region}: ${signal}, stopping`);
    // The batch in flight gets its chance to finish, but an unreachable Kafka must not hang shutdown.
    setTimeout(() => process.exit(1), 15_000).unref();
    await relay.stop();
    await stopMetrics();
    await Promise.allSettled([kafka.close(), postgres.close()]);
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

try {
  await main();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`outbox-relay: invalid configuration — ${err.message}`);
    process.exit(78);
  }
  throw err;
}
