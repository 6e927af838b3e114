/** A dynamic-security admin connection to one region's broker. */
import { createDynsecClient } from '../adapters/dynsec.ts';
import { createMqtt, type MqttDependency } from '../adapters/mqtt.ts';
import type { BrokerAdmin } from './device-access.dynsec.ts';

export interface OpenBrokerAdmin extends BrokerAdmin {
  readonly mqtt: MqttDependency;
  close(): Promise<void>;
}

/** Connects (in the background, reconnecting) as the admin user carried in `url`. */
export function openBrokerAdmin(region: string, url: string, clientId: string): OpenBrokerAdmin {
  // Commands are never queued for a reconnect (dynsec.ts says why).
  const mqtt = createMqtt({ url, clientId, options: { queueQoSZero: false, clean: true } });
  const dynsec = createDynsecClient(mqtt.client);
  return {
    region,
    dynsec,
    mqtt,
    async close() {
      await dynsec.close();
      await mqtt.close();
    },
  };
}
