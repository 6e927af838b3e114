/**
 * Partners benchmarks, east, on the real stack. The region host (management API only) runs in this
 * process; the roles measured run as processes of their own, so this process — the load generator
 * and the receiver — does not share their CPU. CPU seconds of both sides are reported.
 *
 * 1. Webhooks: commerce order events produced to Kafka → fan-out → RabbitMQ → dispatcher
 *    (regions/webhooks/main.ts) → a signed POST to a fast loopback receiver.
 *    a. latency, event acknowledged by Kafka → webhook received, paced (BENCH_WEBHOOK_PACED events at
 *       BENCH_WEBHOOK_RATE/s, 50 by default);
 *    b. deliveries/s, a burst of BENCH_WEBHOOKS events produced in requests of 250 (timed from the
 *       first produce to the last delivery; latency from each request's start);
 *    baseline, same run: plain HTTP POSTs of the same bodies from this process to the same receiver,
 *    at the dispatcher's concurrency (paced for latency, then as fast as possible).
 * 2. AMQP → Kafka: a partner publishes BENCH_AMQP messages (confirms) to the inbound exchange; the
 *    bridge (regions/amqp-bridge/main.ts) validates and produces them; timed until all are in Kafka.
 *    Baseline, same run, same broker: plain AMQP publish (confirms) to a queue and consume (acks).
 */
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import { resolveEndpoints } from '../../infra/config/endpoints.ts';
import { type Receiver, startReceiver } from '../../infra/partners/receiver.testing.ts';
import { collectFromNow } from '../support/kafka-collector.ts';
import { CREATE_ENDPOINT, eventProducer, startPartnersRegion, tenantName } from '../support/partners.ts';
import { type RoleProcess, startRole } from '../support/role-process.ts';
import { fmt, summarize } from './stats.ts';

const WEBHOOKS = Number(process.env.BENCH_WEBHOOKS ?? 3000);
const PACED = Number(process.env.BENCH_WEBHOOK_PACED ?? 300);
const PACED_RATE = Number(process.env.BENCH_WEBHOOK_RATE ?? 50);
const AMQP_MESSAGES = Number(process.env.BENCH_AMQP ?? 20000);
const CONCURRENCY = 16;
const WEBHOOKS_MAIN = fileURLToPath(new URL('../../regions/webhooks/main.ts', import.meta.url));
const BRIDGE_MAIN = fileURLToPath(new URL('../../regions/amqp-bridge/main.ts', import.meta.url));

const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const line = (label: string, text: string) => console.log(`${label.padEnd(44)} ${text}`);

/** `count` paced sends (every `gapMs`), resolving once all `arrived(i)` resolve. */
async function paced(count: number, gapMs: number, send: (i: number) => Promise<void>): Promise<void> {
  const sends: Promise<void>[] = [];
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const wait = t0 + i * gapMs - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    sends.push(send(i));
  }
  await Promise.all(sends);
}

function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (check()) return resolve();
      if (Date.now() > deadline) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 5);
    };
    tick();
  });
}

