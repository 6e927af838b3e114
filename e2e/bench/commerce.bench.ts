/**
 * Commerce benchmarks on the real stack, the region (east) a process of its own:
 * 1. placeOrder → CONFIRMED seen on the client's SSE stream, orders placed one after another
 *    (latency at low load, so the client here is not the bottleneck); baseline: the placeOrder
 *    round trip. Where the milliseconds go, hop by hop, from the events' own clocks: the
 *    envelope's `time` (stamped in the writing transaction) and the Kafka record timestamp
 *    (stamped by the relay's producer as it sends), read by an observer consumer:
 *      write     client sends placeOrder → order.created written (in its transaction)
 *      relay 1   order.created written → sent to Kafka (commit, relay wake, relay bookkeeping)
 *      payment   order.created sent → order.confirmed written (consumer fetch, SOAP provider, transaction)
 *      relay 2   order.confirmed written → sent to Kafka
 *      fan-out   order.confirmed sent → frame read by the SSE client (hub feed consumer, SSE)
 * 2. a cached product read versus the same read from Postgres (in-process: no server involved).
 * Each round's region process is left to settle first (under 20% of a core for two seconds): a
 * region whose consumer groups start behind works through that before it idles, and orders
 * placed meanwhile would measure that work. How long it took is printed.
 * BENCH_BEFORE=<another checkout> runs that checkout's region in the same rounds, interleaved
 * ("before"). BENCH_ORDERS (orders per round and region, 100), BENCH_ROUNDS (3).
 * Caveat on a shared stack: other east regions running at the same time (tests) share the relay
 * lanes and the payment processor's partitions; the bench prints how many there are.
 */
import { randomUUID } from 'node:crypto';
import type { Consumer } from 'kafkajs';
import { createKafka } from '../../infra/adapters/kafka.ts';
import { createPostgres } from '../../infra/adapters/postgres.ts';
import { createRedis } from '../../infra/adapters/redis.ts';
import { createCachedCatalog } from '../../infra/commerce/catalog.cached.ts';
import { createPostgresCatalog } from '../../infra/commerce/catalog.postgres.ts';
import { resolveEndpoints } from '../../infra/config/endpoints.ts';
import { MEMBER_LOCK_NAMESPACE } from '../../infra/outbox/relay.ts';
import { gql, PLACE_ORDER } from '../support/graphql-client.ts';
import { openSse } from '../support/sse-client.ts';
import { fmtLoad, runLoad } from './load.ts';
import { BEFORE_ROOT, devToken, startRegionProcess } from './processes.ts';
import { fmt, summarize } from './stats.ts';
import { processCpuMs } from './wrk.ts';

const ORDERS = Number(process.env.BENCH_ORDERS ?? 100);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 6000);
const WARMUP_ORDERS = 10;
const CREATED = 'commerce.order.created.v1';
const CONFIRMED = 'commerce.order.confirmed.v1';
const HOPS = ['write', 'relay 1', 'payment', 'relay 2', 'fan-out'] as const;

const endpoints = resolveEndpoints('east', process.env);
const db = createPostgres({ url: endpoints.postgresUrl });
const redis = createRedis({ url: endpoints.redisUrl });
const kafka = createKafka({ brokers: endpoints.kafkaBrokers, clientId: `bench-observer-${randomUUID().slice(0, 8)}` });

/** When each order's events were written and sent, by order id. */
const seen = new Map<string, Partial<Record<'createdAt' | 'createdSent' | 'confirmedAt' | 'confirmedSent', number>>>();

