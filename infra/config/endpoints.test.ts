import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ConfigError,
  DEFAULT_PORTS,
  defaultPort,
  envName,
  FIXED_PORT_RANGES,
  JAEGER_HEALTH_PORT,
  JAEGER_OTLP_HTTP_PORT,
  JAEGER_QUERY_GRPC_PORT,
  JAEGER_QUERY_PORT,
  type PortName,
  parseRegion,
  RABBITMQ_DIST_PORT,
  RABBITMQ_EPMD_PORT,
  RABBITMQ_PORT,
  REGIONS,
  resolveEndpoints,
} from './endpoints.ts';

describe('endpoints', () => {
  it('every fixed port lies in a reserved range (stack up keeps them out of the ephemeral ports)', () => {
    const fixed = [
      ...REGIONS.flatMap((r) => (Object.keys(DEFAULT_PORTS) as PortName[]).map((n) => defaultPort(r, n))),
      RABBITMQ_PORT,
      RABBITMQ_DIST_PORT,
      RABBITMQ_EPMD_PORT,
      JAEGER_OTLP_HTTP_PORT,
      JAEGER_QUERY_PORT,
      JAEGER_QUERY_GRPC_PORT,
      JAEGER_HEALTH_PORT,
    ];
    for (const port of fixed)
      assert.ok(
        FIXED_PORT_RANGES.some(([a, b]) => port >= a && port <= b),
        `${port} is outside ${JSON.stringify(FIXED_PORT_RANGES)}`,
      );
  });

  it('defaults follow the port contract (east 41xxx, west 42xxx)', () => {
    const e = resolveEndpoints('east', {});
    assert.equal(e.postgresUrl, 'postgres://meridian:meridian@127.0.0.1:41432/meridian');
    assert.equal(e.redisUrl, 'redis://127.0.0.1:41379');
    assert.deepEqual(e.kafkaBrokers, ['127.0.0.1:41092']);
    assert.equal(e.mongoUrl, 'mongodb://127.0.0.1:41017/meridian');
    assert.equal(e.amqpUrl, 'amqp://meridian:meridian@127.0.0.1:45672/east');
    assert.equal(e.mqttUrl, 'mqtt://meridian:meridian@127.0.0.1:41883');
    assert.equal(e.external.size, 0);
    assert.equal(defaultPort('west', 'kafkaController'), 42093);
  });

  it('an environment override replaces one endpoint and marks it external', () => {
    const w = resolveEndpoints('west', {
      [envName('west', 'kafka')]: 'b1.example:9092, b2.example:9092',
      [envName('west', 'redis')]: 'rediss://cache.example:6380',
    });
    assert.deepEqual(w.kafkaBrokers, ['b1.example:9092', 'b2.example:9092']);
    assert.equal(w.redisUrl, 'rediss://cache.example:6380');
    assert.deepEqual([...w.external].sort(), ['kafka', 'redis']);
    assert.equal(w.postgresUrl, 'postgres://meridian:meridian@127.0.0.1:42432/meridian');
  });

  it('rejects a malformed override with the variable name', () => {
    assert.throws(
      () => resolveEndpoints('east', { MERIDIAN_EAST_POSTGRES_URL: 'mysql://x/y' }),
      (err: unknown) => err instanceof ConfigError && /MERIDIAN_EAST_POSTGRES_URL.*mysql:/.test(err.message),
    );
    assert.throws(() => resolveEndpoints('east', { MERIDIAN_EAST_KAFKA_BROKERS: 'no-port' }), ConfigError);
    assert.throws(() => resolveEndpoints('east', { MERIDIAN_EAST_MQTT_URL: 'not a url' }), ConfigError);
  });

  it('parses region names strictly', () => {
    assert.equal(parseRegion('west'), 'west');
    assert.throws(() => parseRegion('north'), /east, west/);
    assert.throws(() => parseRegion(undefined), ConfigError);
  });
});
