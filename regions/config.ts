/**
 * A region's configuration: its name, the ports its processes serve on, where its
 * dependencies live, and the region's other MERIDIAN_<REGION>_* settings (domain modules'
 * ports and options, read by name through the host). Built once at start from the
 * environment and validated.
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
  /** Region gateway (GraphQL, /health, /ready). */
  readonly gatewayPort: number;
  /** Fan-out hub (SSE/WebSocket). */
  readonly hubPort: number;
  /** The region's gRPC server (every domain's internal gRPC services). */
  readonly grpcPort: number;
  /** Every domain module port on any free port (tests running beside `npm start`). */
  readonly anyFreeDomainPorts: boolean;
  /** `MERIDIAN_<REGION>_<NAME>` values by NAME, e.g. `COMMERCE_SUBGRAPH_PORT`. */
  readonly settings: Readonly<Record<string, string>>;
  /** NODE_ENV=production: development conveniences are off. */
  readonly production: boolean;
  readonly endpoints: RegionEndpoints;
  /** The peer region's endpoints (what a domain must reach in both regions, e.g. both device brokers). */
  readonly peerEndpoints: RegionEndpoints;
}

/** Parses a port variable's value; ConfigError naming the variable when it is not a TCP port. */
export function parsePort(variable: string, raw: string): number {
  const value = Number(raw);
  if (!/^\d{1,5}$/.test(raw) || value > 65535) throw new ConfigError(`${variable}: "${raw}" is not a TCP port`);
  return value;
}

function port(env: Record<string, string | undefined>, variable: string, fallback: number): number {
  const raw = env[variable];
  return raw === undefined || raw === '' ? fallback : parsePort(variable, raw);
}

/** The region's configuration, with MERIDIAN_<REGION>_* overrides applied. */
export function regionConfig(profile: RegionProfile, env: Record<string, string | undefined>): RegionConfig {
  const { region } = profile;
  const prefix = `MERIDIAN_${region.toUpperCase()}_`;
  const settings: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (name.startsWith(prefix) && value !== undefined && value !== '') settings[name.slice(prefix.length)] = value;
  }
  return {
    ...profile,
    gatewayPort: port(env, `${prefix}GATEWAY_PORT`, defaultPort(region, 'gateway')),
    hubPort: port(env, `${prefix}HUB_PORT`, defaultPort(region, 'hub')),
    grpcPort: port(env, `${prefix}GRPC_PORT`, defaultPort(region, 'grpc')),
    anyFreeDomainPorts: false,
    settings,
    production: env.NODE_ENV === 'production',
    endpoints: resolveEndpoints(region, env),
    peerEndpoints: resolveEndpoints(profile.peer, env),
  };
}
