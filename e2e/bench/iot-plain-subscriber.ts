/**
 * The IoT benchmark's baseline: a plain subscriber on the same broker, in the same shared group
 * and with as many connections as the bridges, that acknowledges each QoS 1 message at once (no
 * validation, no Kafka). Counts readings of one tenant until told to stop (SIGTERM), then prints
 * one JSON line: how many, the last arrival, and its CPU time.
 */
import { parseArgs } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import { BRIDGE_SUBSCRIPTIONS } from '../../domains/iot/topics.ts';

const { values } = parseArgs({
  options: { url: { type: 'string' }, connections: { type: 'string', default: '8' }, tenant: { type: 'string' } },
});
const prefix = `devices/${values.tenant}.`;
let received = 0;
let lastAt = 0;
const cpu0 = process.cpuUsage();
const clients: MqttClient[] = await Promise.all(
  Array.from(
    { length: Number(values.connections) },
    (_, n) =>
      new Promise<MqttClient>((resolve, reject) => {
        const c = mqtt.connect(values.url as string, {
          clientId: `meridian-bench-plain-${n}`,
          protocolVersion: 5,
          clean: true,
          properties: { receiveMaximum: 1000 },
        });
        c.on('message', (topic: string) => {
          if (!topic.startsWith(prefix)) return;
          received++;
          lastAt = Date.now();
        });
        c.once('connect', () =>
          c.subscribeAsync([BRIDGE_SUBSCRIPTIONS[0] as string], { qos: 1 }).then(() => resolve(c), reject),
        );
        c.once('error', reject);
      }),
  ),
);
console.log(JSON.stringify({ ready: true }));
process.on('SIGTERM', async () => {
  const cpu = process.cpuUsage(cpu0);
  await Promise.all(clients.map((c) => c.endAsync()));
  console.log(JSON.stringify({ received, lastAt, cpuMs: (cpu.user + cpu.system) / 1000 }));
  process.exit(0);
});
