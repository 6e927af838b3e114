/**
 * The IoT benchmark's second baseline: the least a bridge built on the platform's libraries can
 * do. It takes the same shared subscription through the bridge's own MQTT layer
 * (bridges/mqtt/connection.ts: PUBACK only once Kafka has the message) and forwards every message
 * as it came, keyed by device, to one Kafka topic with an idempotent kafkajs producer (acks=all,
 * one request in flight, as the bridge produces): no validation, no envelope, no ordering gate, no
 * dead letters. What the bridge does beyond this costs the difference.
 * Arguments: --url (MQTT, with the bridge's credentials), --connections, --brokers (comma-separated),
 * --topic. Prints {"ready":true}, then on SIGTERM one JSON line: forwarded, acknowledged, CPU time.
 */
import { parseArgs } from 'node:util';
import { type BridgeConnection, type Incoming, openBridgeConnection } from '../../bridges/mqtt/connection.ts';
import { BRIDGE_SUBSCRIPTIONS } from '../../domains/iot/topics.ts';
import { createKafka } from '../../infra/adapters/kafka.ts';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    connections: { type: 'string', default: '4' },
    brokers: { type: 'string' },
    topic: { type: 'string' },
    instance: { type: 'string', default: 'floor' },
  },
});
const topic = values.topic as string;
const kafka = createKafka({ brokers: (values.brokers as string).split(','), clientId: 'bench-iot-floor' });
const producer = await kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
const cpu0 = process.cpuUsage();

const MAX_BATCH = 2000;
let incoming: Array<{ conn: BridgeConnection; message: Incoming }> = [];
let forwarded = 0;
let acked = 0;
let wake: (() => void) | undefined;
let running = true;

const connections: BridgeConnection[] = Array.from({ length: Number(values.connections) }, (_, n) => {
  const conn: BridgeConnection = openBridgeConnection({
    url: values.url as string,
    clientId: `meridian-bench-floor-${values.instance}-${n}`,
    subscriptions: BRIDGE_SUBSCRIPTIONS,
    sessionExpirySeconds: 60,
    receiveMaximum: 1000,
    onMessage: (message) => {
      incoming.push({ conn, message });
      wake?.();
    },
    // As the bridge: stop reading while a full batch waits (the rest waits at the broker).
    holdBack: () => incoming.length >= 2 * MAX_BATCH,
  });
  return conn;
});
await Promise.all(connections.map((c) => c.start(10_000)));

/** `devices/<tenant>.<device>/telemetry` → `<tenant>.<device>`. */
const keyOf = (t: string) => t.slice(8, t.indexOf('/', 8));

async function run() {
  while (running || incoming.length) {
    if (!incoming.length) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 50);
      });
      wake = undefined;
      continue;
    }
    const batch = incoming.slice(0, MAX_BATCH);
    incoming = incoming.slice(MAX_BATCH);
    for (const c of connections) c.resume();
    await producer.sendBatch({
      acks: -1,
      topicMessages: [
        { topic, messages: batch.map(({ message }) => ({ key: keyOf(message.topic), value: message.payload })) },
      ],
    });
    forwarded += batch.length;
    for (const { conn, message } of batch) {
      conn.ack(message);
      acked++;
    }
  }
}
const loop = run();
console.log(JSON.stringify({ ready: true }));
process.on('SIGTERM', async () => {
  running = false;
  await loop;
  const cpu = process.cpuUsage(cpu0);
  await Promise.all(connections.map((c) => c.close(true)));
  await kafka.close();
  console.log(JSON.stringify({ forwarded, acked, cpuMs: (cpu.user + cpu.system) / 1000 }));
  process.exit(0);
});
