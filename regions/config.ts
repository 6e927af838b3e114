/**
 * A region's configuration: its name, the ports its processes serve on, where its
 * dependencies live, and the region's other MERIDIAN_<REGION>_* settings (domain modules'
 * ports and options, read by name through the host). Built once at start from the
 * environment and validated.
 */
import {
  ConfigError,
  defaultPort,
  parseRegion,
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
  /**
   * Module ports not set one by one take any free port (tests and benchmarks running beside
   * `npm start`): MERIDIAN_<REGION>_DOMAIN_PORTS=any.
   */
  readonly anyFreeDomainPorts: boolean;
  /** `MERIDIAN_<REGION>_<NAME>` values by NAME, e.g. `COMMERCE_SUBGRAPH_PORT`. */
  readonly settings: Readonly<Record<string, string>>;
  /** NODE_ENV=production: development conveniences are off. */
  readonly production: boolean;
  /** Bearer token of the region's ops endpoints (PUT /ops/writer); undefined disables them. */
  readonly opsToken: string | undefined;
  /** The writer of single-writer aggregates that were never moved (epoch 0). */
  readonly initialWriter: Region;
  /** The peer region's gateway, polled for writer moves this region missed; undefined: no polling. */
  readonly peerGatewayUrl: string | undefined;
  readonly endpoints: RegionEndpoints;
  /** The peer region's endpoints (what a domain must reach in both regions, e.g. both device brokers). */
  readonly peerEndpoints: RegionEndpoints;
}

/** The ops token `npm start` uses; refused in production. */
export const DEV_OPS_TOKEN = 'dev-ops-token';

/** Parses a port variable's value; ConfigError naming the variable when it is not a TCP port. */
export function parsePort(variable: string, raw: string): number {
  const value = Number(raw);
  if (!/^\d{1,5}$/.test(raw) || value > 65535) throw new ConfigError(`${variable}: "${raw}" is not a TCP port`);
  return value;
}

function writerRegion(raw: string): Region {
  try {
    return parseRegion(raw);
  } catch {
    throw new ConfigError(`MERIDIAN_WRITER_REGION: "${raw}" is not a region`);
  }
}

function port(env: Record<string, string | undefined>, variable: string, fallback: number): number {
  const raw = env[variable];
  return raw === undefined || raw === '' ? fallback : parsePort(variable, raw);
}

function httpUrl(variable: string, raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${variable}: "${raw}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ConfigError(`${variable}: "${raw}" is not http(s)`);
  return raw.replace(/\/+$/, '');
}

function opsToken(env: Record<string, string | undefined>, production: boolean): string | undefined {
  const token = env.MERIDIAN_OPS_TOKEN?.trim() || (production ? undefined : DEV_OPS_TOKEN);
  if (production && token !== undefined && (token === DEV_OPS_TOKEN || token.length < 32)) {
    throw new ConfigError('MERIDIAN_OPS_TOKEN must be a secret of at least 32 characters in production');
  }
  return token;
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
    anyFreeDomainPorts: env[`${prefix}DOMAIN_PORTS`] === 'any',
    settings,
    production: env.NODE_ENV === 'production',
    opsToken: opsToken(env, env.NODE_ENV === 'production'),
    initialWriter: env.MERIDIAN_WRITER_REGION ? writerRegion(env.MERIDIAN_WRITER_REGION) : 'east',
    peerGatewayUrl:
      httpUrl(`${prefix}PEER_GATEWAY_URL`, env[`${prefix}PEER_GATEWAY_URL`]) ??
      `http://127.0.0.1:${defaultPort(profile.peer, 'gateway')}`,
    endpoints: resolveEndpoints(region, env),
    peerEndpoints: resolveEndpoints(profile.peer, env),
  };
}
