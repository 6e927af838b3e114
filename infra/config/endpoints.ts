/**
 * Where each region's dependencies live. Local defaults are the documented port
 * contract of ARCHITECTURE.md; every endpoint can be overridden from the environment
 * so the same code runs against managed services. Pure: callers pass the environment.
 */

export const REGIONS = ['east', 'west'] as const;
export type Region = (typeof REGIONS)[number];

/** Port block per region: east uses 41xxx, west 42xxx. */
const BLOCK: Record<Region, number> = { east: 41000, west: 42000 };

/** Offsets in a region's block; domain modules declare their own (subgraphs 11-19, providers 80-89). */
export const DEFAULT_PORTS = {
  gateway: 0,
  hub: 1,
  grpc: 21,
  ferretdb: 17,
  ferretdbDebug: 18,
  kafka: 92,
  kafkaController: 93,
  redis: 379,
  postgres: 432,
  mqtt: 883,
} as const;

export type PortName = keyof typeof DEFAULT_PORTS;

/** The default local port of a region service. */
export function defaultPort(region: Region, name: PortName): number {
  return BLOCK[region] + DEFAULT_PORTS[name];
}

/** A port in the region's block by offset (a domain module's own ports). */
export function blockPort(region: Region, offset: number): number {
  if (!Number.isInteger(offset) || offset < 0 || offset > 999)
    throw new RangeError(`port offset ${offset} is not 0-999`);
  return BLOCK[region] + offset;
}

/**
 * Every fixed local port of the stack and the regions lies in one of these ranges (east's block,
 * west's, and the shared 45xxx services'). They sit inside Linux's ephemeral range (32768-60999),
 * so `stack up` reserves them (net.ipv4.ip_local_reserved_ports): else an outgoing connection may
 * be given one as its local port and a service starting then fails with EADDRINUSE.
 */
export const FIXED_PORT_RANGES: ReadonlyArray<readonly [number, number]> = [
  [BLOCK.east, BLOCK.east + 999],
  [BLOCK.west, BLOCK.west + 999],
  [45000, 45999],
];

export const RABBITMQ_PORT = 45672;
export const RABBITMQ_DIST_PORT = 45674;
export const RABBITMQ_EPMD_PORT = 45369;
/** Jaeger v2 (opt-in trace backend): OTLP/HTTP in, query API and UI, health. */
export const JAEGER_OTLP_HTTP_PORT = 45318;
export const JAEGER_QUERY_PORT = 45686;
export const JAEGER_QUERY_GRPC_PORT = 45685;
export const JAEGER_HEALTH_PORT = 45133;

/** Local credentials of the stack (development only; documented in the README). */
export const LOCAL_USER = 'meridian';
export const LOCAL_PASSWORD = 'meridian';

export interface RegionEndpoints {
  readonly region: Region;
  readonly postgresUrl: string;
  readonly redisUrl: string;
  readonly kafkaBrokers: readonly string[];
  readonly mongoUrl: string;
  readonly amqpUrl: string;
  readonly mqttUrl: string;
  /** Which endpoints came from the environment (the stack starts nothing for them). */
  readonly external: ReadonlySet<EndpointName>;
}

export type EndpointName = 'postgres' | 'redis' | 'kafka' | 'mongo' | 'amqp' | 'mqtt';

const ENV_SUFFIX: Record<EndpointName, string> = {
  postgres: 'POSTGRES_URL',
  redis: 'REDIS_URL',
  kafka: 'KAFKA_BROKERS',
  mongo: 'MONGO_URL',
  amqp: 'AMQP_URL',
  mqtt: 'MQTT_URL',
};

/** The environment variable that overrides one endpoint, e.g. MERIDIAN_EAST_POSTGRES_URL. */
export function envName(region: Region, name: EndpointName): string {
  return `MERIDIAN_${region.toUpperCase()}_${ENV_SUFFIX[name]}`;
}

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
}

function localDefaults(region: Region): Record<EndpointName, string> {
  const cred = `${LOCAL_USER}:${LOCAL_PASSWORD}`;
  return {
    postgres: `postgres://${cred}@127.0.0.1:${defaultPort(region, 'postgres')}/meridian`,
    redis: `redis://127.0.0.1:${defaultPort(region, 'redis')}`,
    kafka: `127.0.0.1:${defaultPort(region, 'kafka')}`,
    mongo: `mongodb://127.0.0.1:${defaultPort(region, 'ferretdb')}/meridian`,
    amqp: `amqp://${cred}@127.0.0.1:${RABBITMQ_PORT}/${region}`,
    // Anonymous access is off: the platform's general client logs in (infra/config/mqtt-users.ts).
    mqtt: `mqtt://${cred}@127.0.0.1:${defaultPort(region, 'mqtt')}`,
  };
}

const SCHEMES: Record<Exclude<EndpointName, 'kafka'>, readonly string[]> = {
  postgres: ['postgres:', 'postgresql:'],
  redis: ['redis:', 'rediss:'],
  mongo: ['mongodb:', 'mongodb+srv:'],
  amqp: ['amqp:', 'amqps:'],
  mqtt: ['mqtt:', 'mqtts:', 'ws:', 'wss:'],
};

function validate(name: EndpointName, variable: string, value: string): void {
  if (name === 'kafka') {
    for (const broker of value.split(',')) {
      if (!/^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/.test(broker.trim())) {
        throw new ConfigError(`${variable}: "${broker}" is not host:port (comma-separated list expected)`);
      }
    }
    return;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${variable}: "${value}" is not a URL`);
  }
  if (!SCHEMES[name].includes(url.protocol)) {
    throw new ConfigError(`${variable}: scheme ${url.protocol} is not one of ${SCHEMES[name].join(', ')}`);
  }
}

/** Resolves and validates one region's endpoints from an environment map. */
export function resolveEndpoints(region: Region, env: Record<string, string | undefined>): RegionEndpoints {
  const defaults = localDefaults(region);
  const external = new Set<EndpointName>();
  const pick = (name: EndpointName): string => {
    const variable = envName(region, name);
    const override = env[variable]?.trim();
    const value = override || defaults[name];
    validate(name, variable, value);
    if (override) external.add(name);
    return value;
  };
  return {
    region,
    postgresUrl: pick('postgres'),
    redisUrl: pick('redis'),
    kafkaBrokers: pick('kafka')
      .split(',')
      .map((b) => b.trim()),
    mongoUrl: pick('mongo'),
    amqpUrl: pick('amqp'),
    mqttUrl: pick('mqtt'),
    external,
  };
}

/** Parses a region name, with a clear error for anything else. */
export function parseRegion(value: string | undefined): Region {
  if (value === 'east' || value === 'west') return value;
  throw new ConfigError(`region must be one of ${REGIONS.join(', ')}, got "${value ?? ''}"`);
}
