/**
 * Commerce end to end in one region (east), everything real: the region gateway over
 * the commerce subgraph, Postgres, the inventory gRPC service, the outbox relay, Kafka,
 * the payment processor calling the SOAP provider, Redis caches and the SSE hub.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createKafka } from '../infra/adapters/kafka.ts';
import { createPostgres } from '../infra/adapters/postgres.ts';
import { until } from '../infra/adapters/testing.ts';
import { resolveEndpoints } from '../infra/config/endpoints.ts';
import { commerceModule } from '../regions/commerce/module.ts';
import { DOMAINS } from '../regions/domains.ts';
import { east } from '../regions/east.ts';
import { type RunningRegion, startRegion } from '../regions/host/region-host.ts';
import { testIdentity, testRegionConfig } from '../regions/host/testing.ts';
import type { Identity } from '../regions/identity/identity.ts';
import { gql, PLACE_ORDER } from './support/graphql-client.ts';
import { openSse } from './support/sse-client.ts';

const endpoints = resolveEndpoints('east', process.env);
const db = createPostgres({ url: endpoints.postgresUrl });
let region: RunningRegion;
let identity: Identity;
let graphql: string;
let hub: string;

async function tokenFor(sub: string, scopes = ['orders:write'], tenant = 't1'): Promise<string> {
  const issued = await identity.issuer?.issue({ sub, tenant, scopes });
  assert.ok(issued, 'dev issuer is on');
  return issued.access_token;
}

async function newProduct(stock: number, priceCents = 1000): Promise<string> {
  const id = `p-zz-e2e-${randomUUID().slice(0, 8)}`;
  await db.pool.query(
    'INSERT INTO products (id, sku, name, price_cents, currency, stock) VALUES ($1, $1, $1, $2, $3, $4)',
    [id, priceCents, 'USD', stock],
  );
  return id;
}

async function stockOf(id: string): Promise<number> {
  return (
    (await db.pool.query<{ stock: number }>('SELECT stock FROM products WHERE id = $1', [id])).rows[0]?.stock ?? -1
  );
}

async function place(token: string, input: Record<string, unknown>, headers: Record<string, string> = {}) {
  return gql<{ placeOrder: { id: string; status: string; total: { amountCents: number } } }>(
    graphql,
    PLACE_ORDER,
    { input },
    {
      authorization: `Bearer ${token}`,
      ...headers,
    },
  );
}

async function orderStatus(id: string): Promise<{ status: string; cancel_reason: string | null }> {
  const r = await db.pool.query('SELECT status, cancel_reason FROM orders WHERE id = $1', [id]);
  return r.rows[0];
}

before(async () => {
  identity = testIdentity();
  region = await startRegion(testRegionConfig(east), { identity, domains: DOMAINS });
  graphql = `http://127.0.0.1:${region.gatewayPort}/graphql`;
  hub = `http://127.0.0.1:${region.hubPort}/v1/stream`;
});
after(async () => {
  await region?.stop();
  await db.close();
});

describe('commerce through the region gateway', () => {
  it('lists products and reads one, with cache hints in Cache-Control', async () => {
    const res = await gql<{ products: Array<{ id: string; price: { amountCents: number } }> }>(
      graphql,
      '{ products(first: 3) { id name price { amountCents currency formatted } stock } }',
    );
    assert.equal(res.status, 200, JSON.stringify(res.errors));
    assert.equal(res.data?.products.length, 3);
    assert.match(res.headers.get('cache-control') ?? '', /max-age=5, public/);
    const one = await gql<{ product: { id: string } | null }>(
      graphql,
      'query($id: ID!) { product(id: $id) { id sku } }',
      {
        id: 'p-keyboard',
      },
    );
    assert.equal(one.data?.product?.id, 'p-keyboard');
  });

  it('a placed order reaches CONFIRMED and an SSE subscriber sees every state', async () => {
    const user = `u-${randomUUID().slice(0, 8)}`;
    const token = await tokenFor(user);
    const stream = await openSse(`${hub}?topics=user.${user}.orders`, { authorization: `Bearer ${token}` });
    try {
      assert.equal(stream.status, 200);
      const product = await newProduct(5);
      const res = await place(token, {
        items: [{ productId: product, quantity: 2 }],
        idempotencyKey: randomUUID(),
        paymentToken: 'tok_visa',
      });
      assert.equal(res.data?.placeOrder.status, 'PENDING', JSON.stringify(res.errors));
      assert.equal(res.data?.placeOrder.total.amountCents, 2000);
      const id = res.data?.placeOrder.id as string;
      const created = await stream.next((f) => f.event === 'commerce.order.created.v1');
      assert.deepEqual([JSON.parse(created.data).orderId, JSON.parse(created.data).status], [id, 'PENDING']);
      assert.ok(created.id);
      const confirmed = await stream.next((f) => f.event === 'commerce.order.confirmed.v1');
      assert.deepEqual([JSON.parse(confirmed.data).orderId, JSON.parse(confirmed.data).status], [id, 'CONFIRMED']);
      assert.equal(await stockOf(product), 3);
      const read = await gql<{ order: { status: string } }>(
        graphql,
        'query($id: ID!) { order(id: $id) { status } }',
        { id },
        {
          authorization: `Bearer ${token}`,
        },
      );
      assert.equal(read.data?.order.status, 'CONFIRMED');
      const mine = await gql<{ me: { orders: Array<{ id: string }> } }>(
        graphql,
        '{ me { orders { id status } } }',
        {},
        {
          authorization: `Bearer ${token}`,
        },
      );
      assert.deepEqual(
        mine.data?.me.orders.map((o) => o.id),
        [id],
      );
    } finally {
      stream.close();
    }
  });

  it('50 concurrent orders for the last 10 units: exactly 10 succeed', async () => {
    const product = await newProduct(10);
    const token = await tokenFor(`u-${randomUUID().slice(0, 8)}`);
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        place(token, {
          items: [{ productId: product, quantity: 1 }],
          idempotencyKey: randomUUID(),
          paymentToken: 'tok_visa',
        }),
      ),
    );
    const ok = results.filter((r) => r.data?.placeOrder);
    const short = results.filter((r) => r.errors?.[0]?.extensions?.code === 'INSUFFICIENT_STOCK');
    const other = results.filter((r) => !r.data?.placeOrder && !short.includes(r)).map((r) => r.errors);
    assert.equal(ok.length, 10, JSON.stringify(other));
    assert.equal(short.length, 40);
    assert.equal(await stockOf(product), 0);
  });

  it('the same idempotency key sent 20 times concurrently makes exactly one order', async () => {
    const product = await newProduct(100);
    const token = await tokenFor(`u-${randomUUID().slice(0, 8)}`);
    const key = randomUUID();
    const input = { items: [{ productId: product, quantity: 1 }], idempotencyKey: key, paymentToken: 'tok_visa' };
    const results = await Promise.all(Array.from({ length: 20 }, () => place(token, input)));
    const ids = new Set(results.map((r) => r.data?.placeOrder.id));
    assert.equal(ids.size, 1, JSON.stringify(results.map((r) => r.errors)));
    assert.equal(await stockOf(product), 99);
    const reused = await place(token, { ...input, items: [{ productId: product, quantity: 2 }] });
    assert.equal(reused.errors?.[0]?.extensions?.code, 'IDEMPOTENCY_KEY_REUSED');
    const viaHeader = await place(token, { ...input, idempotencyKey: undefined }, { 'idempotency-key': key });
    assert.equal(viaHeader.data?.placeOrder.id, [...ids][0]);
  });

  it('bad input gets a clear error code and changes nothing', async () => {
    const product = await newProduct(5);
    const user = `u-${randomUUID().slice(0, 8)}`;
    const token = await tokenFor(user);
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ items: [{ productId: 'p-does-not-exist', quantity: 1 }], idempotencyKey: randomUUID() }, 'PRODUCT_NOT_FOUND'],
      [{ items: [{ productId: product, quantity: 0 }], idempotencyKey: randomUUID() }, 'BAD_USER_INPUT'],
      [{ items: [{ productId: product, quantity: 100000 }], idempotencyKey: randomUUID() }, 'BAD_USER_INPUT'],
      [{ items: [{ productId: product, quantity: 1 }] }, 'IDEMPOTENCY_KEY_REQUIRED'],
      [
        { items: [{ productId: "p'; drop table orders;--", quantity: 1 }], idempotencyKey: randomUUID() },
        'BAD_USER_INPUT',
      ],
      [{ items: [{ productId: product, quantity: 6 }], idempotencyKey: randomUUID() }, 'INSUFFICIENT_STOCK'],
    ];
    for (const [input, code] of cases) {
      const res = await place(token, { paymentToken: 'tok_visa', ...input });
      assert.equal(res.errors?.[0]?.extensions?.code, code, JSON.stringify(res.errors));
      assert.ok(res.errors?.[0]?.extensions?.correlationId, 'errors carry the correlation id');
    }
    const malformed = await gql(
      graphql,
      'query { order(id: "not-a-uuid") { id } }',
      {},
      { authorization: `Bearer ${token}` },
    );
    assert.equal(malformed.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    const anonymous = await gql(graphql, PLACE_ORDER, {
      input: { items: [{ productId: product, quantity: 1 }], idempotencyKey: randomUUID(), paymentToken: 'tok_visa' },
    });
    assert.equal(anonymous.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
    const forged = await place(`${token.slice(0, -4)}AAAA`, {
      items: [{ productId: product, quantity: 1 }],
      idempotencyKey: randomUUID(),
      paymentToken: 'tok_visa',
    });
    assert.equal(forged.status, 401);
    assert.equal(forged.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
    const noScope = await place(await tokenFor(user, []), {
      items: [{ productId: product, quantity: 1 }],
      idempotencyKey: randomUUID(),
      paymentToken: 'tok_visa',
    });
    assert.equal(noScope.errors?.[0]?.extensions?.code, 'FORBIDDEN');
    assert.equal(await stockOf(product), 5, 'no stock change');
    const orders = await db.pool.query('SELECT count(*)::int AS n FROM orders WHERE user_id = $1', [user]);
    assert.equal(orders.rows[0].n, 0, 'no order');
  });

  it('a declined card and a provider fault cancel the order with the reason and release stock', async () => {
    const token = await tokenFor(`u-${randomUUID().slice(0, 8)}`);
    for (const [paymentToken, reason] of [
      ['tok_decline_card', /card declined/],
      ['tok_fault_now', /fault/],
    ] as const) {
      const product = await newProduct(4);
      const res = await place(token, {
        items: [{ productId: product, quantity: 3 }],
        idempotencyKey: randomUUID(),
        paymentToken,
      });
      const id = res.data?.placeOrder.id as string;
      assert.ok(id, JSON.stringify(res.errors));
      const final = await until(async () => {
        const o = await orderStatus(id);
        return o.status === 'PENDING' ? undefined : o;
      });
      assert.equal(final.status, 'CANCELLED');
      assert.match(final.cancel_reason ?? '', reason);
      assert.equal(await until(async () => ((await stockOf(product)) === 4 ? 4 : undefined)), 4);
    }
  });

  it('provider down: the order stays PENDING, and is confirmed once the provider is back', async () => {
    const provider = region.domain(commerceModule).paymentProvider();
    assert.ok(provider);
    const token = await tokenFor(`u-${randomUUID().slice(0, 8)}`);
    provider.setBehaviour({ mode: 'down' });
    try {
      const res = await place(token, {
        items: [{ productId: await newProduct(2), quantity: 1 }],
        idempotencyKey: randomUUID(),
        paymentToken: 'tok_visa',
      });
      const id = res.data?.placeOrder.id as string;
      await until(async () =>
        (region.consumer('commerce.payment-processor')?.stats.retries ?? 0) > 0 ? true : undefined,
      );
      assert.equal((await orderStatus(id)).status, 'PENDING');
      provider.setBehaviour({ mode: 'normal' });
      const final = await until(
        async () => ((await orderStatus(id)).status === 'CONFIRMED' ? 'CONFIRMED' : undefined),
        { timeoutMs: 30_000 },
      );
      assert.equal(final, 'CONFIRMED');
    } finally {
      provider.setBehaviour({ mode: 'normal' });
    }
  });

  it('a poison event goes to the dead-letter topic with the reason and does not block', async () => {
    const { kafka } = createKafka({ brokers: endpoints.kafkaBrokers, clientId: 'e2e-dlq' });
    const producer = kafka.producer();
    const consumer = kafka.consumer({ groupId: `e2e-dlq-${randomUUID()}` });
    await producer.connect();
    await consumer.connect();
    try {
      const marker = randomUUID();
      const seen: Array<{ reason: string; value: string }> = [];
      await consumer.subscribe({ topic: 'commerce.order.created.v1.dlq', fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          seen.push({
            reason: message.headers?.['dlq-reason']?.toString() ?? '',
            value: message.value?.toString() ?? '',
          });
        },
      });
      await producer.send({
        topic: 'commerce.order.created.v1',
        messages: [{ key: marker, value: `{"poison":"${marker}"}` }],
      });
      const dead = await until(async () => seen.find((s) => s.value.includes(marker)), { timeoutMs: 30_000 });
      assert.match(dead.reason, /INVALID_EVENT/);
      const token = await tokenFor(`u-${randomUUID().slice(0, 8)}`);
      const res = await place(token, {
        items: [{ productId: await newProduct(1), quantity: 1 }],
        idempotencyKey: randomUUID(),
        paymentToken: 'tok_visa',
      });
      const id = res.data?.placeOrder.id as string;
      assert.equal(await until(async () => ((await orderStatus(id)).status === 'CONFIRMED' ? 'ok' : undefined)), 'ok');
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
    }
  });

  it('traceparent travels from the request into the outbox, Kafka headers and the consumers', async () => {
    const traceId = randomUUID().replace(/-/g, '');
    const token = await tokenFor(`u-${randomUUID().slice(0, 8)}`);
    const res = await place(
      token,
      {
        items: [{ productId: await newProduct(1), quantity: 1 }],
        idempotencyKey: randomUUID(),
        paymentToken: 'tok_visa',
      },
      { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    );
    const id = res.data?.placeOrder.id as string;
    const rows = await until(async () => {
      const r = await db.pool.query<{ topic: string; tp: string }>(
        "SELECT topic, envelope->>'traceparent' AS tp FROM outbox WHERE aggregate_id = $1 ORDER BY seq",
        [id],
      );
      return r.rows.length >= 4 ? r.rows : undefined;
    });
    assert.deepEqual(
      rows.map((r) => r.topic),
      [
        'commerce.inventory.reserved.v1',
        'commerce.order.created.v1',
        'commerce.payment.authorized.v1',
        'commerce.order.confirmed.v1',
      ],
    );
    for (const r of rows) assert.equal(r.tp.split('-')[1], traceId, `${r.topic} keeps the trace`);
  });

  it('200 concurrent reads of a cold product make one database load', async () => {
    const product = await newProduct(7);
    const stats = region.domain(commerceModule).cacheStats.products;
    assert.ok(stats);
    const before = stats.loads;
    const results = await Promise.all(
      Array.from({ length: 200 }, () =>
        gql<{ product: { stock: number } }>(graphql, 'query($id: ID!) { product(id: $id) { id stock } }', {
          id: product,
        }),
      ),
    );
    assert.ok(
      results.every((r) => r.data?.product?.stock === 7),
      JSON.stringify(results.find((r) => r.data?.product?.stock !== 7)),
    );
    assert.equal(stats.loads - before, 1);
  });
});
