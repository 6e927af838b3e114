/**
 * CommandSender over MQTT, as the platform's command user: a QoS 1 publish to
 * `devices/<mqttId>/commands/firmware`, resolved when the broker acknowledged it (PUBACK). The
 * broker keeps it for a device that is offline with a persistent session (MQTT 5 §4.1: the
 * session holds "QoS 1 and QoS 2 messages pending transmission to the Client"). Refused at once
 * when not connected, rather than queued in this process where a crash would lose it.
 */
import type { MqttClient } from 'mqtt';
import type { CommandSender } from '../../domains/iot/ports.ts';
import { deviceTopics } from '../../domains/iot/topics.ts';
import { DomainError } from '../../domains/shared/errors.ts';
import { withTimeout } from '../adapters/dependency.ts';

export function createMqttCommandSender(client: MqttClient, opts: { timeoutMs?: number } = {}): CommandSender {
  return {
    async sendFirmware(mqttId, command) {
      if (!client.connected) {
        throw new DomainError('DEPENDENCY_UNAVAILABLE', 'not connected to the broker', { retryable: true });
      }
      const topic = deviceTopics(mqttId).firmwareCommand;
      try {
        const sent = client.publishAsync(topic, JSON.stringify(command), { qos: 1 });
        await withTimeout(sent, opts.timeoutMs ?? 5000, `firmware command to ${mqttId}`);
      } catch (err) {
        throw new DomainError('DEPENDENCY_UNAVAILABLE', `firmware command to ${mqttId}: ${(err as Error).message}`, {
          retryable: true,
          cause: err,
        });
      }
    },
  };
}
