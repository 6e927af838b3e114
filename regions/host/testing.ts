/** Builders for tests that start a region in-process next to a running `npm start`. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RegionConfig, RegionProfile } from '../config.ts';
import { regionConfig } from '../config.ts';
import { type Identity, identityFromEnv } from '../identity/identity.ts';

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
