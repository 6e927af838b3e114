/**
 * The bridge's settings from the environment, validated once (used by bridges/mqtt/main.ts and
 * by the IoT module, which passes its region's MERIDIAN_<REGION>_IOT_* settings):
 * - `BRIDGE_CONNECTIONS`: shared-subscription members in this process (default 4; 0: no bridge);
 * - `BRIDGE_INSTANCE`: stable name of this process's members (default `host`): a restarted
 *   process must reuse it to resume its sessions; two live processes must never share it;
 * - `MQTT_BRIDGE_PASSWORD`: the `meridian-bridge` user's password (the local stack's by default;
 *   production refuses that default).
 */
import { ConfigError } from '../../infra/config/endpoints.ts';
import { LOCAL_MQTT_PASSWORD, MQTT_USERS, withCredentials } from '../../infra/config/mqtt-users.ts';

const INSTANCE = /^[a-z0-9][a-z0-9-]{0,40}$/;

export interface BridgeSettings {
  readonly connections: number;
  readonly instance: string;
  /** The region broker's URL with the bridge's credentials. */
  readonly mqttUrl: string;
}

/**
 * Reads the bridge settings; `get(name)` answers the value of MERIDIAN_<REGION>_IOT_<name>,
 * `variable(name)` its full name (for messages).
 */
export function bridgeSettings(
  regionMqttUrl: string,
  get: (name: string) => string | undefined,
  variable: (name: string) => string,
  production: boolean,
  overrides: { connections?: number; instance?: string } = {},
): BridgeSettings {
  const rawConnections = get('BRIDGE_CONNECTIONS');
  const connections = overrides.connections ?? (rawConnections === undefined ? 4 : Number(rawConnections));
  if (!Number.isInteger(connections) || connections < 0 || connections > 64) {
    throw new ConfigError(`${variable('BRIDGE_CONNECTIONS')}: "${rawConnections}" is not 0-64`);
  }
  const instance = overrides.instance ?? get('BRIDGE_INSTANCE') ?? 'host';
  if (!INSTANCE.test(instance))
    throw new ConfigError(`${variable('BRIDGE_INSTANCE')}: "${instance}" is not ${INSTANCE.source}`);
  const password = get('MQTT_BRIDGE_PASSWORD') ?? LOCAL_MQTT_PASSWORD;
  if (production && password === LOCAL_MQTT_PASSWORD) {
    throw new ConfigError(`${variable('MQTT_BRIDGE_PASSWORD')} must be set in production (not the local default)`);
  }
  return { connections, instance, mqttUrl: withCredentials(regionMqttUrl, MQTT_USERS.bridge, password) };
}
