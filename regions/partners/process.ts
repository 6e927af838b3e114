/**
 * What the stand-alone partners processes share: the region's settings and connections, the
 * migrations and topics they rely on, the external events of every module, and a clean shutdown.
 * Composition root: reads and validates the environment once.
 */
import { hostname } from 'node:os';
import { createAmqp } from '../../infra/adapters/amqp.ts';
import { createKafka } from '../../infra/adapters/kafka.ts';
import { createPostgres } from '../../infra/adapters/postgres.ts';
import { parseRegion } from '../../infra/config/endpoints.ts';
import { ensureTopics } from '../../infra/events/topics.ts';
import { migrate } from '../../infra/postgres/migrate.ts';
import { regionConfig } from '../config.ts';
import { DOMAINS } from '../domains.ts';
import { east } from '../east.ts';
import { collectExternalEvents } from '../host/region-host.ts';
import { west } from '../west.ts';
import { type PartnersRuntime, partnersRuntime } from './runtime.ts';
import { partnersSettings } from './settings.ts';

export interface PartnersProcess {
  readonly region: 'east' | 'west';
  readonly peer: 'east' | 'west';
  readonly name: string;
  readonly runtime: PartnersRuntime;
  readonly kafka: ReturnType<typeof createKafka>;
  close(): Promise<void>;
}

/** Opens what a partners process needs in the region named by argv[2] (or MERIDIAN_REGION). */
export async function openPartnersProcess(role: string): Promise<PartnersProcess> {
  const region = parseRegion(process.argv[2] ?? process.env.MERIDIAN_REGION);
  const config = regionConfig({ east, west }[region], process.env);
  const settings = partnersSettings(region, (name) => config.settings[`PARTNERS_${name}`], config.production);
  const name = `${role}-${region}-${hostname()}-${process.pid}`;
  const postgres = createPostgres({ url: config.endpoints.postgresUrl, applicationName: name, maxConnections: 20 });
  const kafka = createKafka({ brokers: config.endpoints.kafkaBrokers, clientId: name });
  const amqp = createAmqp({ url: config.endpoints.amqpUrl });
  // Every module's migrations, as the region host runs them (partners' tables reference none of them, but one
  // database has one history).
  await migrate(
    postgres.pool,
    DOMAINS.flatMap((d) => (d.migrations ? [d.migrations] : [])),
  );
  await ensureTopics(
    kafka,
    DOMAINS.flatMap((d) => d.events),
    { peer: config.peer },
  );
  const runtime = partnersRuntime(
    { region, pool: postgres.pool, amqp, amqpUrl: config.endpoints.amqpUrl, kafka },
    settings,
    collectExternalEvents(DOMAINS),
    (line) => console.error(line),
  );
  return {
    region,
    peer: config.peer,
    name,
    runtime,
    kafka,
    async close() {
      runtime.sender.close();
      await Promise.allSettled([kafka.close(), amqp.close(), postgres.close()]);
    },
  };
}

/** Stops on SIGINT/SIGTERM with `stop`, giving it `graceMs` before exiting anyway. */
export function stopOnSignals(label: string, stop: () => Promise<void>, graceMs = 15_000): void {
  const shutdown = async (signal: string) => {
    console.log(`${label}: ${signal}, stopping`);
    setTimeout(() => process.exit(1), graceMs).unref();
    await stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}
