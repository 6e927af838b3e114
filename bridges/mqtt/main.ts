/**
 * The MQTT → Kafka bridge as its own process: `node bridges/mqtt/main.ts <east|west>
 * [--instance <name>] [--connections <n>] [--session-expiry <seconds>]` (how long the broker
 * keeps a stopped member's session and its share of the group; a week by default, so a
 * restarted instance resumes; a throwaway instance, such as a benchmark's, wants minutes).
 * Composition root: reads the environment once (the region's MQTT, Kafka and Redis endpoints,
 * MERIDIAN_<REGION>_IOT_BRIDGE_* settings).
 * Prints one JSON line when subscribed (`{"ready":true,...}`) and its counters every
 * `--stats-ms` (default 0: never); SIGTERM/SIGINT stop it gracefully (leave the group, finish,
 * end the sessions). A SIGKILL leaves its sessions to the broker until the same instance returns.
 */
import { parseArgs } from 'node:util';
import { createKafka } from '../../infra/adapters/kafka.ts';
import { createRedis } from '../../infra/adapters/redis.ts';
import { ConfigError, parseRegion, resolveEndpoints } from '../../infra/config/endpoints.ts';
import { createRedisSequenceGate } from '../../infra/iot/sequence-gate.redis.ts';
import { createMqttBridge } from './bridge.ts';
import { bridgeSettings } from './config.ts';

try {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      instance: { type: 'string' },
      connections: { type: 'string' },
      'session-expiry': { type: 'string' },
      'stats-ms': { type: 'string', default: '0' },
    },
  });
  const region = parseRegion(positionals[0]);
  const env = process.env;
  const prefix = `MERIDIAN_${region.toUpperCase()}_IOT_`;
  const endpoints = resolveEndpoints(region, env);
  const settings = bridgeSettings(
    endpoints.mqttUrl,
    (name) => env[`${prefix}${name}`] || undefined,
    (name) => `${prefix}${name}`,
    env.NODE_ENV === 'production',
    {
      ...(values.connections !== undefined ? { connections: Number(values.connections) } : {}),
      ...(values.instance !== undefined ? { instance: values.instance } : {}),
    },
  );
  const sessionExpiry = values['session-expiry'] === undefined ? undefined : Number(values['session-expiry']);
  if (
    sessionExpiry !== undefined &&
    !(Number.isInteger(sessionExpiry) && sessionExpiry >= 0 && sessionExpiry <= 4294967295)
  )
    throw new ConfigError(`--session-expiry: "${values['session-expiry']}" is not a number of seconds`);
  const kafka = createKafka({
    brokers: endpoints.kafkaBrokers,
    clientId: `mqtt-bridge-${region}-${settings.instance}`,
  });
  const redis = createRedis({ url: endpoints.redisUrl });
  const bridge = createMqttBridge(
    {
      region,
      mqttUrl: settings.mqttUrl,
      instance: settings.instance,
      connections: settings.connections,
      ...(sessionExpiry !== undefined ? { sessionExpirySeconds: sessionExpiry } : {}),
    },
    { kafka, gate: createRedisSequenceGate(redis.client), log: (line) => console.error(line) },
  );
  await bridge.start();
  console.log(JSON.stringify({ ready: true, region, instance: settings.instance, pid: process.pid }));
  const every = Number(values['stats-ms']);
  const timer =
    every > 0
      ? setInterval(() => console.log(JSON.stringify({ stats: bridge.stats, pending: bridge.pending })), every)
      : undefined;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    clearInterval(timer);
    await bridge.stop();
    await Promise.allSettled([kafka.close(), redis.close()]);
    console.log(JSON.stringify({ stopped: true, stats: bridge.stats }));
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} catch (err) {
  console.error(err instanceof ConfigError ? `mqtt bridge: ${err.message}` : (err as Error).stack);
  process.exit(1);
}
