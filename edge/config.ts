/**
 * The edge's configuration, read once from an environment map by the entry points
 * (main.deno.ts, main.node.ts) and validated with clear messages. Pure: no runtime APIs.
 */
import { GRAPHQL_LIMITS } from './graphql/limits.ts';

export type RegionName = 'east' | 'west';
export const REGION_NAMES: readonly RegionName[] = ['east', 'west'];

export interface EdgeConfig {
  readonly port: number;
  readonly regions: Readonly<Record<RegionName, { readonly gatewayUrl: string; readonly hubUrl: string }>>;
  readonly nearest: RegionName;
  readonly writer: RegionName;
  readonly jwt: { readonly issuer: string; readonly audience: string; readonly jwksUrl: string };
  /** Rate-limit counters shared between edge instances; in-memory when undefined. */
  readonly redisUrl: string | undefined;
  readonly cacheMaxBytes: number;
  readonly maxBodyBytes: number;
  readonly maxDepth: number;
  readonly maxCost: number;
  readonly healthIntervalMs: number;
  /** Bearer token for /ops endpoints; ops are disabled when undefined. */
  readonly opsToken: string | undefined;
  /** Token the edge presents to the regions' ops endpoints when it moves the writer. */
  readonly regionOpsToken: string | undefined;
  /** Token the edge presents to the regions' purge streams (scope edge:purge). */
  readonly purgeToken: string | undefined;
  /** NODE_ENV=production: development conveniences are refused unless opted in (see edgeConfig). */
  readonly production: boolean;
  /** WebSocket pass-through limits (edge/routing/ws-proxy.ts). */
  readonly ws: { readonly maxBufferedBytes: number; readonly maxMessageBytes: number };
  readonly limits: {
    readonly tenant: { readonly capacity: number; readonly refillPerSecond: number };
    readonly client: { readonly capacity: number; readonly refillPerSecond: number };
    readonly anonymous: { readonly capacity: number; readonly refillPerSecond: number };
  };
}

export class EdgeConfigError extends Error {
  readonly code = 'EDGE_CONFIG_INVALID';
}

type Env = Record<string, string | undefined>;

function str(env: Env, name: string, fallback?: string): string {
  const v = env[name]?.trim() || fallback;
  if (v === undefined) throw new EdgeConfigError(`${name} is required`);
  return v;
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new EdgeConfigError(`${name}: "${raw}" must be an integer from ${min} to ${max}`);
  }
  return n;
}

