/**
 * A region's /metrics moves as the stack is exercised: a real region in-process (commerce only,
 * on a scratch database, no relay so its outbox fills) against the shared Kafka, Redis and
 * MirrorMaker 2.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { createTopicsReady } from '../../infra/adapters/kafka.ts';
import { uniqueName, until } from '../../infra/adapters/testing.ts';
import { commerceModule } from '../commerce/module.ts';
import { east } from '../east.ts';
import { type IsolatedRegion, isolatedRegion, testIdentity } from '../host/testing.ts';
import type { Identity } from '../identity/identity.ts';

let isolated: IsolatedRegion;
let identity: Identity;
let gateway: string;
let hubPort: number;
let startedAt: number;

/** One sample's value from the text format, or undefined when the series is absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries(
      [...(m[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

async function scrape(port = isolated.region.gatewayPort): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return res.text();
}

async function gql(query: string, variables: Record<string, unknown>, token?: string) {
  const res = await fetch(`${gateway}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: Record<string, unknown>; errors?: Array<{ extensions?: { code?: string } }> };
}

async function token(scopes: string[] = ['orders:write']): Promise<string> {
  const issued = await identity.issuer?.issue({ sub: uniqueName('u'), tenant: 't-metrics', scopes });
  assert.ok(issued);
  return issued.access_token;
}

async function newProduct(): Promise<string> {
  const id = `p-zz-metrics-${randomUUID().slice(0, 8)}`;
  await isolated.region.deps.postgres.pool.query(
    'INSERT INTO products (id, sku, name, price_cents, currency, stock) VALUES ($1, $1, $1, 500, $2, 100)',
    [id, 'USD'],
  );
  return id;
}

before(async () => {
  identity = testIdentity();
  isolated = await isolatedRegion(east, [commerceModule], { identity, relay: false, processors: false });
  // After every service started: the replication gauge counts from before this.
  startedAt = Date.now();
  gateway = `http://127.0.0.1:${isolated.region.gatewayPort}`;
  hubPort = isolated.region.hubPort;
});
after(async () => {
  await isolated?.stop();
});

describe('region /metrics', () => {
  it('counts a GraphQL operation by name with its route, and a refused token as an auth failure', async () => {
    const before = await scrape();
    const name = 'MetricsProbe';
    const ok = await gql(`query ${name} { products(first: 1) { id } }`, {});
    assert.equal(ok.errors, undefined);
    const refused = await gql(`query ${name} { products(first: 1) { id } }`, {}, 'not-a-token');
    assert.equal(refused.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
    const text = await scrape();
    const ops = (t: string, outcome: string) =>
      sample(t, 'meridian_region_graphql_operations_total', { operation: name, type: 'query', outcome }) ?? 0;
    assert.equal(ops(text, 'ok') - ops(before, 'ok'), 1);
    assert.equal(
      (sample(text, 'meridian_region_auth_failures_total', { surface: 'graphql' }) ?? 0) -
        (sample(before, 'meridian_region_auth_failures_total', { surface: 'graphql' }) ?? 0),
      1,
    );
    const posts = (t: string) =>
      sample(t, 'meridian_region_http_requests_total', {
        server: 'gateway',
        route: '/graphql',
        method: 'POST',
        status: '200',
      }) ?? 0;
    assert.ok(posts(text) - posts(before) >= 1, 'POST /graphql counted under its route pattern');
    assert.ok(
      (sample(text, 'meridian_region_graphql_operation_duration_seconds_count', { operation: name, type: 'query' }) ??
        0) >= 1,
    );
  });

  it('raises the commerce cache hit ratio when a product is read again', async () => {
    const id = await newProduct();
    const read = () => gql('query($id: ID!) { product(id: $id) { id } }', { id });
    const first = (await read()).data?.product as { id: string } | undefined;
    assert.equal(first?.id, id);
    const afterMiss = await scrape();
    const hits = (t: string) =>
      sample(t, 'meridian_region_cache_requests_total', { domain: 'commerce', result: 'hit' }) ?? 0;
    const misses = (t: string) =>
      sample(t, 'meridian_region_cache_requests_total', { domain: 'commerce', result: 'miss' }) ?? 0;
    assert.ok(misses(afterMiss) >= 1, 'the first read missed');
    await read();
    await read();
    const afterHits = await scrape();
    assert.equal(hits(afterHits) - hits(afterMiss), 2);
    const ratio = (t: string) => sample(t, 'meridian_region_cache_hit_ratio', { domain: 'commerce' }) ?? -1;
    assert.ok(ratio(afterHits) > ratio(afterMiss), `${ratio(afterHits)} > ${ratio(afterMiss)}`);
  });

  it('shows the outbox backlog growing while no relay publishes, with the age of the oldest row', async () => {
    const product = await newProduct();
    const bearer = await token();
    await new Promise((r) => setTimeout(r, 2100)); // past the collectors' 2 s cache
    const pool = isolated.region.deps.postgres.pool;
    const seqBefore = (await pool.query<{ s: string }>('SELECT coalesce(max(seq), 0) AS s FROM outbox')).rows[0]?.s;
    const before = sample(await scrape(), 'meridian_region_outbox_backlog') ?? -1;
    for (let i = 0; i < 2; i++) {
      const placed = await gql(
        'mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }',
        {
          input: {
            items: [{ productId: product, quantity: 1 }],
            idempotencyKey: randomUUID(),
            paymentToken: 'tok_visa',
          },
        },
        bearer,
      );
      assert.equal(placed.errors, undefined, JSON.stringify(placed.errors));
    }
    await new Promise((r) => setTimeout(r, 2100));
    const text = await scrape();
    // Each order writes its events to the outbox (the scratch database is this test's alone).
    const written = Number(
      (await pool.query<{ n: string }>('SELECT count(*) AS n FROM outbox WHERE seq > $1', [seqBefore])).rows[0]?.n,
    );
    assert.ok(written >= 2, `${written} outbox rows for 2 orders`);
    assert.equal((sample(text, 'meridian_region_outbox_backlog') ?? -1) - before, written);
    assert.ok((sample(text, 'meridian_region_outbox_oldest_unpublished_seconds') ?? 0) > 1);
  });

  it("grows a stopped consumer group's lag, read from Kafka's committed and end offsets", async () => {
    const kafka = isolated.region.deps.kafka;
    const topic = uniqueName('metrics-lag');
    const groupId = `${uniqueName('metrics-lag-group')}-east`;
    const admin = await kafka.admin();
    await createTopicsReady(admin, [{ topic, numPartitions: 1, replicationFactor: 1 }]);
    const producer = await kafka.producer();
    try {
      await producer.send({ topic, acks: -1, messages: [{ value: 'a' }, { value: 'b' }] });
      const consumer = kafka.consumer({ groupId });
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      let seen = 0;
      await consumer.run({ eachMessage: async () => void seen++ });
      await until(() => (seen >= 2 ? true : undefined), { what: 'the group consumed both records' });
      await consumer.disconnect(); // commits what it handled, then stops
      const lagOf = async () => {
        await new Promise((r) => setTimeout(r, 2100));
        return sample(await scrape(), 'meridian_region_consumer_lag_records', { group: groupId, topic });
      };
      assert.equal(await lagOf(), 0);
      await producer.send({ topic, acks: -1, messages: [{ value: 'c' }, { value: 'd' }, { value: 'e' }] });
      assert.equal(await lagOf(), 3);
    } finally {
      await producer.disconnect();
      await admin.deleteGroups([groupId]).catch(() => {});
      await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    }
  });

  it('a running group reports lag only for the topics it reads now, not for one it once committed and dropped', async () => {
    const kafka = isolated.region.deps.kafka;
    const dropped = uniqueName('metrics-lag-dropped');
    const kept = uniqueName('metrics-lag-kept');
    const groupId = `${uniqueName('metrics-lag-group')}-east`;
    const admin = await kafka.admin();
    await createTopicsReady(
      admin,
      [dropped, kept].map((topic) => ({ topic, numPartitions: 1, replicationFactor: 1 })),
    );
    const producer = await kafka.producer();
    const consumers: Array<{ disconnect(): Promise<void> }> = [];
    try {
      const send = (topic: string, n: number) =>
        producer.send({ topic, acks: -1, messages: Array.from({ length: n }, (_, i) => ({ value: String(i) })) });
      await send(dropped, 2);
      await send(kept, 2);
      const run = async (topics: string[], want: number) => {
        const consumer = kafka.consumer({ groupId });
        consumers.push(consumer);
        await consumer.connect();
        await consumer.subscribe({ topics, fromBeginning: true });
        let seen = 0;
        await consumer.run({ eachMessage: async () => void seen++ });
        await until(() => (seen >= want ? true : undefined), { what: `the group consumed ${want} records` });
        return consumer;
      };
      // Both topics committed, then the group stops; more is written to both.
      await (await run([dropped, kept], 4)).disconnect();
      await send(dropped, 3);
      await send(kept, 1);
      // The group runs again, reading only `kept`: the three records of `dropped` are nobody's lag.
      await run([kept], 1);
      await new Promise((r) => setTimeout(r, 2100));
      const text = await scrape();
      assert.equal(sample(text, 'meridian_region_consumer_lag_records', { group: groupId, topic: kept }), 0);
      assert.equal(sample(text, 'meridian_region_consumer_lag_records', { group: groupId, topic: dropped }), undefined);
    } finally {
      for (const c of consumers) await c.disconnect().catch(() => {});
      await producer.disconnect();
      await admin.deleteGroups([groupId]).catch(() => {});
      await admin.deleteTopics({ topics: [dropped, kept] }).catch(() => {});
    }
  });

  it('reports MirrorMaker 2 lag from the peer as the age of its newest mirrored heartbeat', async () => {
    // Before the first heartbeat the gauge counts from the region's start: wait until that alone would
    // exceed the bound, so a value under it proves heartbeats arrive (MM2 emits one a second).
    await new Promise((r) => setTimeout(r, Math.max(0, startedAt + 8000 - Date.now())));
    const lag = await until(
      async () => {
        const v = sample(await scrape(), 'meridian_region_replication_lag_seconds', { source: 'west', target: 'east' });
        return v !== undefined && v < 4 ? v : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 500, what: 'a fresh west.heartbeats record in east' },
    );
    assert.ok(lag >= 0);
  });

  it('counts hub WebSocket connections and refused handshakes and SSE tokens, on the hub port too', async () => {
    const before = await scrape(hubPort);
    const ws = new WebSocket(`ws://127.0.0.1:${hubPort}/v1/graphql`, 'graphql-transport-ws');
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const open = await scrape(hubPort);
    assert.equal(sample(open, 'meridian_region_hub_ws_connections'), 1);
    assert.equal(
      (sample(open, 'meridian_region_hub_ws_connections_opened_total') ?? 0) -
        (sample(before, 'meridian_region_hub_ws_connections_opened_total') ?? 0),
      1,
    );
    ws.close();
    const refused = new WebSocket(`ws://127.0.0.1:${hubPort}/v1/graphql?access_token=nope`, 'graphql-transport-ws');
    await new Promise((resolve) => refused.once('error', resolve));
    const text = await until(
      async () => {
        const t = await scrape(hubPort);
        return sample(t, 'meridian_region_hub_ws_connections') === 0 ? t : undefined;
      },
      { what: 'the closed socket is gone' },
    );
    assert.equal(sample(text, 'meridian_region_hub_ws_refused_total', { status: '401' }), 1);
    assert.equal(sample(text, 'meridian_region_auth_failures_total', { surface: 'hub-ws' }), 1);
    const sse = await fetch(`http://127.0.0.1:${hubPort}/v1/stream?topics=orders`, {
      headers: { authorization: 'Bearer nope' },
    });
    assert.equal(sse.status, 401);
    assert.equal(sample(await scrape(hubPort), 'meridian_region_auth_failures_total', { surface: 'hub-sse' }), 1);
  });
});