/** An observer of the two topics, from now on: the events' own times, for the hop split. */
async function observe(): Promise<Consumer> {
  const groupId = `bench-observer-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: [CREATED, CONFIRMED], fromBeginning: false });
  let ready: () => void = () => {};
  const fetched = new Promise<void>((r) => {
    ready = r;
  });
  consumer.on(consumer.events.FETCH, () => ready());
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ topic, message }) => {
      const envelope = JSON.parse(message.value?.toString() ?? '{}') as { time?: string; data?: { orderId?: string } };
      const id = envelope.data?.orderId;
      if (!id || !envelope.time) return;
      const at = Date.parse(envelope.time);
      const sent = Number(message.timestamp);
      const entry = seen.get(id) ?? {};
      if (topic === CREATED) Object.assign(entry, { createdAt: at, createdSent: sent });
      else Object.assign(entry, { confirmedAt: at, confirmedSent: sent });
      seen.set(id, entry);
    },
  });
  await fetched;
  return consumer;
}

/** Payment processors in east's group right now: other regions running (tests) take some orders. */
async function paymentProcessors(): Promise<number> {
  const admin = await kafka.admin();
  const { groups } = await admin.describeGroups(['commerce-payment-processor-east']).catch(() => ({ groups: [] }));
  return groups[0]?.members.length ?? 0;
}

/** Relays and payment-processor members of east right now: more than ours means shared work. */
async function sharers(): Promise<string> {
  const { rows } = await db.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND classid = $1::int4::oid AND objsubid = 2
       AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [MEMBER_LOCK_NAMESPACE],
  );
  const admin = await kafka.admin();
  const { groups } = await admin.describeGroups(['commerce-payment-processor-east']).catch(() => ({ groups: [] }));
  return `${rows[0]?.n ?? '?'} relay(s), ${groups[0]?.members.length ?? '?'} payment processor(s) in east`;
}

interface Samples {
  ack: number[];
  confirmed: number[];
  /** The region process's CPU (user + system) over the measured orders, and their count. */
  cpuMs: number;
  orders: number;
  hops: Record<(typeof HOPS)[number], number[]>;
}

const samples = new Map<string, Samples>();
/** Orders never confirmed within 10 s (taken by another region sharing the group): left out. */
const lost = new Map<string, number>();
const fresh = (): Samples => ({
  ack: [],
  confirmed: [],
  cpuMs: 0,
  orders: 0,
  hops: Object.fromEntries(HOPS.map((h) => [h, [] as number[]])) as unknown as Samples['hops'],
});

/**
 * Waits until a freshly started region process is quiet: under 20% of a core over two seconds in a
 * row (an idle region uses about 10%). Its durable groups may start behind — after a test run, by
 * thousands of IoT readings — and the orders would then measure the region working through them
 * rather than the order path. Says how long it took.
 */
async function settled(pid: number, label: string): Promise<void> {
  const t0 = Date.now();
  let quiet = 0;
  let busiest = 0;
  while (quiet < 2 && Date.now() - t0 < 180_000) {
    const from = processCpuMs(pid);
    await new Promise((r) => setTimeout(r, 1000));
    const share = (processCpuMs(pid) - from) / 1000;
    busiest = Math.max(busiest, share);
    quiet = share < 0.2 ? quiet + 1 : 0;
  }
  console.log(
    `  ${label}: region quiet after ${((Date.now() - t0) / 1000).toFixed(0)} s (busiest second ${(100 * busiest).toFixed(0)}% of a core)`,
  );
}

/** One round of orders against one region process (started for the round, stopped after it). */
async function round(label: string, root: string | undefined, product: string): Promise<void> {
  const region = await startRegionProcess('east', { root });
  try {
    await settled(region.pid, label);
    const graphql = `${region.url}/graphql`;
    const user = `bench-${randomUUID().slice(0, 8)}`;
    const token = await devToken(region.url, user, 't1', ['orders:write']);
    const stream = await openSse(`http://127.0.0.1:${region.hubPort}/v1/stream?topics=user.${user}.orders`, {
      authorization: `Bearer ${token}`,
    });
    // Another east region (a test running) shares the payment processor's partitions, and one on a
    // scratch database never confirms our orders: wait a while for the group to be ours alone.
    for (let waited = 0; waited < 60 && (await paymentProcessors()) > 1; waited++) {
      await new Promise((r) => setTimeout(r, 1000));
    }
    console.log(`  ${label}: ${await sharers()}`);
    const s = samples.get(label) ?? fresh();
    samples.set(label, s);
    let cpuFrom = 0;
    for (let i = 0; i < WARMUP_ORDERS + ORDERS; i++) {
      if (i === WARMUP_ORDERS) cpuFrom = processCpuMs(region.pid);
      const t0 = Date.now();
      const res = await gql<{ placeOrder: { id: string } }>(
        graphql,
        PLACE_ORDER,
        {
          input: {
            items: [{ productId: product, quantity: 1 }],
            idempotencyKey: randomUUID(),
            paymentToken: 'tok_visa',
          },
        },
        { authorization: `Bearer ${token}` },
      );
      const ack = Date.now() - t0;
      const id = res.data?.placeOrder.id;
      if (!id) throw new Error(`placeOrder failed: ${JSON.stringify(res.errors)}`);
      const confirmed = await stream
        .next((f) => f.event === CONFIRMED && f.data.includes(id), 10_000)
        .then(
          () => true,
          () => false,
        );
      const done = Date.now();
      if (!confirmed) {
        lost.set(label, (lost.get(label) ?? 0) + 1);
        continue;
      }
      if (i < WARMUP_ORDERS) continue;
      s.ack.push(ack);
      s.confirmed.push(done - t0);
      // The observer may see the last event a moment after the SSE client did.
      for (let wait = 0; wait < 50 && seen.get(id)?.confirmedSent === undefined; wait++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      const e = seen.get(id);
      if (e?.createdAt && e.createdSent && e.confirmedAt && e.confirmedSent) {
        s.hops.write.push(e.createdAt - t0);
        s.hops['relay 1'].push(e.createdSent - e.createdAt);
        s.hops.payment.push(e.confirmedAt - e.createdSent);
        s.hops['relay 2'].push(e.confirmedSent - e.confirmedAt);
        s.hops['fan-out'].push(done - e.confirmedSent);
      }
    }
    s.cpuMs += processCpuMs(region.pid) - cpuFrom;
    s.orders += ORDERS;
    stream.close();
  } finally {
    await region.stop();
  }
}

