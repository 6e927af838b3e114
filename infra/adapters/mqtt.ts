/** MQTT adapter (mqtt.js v5): one client per region broker, reconnecting on its own. */

import type { IClientOptions, MqttClient } from 'mqtt';
import mqtt from 'mqtt';
import type { Dependency } from './dependency.ts';

export interface MqttConfig {
  readonly url: string;
  readonly clientId: string;
  readonly options?: IClientOptions;
}

export interface MqttDependency extends Dependency {
  readonly client: MqttClient;
}

const silent = () => {};

/**
 * mqtt.js's logger for our clients. mqtt.js logs through `debug` several times for every packet,
 * building each call's arguments even with nothing enabled: 2–3% of the MQTT bridge's CPU under
 * load. So our clients log nothing unless `DEBUG` is set, in which case mqtt.js's own `debug`
 * logger is used and decides as usual (`DEBUG=mqttjs*`).
 */
export function mqttLog(env: NodeJS.ProcessEnv = process.env): IClientOptions['log'] {
  return env.DEBUG ? undefined : silent;
}

export function createMqtt(config: MqttConfig): MqttDependency {
  const client = mqtt.connect(config.url, {
    clientId: config.clientId,
    log: mqttLog(),
    protocolVersion: 5,
    reconnectPeriod: 1000,
    connectTimeout: 3000,
    ...config.options,
  });
  client.on('error', () => {});
  let closed = false;
  return {
    name: 'mqtt',
    client,
    ping() {
      // $SYS/broker/version is retained by Mosquitto: a subscribe round-trips the broker.
      return new Promise<string>((resolve, reject) => {
        if (!client.connected) {
          reject(new Error(`not connected to ${config.url}`));
          return;
        }
        const topic = '$SYS/broker/version';
        const onMessage = (t: string, payload: Buffer) => {
          if (t !== topic) return;
          client.off('message', onMessage);
          client.unsubscribe(topic);
          resolve(payload.toString());
        };
        client.on('message', onMessage);
        client.subscribe(topic, { qos: 0 }, (err) => {
          if (err) {
            client.off('message', onMessage);
            reject(err);
          }
        });
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      await client.endAsync();
    },
  };
}

/** Resolves once the client is connected (or rejects after `ms`). */
export function connected(client: MqttClient, ms = 5000): Promise<void> {
  if (client.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('connect', onConnect);
      reject(new Error(`MQTT connect timed out after ${ms} ms`));
    }, ms);
    const onConnect = () => {
      clearTimeout(timer);
      resolve();
    };
    client.once('connect', onConnect);
  });
}
