/**
 * `node regions/main.ts east|west` — runs one region in this process.
 * Composition root: reads and validates the environment once.
 */
import { ConfigError, parseRegion } from '../infra/config/endpoints.ts';
import { createLogger } from '../infra/telemetry/logger.ts';
import { regionConfig } from './config.ts';
import { DOMAINS } from './domains.ts';
import { east } from './east.ts';
import { startRegion } from './host/region-host.ts';
import { identityFromEnv } from './identity/identity.ts';
import { DEV_ISSUER_KEY_FILE } from './identity/key-file.ts';
import { west } from './west.ts';

try {
  const profile = { east, west }[parseRegion(process.argv[2] ?? process.env.MERIDIAN_REGION)];
  const config = regionConfig(profile, process.env);
  const gatewayUrl = `http://127.0.0.1:${config.gatewayPort}`;
  const identity = identityFromEnv(process.env, { keyFile: DEV_ISSUER_KEY_FILE, gatewayUrl });
  // JSON lines with the active span's trace and span ids, secrets masked (MERIDIAN_LOG_FORMAT=text for plain lines).
  const logger = createLogger({ service: `meridian-region-${config.region}` });
  const log =
    process.env.MERIDIAN_LOG_FORMAT === 'text'
      ? (line: string) => console.log(line)
      : (line: string) => logger.info(line);
  const region = await startRegion(config, { identity, domains: DOMAINS, log });
  log(`region ${config.region}: ${identity.summary}`);
  log(
    `region ${config.region}: gateway ${gatewayUrl}/graphql, hub http://127.0.0.1:${region.hubPort}/v1/stream (ready)`,
  );
  const shutdown = async (signal: string) => {
    log(`region ${config.region}: ${signal}, stopping`);
    await region.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`region: invalid configuration — ${err.message}`);
    process.exit(78);
  }
  throw err;
}