// On a fresh stack the tables (and the topics) appear when a region first starts: start one once.
const existing = await (await kafka.admin()).listTopics();
const { rows } = await db.pool.query<{ t: string | null }>("SELECT to_regclass('products')::text AS t");
if (!rows[0]?.t || !existing.includes(CREATED) || !existing.includes(CONFIRMED)) {
  await (await startRegionProcess('east')).stop();
}
const observer = await observe();
try {
  // ── 1. placeOrder → CONFIRMED over SSE, interleaved rounds ──────────────────────────────
  const product = `p-zz-bench-${randomUUID().slice(0, 8)}`;
  await db.pool.query(
    "INSERT INTO products (id, sku, name, price_cents, stock) VALUES ($1, $1, 'bench', 100, 1000000)",
    [product],
  );
  const targets: Array<[string, string | undefined]> = [['region', undefined]];
  if (BEFORE_ROOT) targets.unshift(['region before', BEFORE_ROOT]);
  for (let r = 1; r <= ROUNDS; r++) {
    for (const [label, root] of targets) {
      console.log(`round ${r}: ${label}, ${ORDERS} orders`);
      await round(label, root, product);
    }
  }
  for (const [label] of targets) {
    const s = samples.get(label) ?? fresh();
    const a = summarize(s.ack);
    const c = summarize(s.confirmed);
    if (lost.get(label)) console.log(`[${label}] ${lost.get(label)} order(s) not confirmed within 10 s, left out`);
    console.log(`[${label}] placeOrder round trip (baseline)  ${fmt(a)}`);
    console.log(`[${label}] placeOrder → SSE CONFIRMED        ${fmt(c)}`);
    console.log(
      `[${label}] ratio confirmed/ack: p50 ${(c.p50 / a.p50).toFixed(1)}x, p95 ${(c.p95 / a.p95).toFixed(1)}x (goal p95 < 100 ms)`,
    );
    for (const hop of HOPS) console.log(`[${label}]   ${hop.padEnd(8)} ${fmt(summarize(s.hops[hop]))}`);
    // One order at a time: the region process's CPU per order is its work on the order (and
    // whatever it does idle meanwhile), which on two shared cores is most of the latency.
    console.log(`[${label}] region process CPU per order ${(s.cpuMs / Math.max(1, s.orders)).toFixed(1)} ms`);
  }

  // ── 2. cached product read vs cache off ────────────────────────────────────────────────
  const origin = createPostgresCatalog(db.pool);
  const cached = createCachedCatalog(origin, redis.client);
  await cached.getProduct('p-keyboard');
  const reads = (fn: () => Promise<unknown>) =>
    runLoad({ concurrency: 8, durationMs: DURATION_MS / 2, warmupMs: 500, fn: async () => Boolean(await fn()) });
  const off = await reads(() => origin.getProduct('p-keyboard'));
  const on = await reads(() => cached.getProduct('p-keyboard'));
  console.log(`product read, cache off (Postgres)   ${fmtLoad(off)}`);
  console.log(`product read, cache on (Redis)       ${fmtLoad(on)}`);
  console.log(
    `ratio cached/uncached: throughput ${(on.rps / off.rps).toFixed(2)}x, p95 ${(on.latency.p95 / off.latency.p95).toFixed(2)}x`,
  );
} finally {
  await observer.disconnect().catch(() => {});
  await kafka.close();
  await db.close();
  await redis.close();
}
process.exit(0);
