/**
 * The IoT benchmark's load generator, a process of its own: connects devices with their
 * credentials (a JSON file: [{url, username, password, nextSeq}]) and publishes QoS 1 telemetry as
 * fast as PUBACKs allow (a window of in-flight messages per device), or at `--rate` msg/s in all,
 * for `--duration-ms`. Each payload carries its send time (`ts`). Prints one JSON line: counts,
 * first send and last PUBACK times, PUBACK latencies and its own CPU time; writes each device's next
 * seq back to the file (the next phase continues the devices' numbering).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import { summarize } from './stats.ts';

interface Cred {
  url: string;
  username: string;
  password: string;
  nextSeq: number;
}

const { values } = parseArgs({
  options: {
    creds: { type: 'string' },
    count: { type: 'string' },
    'duration-ms': { type: 'string', default: '15000' },
    rate: { type: 'string', default: '0' },
    window: { type: 'string', default: '8' },
  },
});
const file = values.creds as string;
const all = JSON.parse(readFileSync(file, 'utf8')) as Cred[];
const creds = all.slice(0, Number(values.count ?? all.length));
const durationMs = Number(values['duration-ms']);
const rate = Number(values.rate);
const window = Number(values.window);

const clients: MqttClient[] = await Promise.all(
  creds.map(
    (c) =>
      new Promise<MqttClient>((resolve, reject) => {
        const client = mqtt.connect(c.url, {
          username: c.username,
          password: c.password,
          clientId: c.username,
          protocolVersion: 5,
          clean: false,
          keepalive: 30,
          reconnectPeriod: 1000,
          properties: { sessionExpiryInterval: 3600 },
        });
        client.once('connect', () => resolve(client));
        client.once('error', reject);
      }),
  ),
);

const cpu0 = process.cpuUsage();
let sent = 0;
let acked = 0;
let failed = 0;
let lastAckAt = 0;
const pubackMs: number[] = [];
const firstAt = Date.now();
const end = firstAt + durationMs;
// A paced run spends a token per message; tokens come at `rate` per second.
let tokens = 0;
let tokenAt = performance.now();
function takeToken(): boolean {
  if (rate <= 0) return true;
  const now = performance.now();
  tokens = Math.min(rate, tokens + ((now - tokenAt) * rate) / 1000);
  tokenAt = now;
  if (tokens < 1) return false;
  tokens--;
  return true;
}

await Promise.all(
  clients.map(async (client, i) => {
    const cred = creds[i] as Cred;
    const topic = `devices/${cred.username}/telemetry`;
    let inFlight = 0;
    await new Promise<void>((done) => {
      const pump = () => {
        while (inFlight < window && Date.now() < end) {
          if (!takeToken()) {
            setTimeout(pump, 2);
            return;
          }
          const seq = cred.nextSeq++;
          const t0 = Date.now();
          const body = `{"seq":${seq},"ts":"${new Date(t0).toISOString()}","metrics":{"v":${seq % 1000}}}`;
          inFlight++;
          sent++;
          client.publish(topic, body, { qos: 1 }, (err) => {
            inFlight--;
            if (err) failed++;
            else {
              acked++;
              lastAckAt = Date.now();
              if (pubackMs.length < 200_000) pubackMs.push(lastAckAt - t0);
            }
            if (Date.now() < end) pump();
            else if (inFlight === 0) done();
          });
        }
        if (Date.now() >= end && inFlight === 0) done();
      };
      pump();
    });
  }),
);
const cpu = process.cpuUsage(cpu0);
await Promise.all(clients.map((c) => c.endAsync()));
writeFileSync(file, JSON.stringify(all));
console.log(
  JSON.stringify({
    devices: clients.length,
    sent,
    acked,
    failed,
    firstAt,
    lastAckAt,
    puback: summarize(pubackMs),
    cpuMs: (cpu.user + cpu.system) / 1000,
  }),
);
process.exit(0);
