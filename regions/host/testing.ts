/** Builders for tests that start a region in-process next to a running `npm start`. */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { envName } from '../../infra/config/endpoints.ts';
import { scratchDatabase } from '../../infra/postgres/scratch-database.testing.ts';
import { composeSubgraphs, SUBGRAPHS_DIR } from '../../schemas/compose.ts';
import type { RegionConfig, RegionProfile } from '../config.ts';
import { regionConfig } from '../config.ts';
import { type Identity, identityFromEnv } from '../identity/identity.ts';
import type { DomainModule } from './domain-module.ts';
import { type RegionOptions, type RunningRegion, startRegion } from './region-host.ts';

/** The region's config with every listening port, domain ports included, on any free port (0). */
export function testRegionConfig(
  profile: RegionProfile,
  env: Record<string, string | undefined> = process.env,
): RegionConfig {
  return { ...regionConfig(profile, env), gatewayPort: 0, hubPort: 0, grpcPort: 0, anyFreeDomainPorts: true };
}

/** A development identity with its own throwaway signing key. */
export function testIdentity(): Identity {
  const keyFile = path.join(mkdtempSync(path.join(tmpdir(), 'meridian-identity-')), 'dev-issuer.jwk.json');
  return identityFromEnv({}, { keyFile, gatewayUrl: 'http://127.0.0.1' });
}

/** A region on databases of its own, running only some domains (see isolatedRegion). */
export interface IsolatedRegion {
  readonly region: RunningRegion;
  /** Stops the region and drops its scratch database. */
  stop(): Promise<void>;
}

/**
 * Starts a region that shares nothing written with other test runs on the same stack: its own
 * scratch PostgreSQL database (its outbox reaches only its own relay, and no other relay ever
 * meets its rows), only the given domains, and a gateway over their subgraphs alone. It still
 * uses the region's Kafka, Redis and MirrorMaker 2 like any region.
 */
export async function isolatedRegion(
  profile: RegionProfile,
  domains: readonly DomainModule<unknown>[],
  opts: Omit<RegionOptions, 'domains' | 'supergraph'>,
): Promise<IsolatedRegion> {
  const db = await scratchDatabase(
    `${profile.region}_${domains.map((d) => d.name.replace(/[^a-z0-9]/g, '')).join('_')}`,
    domains.flatMap((d) => (d.migrations ? [d.migrations] : [])),
    { region: profile.region },
  );
  // The scratch database's pool was only needed to migrate it; the region opens its own.
  const url = db.url;
  try {
    const config = testRegionConfig(profile, { ...process.env, [envName(profile.region, 'postgres')]: url });
    const withSubgraph = domains.filter((d) => existsSync(path.join(SUBGRAPHS_DIR, `${d.name}.graphql`)));
    const supergraph = composeSubgraphs(withSubgraph.map((d) => d.name));
    const region = await startRegion(config, { ...opts, domains, supergraph });
    return {
      region,
      async stop() {
        try {
          await region.stop();
        } finally {
          await db.drop();
        }
      },
    };
  } catch (err) {
    await db.drop();
    throw err;
  }
}