/** Plain POSTs of `bodies` to the receiver, `concurrency` at a time; latencies in ms. */
async function plainPosts(url: string, bodies: readonly string[], concurrency: number): Promise<number[]> {
  const agent = new http.Agent({ keepAlive: true });
  const latencies: number[] = [];
  let next = 0;
  const post = (body: string) =>
    new Promise<void>((resolve, reject) => {
      const t0 = performance.now();
      const req = http.request(
        url,
        { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
        (res) => {
          res.resume();
          res.on('end', () => {
            latencies.push(performance.now() - t0);
            resolve();
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < bodies.length) await post(bodies[next++] as string);
    }),
  );
  agent.destroy();
  return latencies;
}

const output: string[] = [];
const p = await startPartnersRegion('partners_bench', {
  DISPATCHER: 'external',
  AMQP_BRIDGE: 'external',
  WEBHOOK_ENDPOINT_CONCURRENCY: String(CONCURRENCY),
  WEBHOOK_PREFETCH: '256',
  AMQP_REFRESH: '200ms',
  // The bridge's own defaults unless tuned here (BENCH_AMQP_PREFETCH, _BATCH, _LINGER).
  ...(process.env.BENCH_AMQP_PREFETCH ? { AMQP_PREFETCH: process.env.BENCH_AMQP_PREFETCH } : {}),
  ...(process.env.BENCH_AMQP_BATCH ? { AMQP_BATCH: process.env.BENCH_AMQP_BATCH } : {}),
  ...(process.env.BENCH_AMQP_LINGER ? { AMQP_LINGER: process.env.BENCH_AMQP_LINGER } : {}),
});
const producer = eventProducer();
const roles: RoleProcess[] = [];
let receiver: Receiver | undefined;
try {
  // ── 1. webhooks ──────────────────────────────────────────────────────────
  receiver = await startReceiver();
  const tenant = tenantName('bench');
  const created = await p.call<{ createWebhookEndpoint: { endpoint: { id: string } } }>(tenant, CREATE_ENDPOINT, {
    input: { url: receiver.url, eventTypes: ['commerce.order.confirmed.v1'] },
  });
  if (!created.data) throw new Error(JSON.stringify(created.errors));
  const dispatcher = await startRole(WEBHOOKS_MAIN, ['east'], p.env, output);
  roles.push(dispatcher);
  const r = receiver;
  const sentAt = new Map<string, number>();
  const latencyOf = () =>
    r.received.flatMap((x) => {
      const t = sentAt.get(JSON.parse(x.body).data.orderId as string);
      return t === undefined ? [] : [x.at - t];
    });

  // warm-up
  for (let i = 0; i < 50; i++) await producer.orderEvent(tenant, 'confirmed');
  await waitFor(() => r.received.length >= 50, 60_000, 'warm-up webhooks');
  r.received.length = 0;

  // a. paced latency, from the moment Kafka acknowledged the event (the producer's own time is not ours)
  const produceMs: number[] = [];
  for (let i = 0; i < PACED; i++) {
    const t = Date.now();
    const e = await producer.orderEvent(tenant, 'confirmed');
    sentAt.set(e.subject, Date.now());
    produceMs.push(Date.now() - t);
    await new Promise((res) => setTimeout(res, Math.max(0, t + 1000 / PACED_RATE - Date.now())));
  }
  await waitFor(() => r.received.length >= PACED, 60_000, 'paced webhooks');
  const pacedWebhook = summarize(latencyOf());
  const bodies = r.received.map((x) => x.body);
  r.received.length = 0;
  const basePaced: number[] = [];
  await paced(PACED, 1000 / PACED_RATE, async (i) => {
    basePaced.push(...(await plainPosts(r.url, [bodies[i % bodies.length] as string], 1)));
  });
  r.received.length = 0;
  sentAt.clear();

  // b. burst throughput
  const cpu0 = { me: cpu(), dispatcher: dispatcher.cpuSeconds() };
  const t0 = Date.now();
  // The burst is produced in requests of 250 events, so the generator is not what is measured.
  for (let first = 0; first < WEBHOOKS; first += 250) {
    const at = Date.now();
    for (const e of await producer.orderEvents(tenant, Math.min(250, WEBHOOKS - first))) sentAt.set(e.subject, at);
  }
  await waitFor(() => r.received.length >= WEBHOOKS, 180_000, 'burst webhooks');
  const burstSeconds = (Date.now() - t0) / 1000;
  const cpu1 = { me: cpu(), dispatcher: dispatcher.cpuSeconds() };
  const burstLatency = summarize(latencyOf());
  const b0 = Date.now();
  const baseBurst = await plainPosts(
    r.url,
    Array.from({ length: WEBHOOKS }, (_, i) => bodies[i % bodies.length] as string),
    CONCURRENCY,
  );
  const baseSeconds = (Date.now() - b0) / 1000;

  console.log('\nwebhooks: event → signed POST received (dispatcher as its own process)');
  line(`paced (${PACED_RATE}/s), Kafka ack → webhook received`, fmt(pacedWebhook));
  line(`paced (${PACED_RATE}/s), plain POST baseline`, fmt(summarize(basePaced)));
  line('  (the generator’s produce → Kafka ack)', fmt(summarize(produceMs)));
  line(
    `burst ${WEBHOOKS}, webhook deliveries/s`,
    `${(WEBHOOKS / burstSeconds).toFixed(0)}/s (${burstSeconds.toFixed(1)} s), latency ${fmt(burstLatency)}`,
  );
  line(
    `burst ${WEBHOOKS}, plain POSTs/s (c=${CONCURRENCY})`,
    `${(WEBHOOKS / baseSeconds).toFixed(0)}/s, latency ${fmt(summarize(baseBurst))}`,
  );
  line('ratio webhook/plain throughput', `${(baseSeconds / burstSeconds).toFixed(3)}×`);
  line(
    'CPU during burst',
    `dispatcher ${(cpu1.dispatcher - cpu0.dispatcher).toFixed(1)} s, generator+receiver+host ${(cpu1.me - cpu0.me).toFixed(1)} s`,
  );
  await dispatcher.kill('SIGTERM');

  // ── 2. AMQP → Kafka ──────────────────────────────────────────────────────
  const { amqpUrl } = resolveEndpoints('east', process.env);
  const ptenant = tenantName('bench');
  const reg = await p.call<{
    registerLegacyPartner: { username: string; password: string; partner: { id: string; amqpExchange: string } };
  }>(
    ptenant,
    'mutation { registerLegacyPartner(input: { name: "bench", ratePerSecond: 100000, maxQueued: 1000000 }) { username password partner { id amqpExchange } } }',
  );
  const c = reg.data?.registerLegacyPartner;
  if (!c) throw new Error(JSON.stringify(reg.errors));
  const bridge = await startRole(BRIDGE_MAIN, ['east'], p.env, output);
  roles.push(bridge);
  const topic = 'partners.shipment.updated.v1';
  const kafka = await collectFromNow(producer.kafka, [topic], (e) => e.tenant === ptenant);
  const body = (i: number) =>
    Buffer.from(
      JSON.stringify({
        type: topic,
        subject: `sh-${i}`,
        data: { shipmentId: `sh-${i}`, status: 'IN_TRANSIT', seq: i },
      }),
    );
  const partnerConn = await amqp.connect(
    amqpUrl.replace('meridian:meridian', `${c.username}:${encodeURIComponent(c.password)}`),
  );
  const pch = await partnerConn.createConfirmChannel();
  /** Publishes n messages with confirms, `window` unconfirmed at most; returns publish times by index. */
  async function publishAll(n: number, publish: (i: number, done: (err: unknown) => void) => void, window = 1000) {
    const at: number[] = [];
    for (let first = 0; first < n; first += window) {
      await Promise.all(
        Array.from({ length: Math.min(window, n - first) }, (_, k) => {
          const i = first + k;
          at[i] = Date.now();
          return new Promise<void>((resolve, reject) => publish(i, (err) => (err ? reject(err) : resolve())));
        }),
      );
    }
    return at;
  }
  // warm-up
  await publishAll(500, (i, done) =>
    pch.publish(
      c.partner.amqpExchange,
      `${c.partner.id}.s`,
      body(1_000_000 + i),
      { persistent: true, messageId: `w-${i}` },
      done,
    ),
  );
  await waitFor(() => kafka.events.length >= 500, 60_000, 'warm-up messages');
  kafka.events.length = 0;
  kafka.arrivedAt.length = 0;

  const acpu0 = { me: cpu(), bridge: bridge.cpuSeconds() };
  const a0 = Date.now();
  const publishedAt = await publishAll(AMQP_MESSAGES, (i, done) =>
    pch.publish(c.partner.amqpExchange, `${c.partner.id}.s`, body(i), { persistent: true, messageId: `m-${i}` }, done),
  );
  await waitFor(() => kafka.events.length >= AMQP_MESSAGES, 300_000, 'bridged messages');
  const bridgeSeconds = (Date.now() - a0) / 1000;
  const acpu1 = { me: cpu(), bridge: bridge.cpuSeconds() };
  const bridgeLatency = summarize(
    kafka.events.map(
      (e, k) => (kafka.arrivedAt[k] as number) - (publishedAt[(e.data as { seq: number }).seq] as number),
    ),
  );
  await kafka.stop();

  // Baseline: plain publish (confirms) and consume (acks) of the same bodies on the same broker and vhost.
  const admin = await amqp.connect(amqpUrl);
  const ach = await admin.createConfirmChannel();
  const plainQueue = `${p.instance}.bench.plain`;
  await ach.assertQueue(plainQueue, { durable: true });
  const consumer = await admin.createChannel();
  await consumer.prefetch(500);
  let consumed = 0;
  const consumedAt: number[] = [];
  await consumer.consume(plainQueue, (m) => {
    if (!m) return;
    consumed++;
    consumedAt[Number(m.properties.messageId)] = Date.now();
    consumer.ack(m);
  });
  const p0 = Date.now();
  const plainPublishedAt = await publishAll(AMQP_MESSAGES, (i, done) =>
    ach.sendToQueue(plainQueue, body(i), { persistent: true, messageId: String(i) }, done),
  );
  await waitFor(() => consumed >= AMQP_MESSAGES, 300_000, 'plain consume');
  const plainSeconds = (Date.now() - p0) / 1000;
  const plainLatency = summarize(consumedAt.map((t, i) => t - (plainPublishedAt[i] as number)));
  await ach.deleteQueue(plainQueue);
  await admin.close();
  await partnerConn.close();

  console.log('\nAMQP → Kafka (bridge as its own process)');
  line(
    `${AMQP_MESSAGES} messages, bridge to Kafka`,
    `${(AMQP_MESSAGES / bridgeSeconds).toFixed(0)} msg/s (${bridgeSeconds.toFixed(1)} s), publish → Kafka ${fmt(bridgeLatency)}`,
  );
  line(
    `${AMQP_MESSAGES} messages, plain publish/consume`,
    `${(AMQP_MESSAGES / plainSeconds).toFixed(0)} msg/s (${plainSeconds.toFixed(1)} s), publish → consumed ${fmt(plainLatency)}`,
  );
  line('ratio bridge/plain throughput', `${(plainSeconds / bridgeSeconds).toFixed(3)}×`);
  line(
    'CPU during bridge run',
    `bridge ${(acpu1.bridge - acpu0.bridge).toFixed(1)} s, publisher+collector+host ${(acpu1.me - acpu0.me).toFixed(1)} s`,
  );
} catch (err) {
  console.error(output.slice(-30).join('\n'));
  throw err;
} finally {
  await Promise.allSettled(roles.map((r) => r.kill('SIGTERM')));
  await receiver?.close();
  await producer.close();
  await p.stop();
}
