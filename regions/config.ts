/**
 * A region's configuration: its name, the ports its processes serve on, and where its
 * dependencies live. Built once at start from the environment and validated.
 */
import {
  ConfigError,
  defaultPort,
  type Region,
  type RegionEndpoints,
  resolveEndpoints,
} from '../infra/config/endpoints.ts';

/** What is fixed about a region (regions/east.ts, regions/west.ts). */
export interface RegionProfile {
  readonly region: Region;
  /** The other region, whose topics arrive here prefixed `<peer>.` through MirrorMaker 2. */
  readonly peer: Region;
  readonly displayName: string;
}

export interface RegionConfig extends RegionProfile {
  readonly region: Region;
  /** Region gateway (GraphQL, /health, /ready). */
  readonly gatewayPort: number;
  /** Fan-out hub (SSE/WebSocket). */
  readonly hubPort: number;
  /** Legacy SOAP payment provider. */
  readonly soapPort: number;
  /** Commerce subgraph (internal, behind the gateway). */
  readonly commerceSubgraphPort: number;
  /** Inventory gRPC service (internal). */
  readonly inventoryGrpcPort: number;
  /** The partner's SOAP endpoint; undefined runs the local stand-in on soapPort. */
  readonly paymentProviderUrl: string | undefined;
  readonly endpoints: RegionEndpoints;
}

function port(env: Record<string, string | undefined>, variable: string, fallback: number): number {
  const raw = env[variable];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    throw new ConfigError(`${variable}: "${raw}" is not a TCP port`);
  }
  return value;
}

function url(env: Record<string, string | undefined>, variable: string): string | undefined {
  const raw = env[variable];
  if (raw === undefined || raw === '') return undefined;
  try {
    const parsed = new URL(raw);
    if (parsed.protocol === 'http:' || parsed.protocol === 'https:') return raw;
  } catch {
    // reported below
  }
  throw new ConfigError(`${variable}: "${raw}" is not an http(s) URL`);
}

/** The region's configuration, with MERIDIAN_<REGION>_*_PORT and endpoint overrides applied. */
export function regionConfig(profile: RegionProfile, env: Record<string, string | undefined>): RegionConfig {
  const { region } = profile;
  const prefix = `MERIDIAN_${region.toUpperCase()}`;
  return {
    ...profile,
    gatewayPort: port(env, `${prefix}_GATEWAY_PORT`, defaultPort(region, 'gateway')),
    hubPort: port(env, `${prefix}_HUB_PORT`, defaultPort(region, 'hub')),
    soapPort: port(env, `${prefix}_SOAP_PORT`, defaultPort(region, 'soap')),
    commerceSubgraphPort: port(env, `${prefix}_COMMERCE_SUBGRAPH_PORT`, defaultPort(region, 'commerceSubgraph')),
    inventoryGrpcPort: port(env, `${prefix}_INVENTORY_GRPC_PORT`, defaultPort(region, 'inventoryGrpc')),
    paymentProviderUrl: url(env, `${prefix}_PAYMENT_PROVIDER_URL`),
    endpoints: resolveEndpoints(region, env),
  };
}