function httpUrl(env: Env, name: string, fallback: string): string {
  const v = str(env, name, fallback);
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new EdgeConfigError(`${name}: "${v}" is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new EdgeConfigError(`${name}: "${v}" is not http(s)`);
  return v.replace(/\/+$/, '');
}

function region(env: Env, name: string, fallback: RegionName): RegionName {
  const v = str(env, name, fallback);
  if (v !== 'east' && v !== 'west') throw new EdgeConfigError(`${name}: "${v}" must be east or west`);
  return v;
}

function bucket(env: Env, prefix: string, capacity: number, refill: number) {
  return {
    // Cost units, not requests: a list query costs tens to hundreds, so a benchmark that must
    // never be limited needs more than a million a second.
    capacity: int(env, `${prefix}_CAPACITY`, capacity, 1, 1_000_000_000),
    refillPerSecond: int(env, `${prefix}_REFILL_PER_SECOND`, refill, 1, 1_000_000_000),
  };
}

/** The ops token `npm start` uses; never accepted in production. */
export const DEV_OPS_TOKEN = 'dev-ops-token';

/**
 * Production mode (NODE_ENV=production) refuses the development conveniences: the local dev
 * issuer as the token authority (it mints tokens for anyone) and the edge minting its own purge
 * token from it, unless MERIDIAN_DEV_ISSUER=enabled says so by name; and a guessable ops token.
 */
function checkProduction(env: Env, config: EdgeConfig): void {
  if (!config.production) return;
  const devIssuer = env.MERIDIAN_DEV_ISSUER?.trim() === 'enabled';
  if (!devIssuer) {
    for (const name of ['MERIDIAN_JWT_ISSUER', 'MERIDIAN_JWKS_URL', 'MERIDIAN_EDGE_PURGE_TOKEN']) {
      if (!env[name]?.trim()) {
        throw new EdgeConfigError(
          `${name} is required in production (NODE_ENV=production); the local development issuer is used only with MERIDIAN_DEV_ISSUER=enabled`,
        );
      }
    }
  }
  if (config.opsToken !== undefined && (config.opsToken === DEV_OPS_TOKEN || config.opsToken.length < 32)) {
    throw new EdgeConfigError('MERIDIAN_EDGE_OPS_TOKEN must be a secret of at least 32 characters in production');
  }
}

/** The edge configuration from an environment map (local defaults: the two local regions). */
export function edgeConfig(env: Env): EdgeConfig {
  const config = readConfig(env);
  checkProduction(env, config);
  return config;
}

function readConfig(env: Env): EdgeConfig {
  const gateway = (r: RegionName, port: number) =>
    httpUrl(env, `MERIDIAN_EDGE_${r.toUpperCase()}_GATEWAY_URL`, `http://127.0.0.1:${port}`);
  const hub = (r: RegionName, port: number) =>
    httpUrl(env, `MERIDIAN_EDGE_${r.toUpperCase()}_HUB_URL`, `http://127.0.0.1:${port}`);
  const east = gateway('east', 41000);
  return {
    port: int(env, 'MERIDIAN_EDGE_PORT', 8080, 0, 65535),
    regions: {
      east: { gatewayUrl: east, hubUrl: hub('east', 41001) },
      west: { gatewayUrl: gateway('west', 42000), hubUrl: hub('west', 42001) },
    },
    nearest: region(env, 'MERIDIAN_EDGE_NEAREST_REGION', 'east'),
    writer: region(env, 'MERIDIAN_EDGE_WRITER_REGION', 'east'),
    jwt: {
      issuer: str(env, 'MERIDIAN_JWT_ISSUER', 'meridian-dev'),
      audience: str(env, 'MERIDIAN_JWT_AUDIENCE', 'meridian'),
      jwksUrl: httpUrl(env, 'MERIDIAN_JWKS_URL', `${east}/.well-known/jwks.json`),
    },
    redisUrl: env.MERIDIAN_EDGE_REDIS_URL?.trim() || undefined,
    cacheMaxBytes: int(env, 'MERIDIAN_EDGE_CACHE_BYTES', 64 * 1024 * 1024, 1024, 2 ** 40),
    maxBodyBytes: int(env, 'MERIDIAN_EDGE_MAX_BODY_BYTES', GRAPHQL_LIMITS.maxBodyBytes, 1024, 16 * 1024 * 1024),
    maxDepth: int(env, 'MERIDIAN_EDGE_MAX_DEPTH', GRAPHQL_LIMITS.maxDepth, 1, 100),
    maxCost: int(env, 'MERIDIAN_EDGE_MAX_COST', GRAPHQL_LIMITS.maxCost, 1, 10_000_000),
    healthIntervalMs: int(env, 'MERIDIAN_EDGE_HEALTH_INTERVAL_MS', 1000, 50, 60_000),
    opsToken: env.MERIDIAN_EDGE_OPS_TOKEN?.trim() || undefined,
    purgeToken: env.MERIDIAN_EDGE_PURGE_TOKEN?.trim() || undefined,
    regionOpsToken:
      env.MERIDIAN_EDGE_REGION_OPS_TOKEN?.trim() || (env.NODE_ENV?.trim() === 'production' ? undefined : DEV_OPS_TOKEN),
    production: env.NODE_ENV?.trim() === 'production',
    ws: {
      maxBufferedBytes: int(env, 'MERIDIAN_EDGE_WS_MAX_BUFFERED_BYTES', 1 << 20, 1024, 1 << 30),
      maxMessageBytes: int(env, 'MERIDIAN_EDGE_WS_MAX_MESSAGE_BYTES', 64 * 1024, 256, 16 << 20),
    },
    limits: {
      tenant: bucket(env, 'MERIDIAN_EDGE_TENANT_LIMIT', 6000, 100),
      client: bucket(env, 'MERIDIAN_EDGE_CLIENT_LIMIT', 1200, 20),
      anonymous: bucket(env, 'MERIDIAN_EDGE_ANONYMOUS_LIMIT', 600, 10),
    },
  };
}
