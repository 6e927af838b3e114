/**
 * Commerce benchmarks, one region (east) started in this process on the real stack:
 * 1. placeOrder → SSE shows CONFIRMED, over 500 orders; baseline: the placeOrder round trip.
 * 2. a federated commerce query through the region gateway versus a plain Apollo Gateway
 *    over the same subgraph, same run.
 * 3. a cached product read versus the same read with the cache off (Postgres).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { createPostgres } from '../../infra/adapters/postgres.ts';
import { createRedis } from '../../infra/adapters/redis.ts';
import { createCachedCatalog } from '../../infra/commerce/catalog.cached.ts';
import { createPostgresCatalog } from '../../infra/commerce/catalog.postgres.ts';
import { resolveEndpoints } from '../../infra/config/endpoints.ts';
import { DOMAINS } from '../../regions/domains.ts';
import { east } from '../../regions/east.ts';
import { SUPERGRAPH_FILE, startRegion } from '../../regions/host/region-host.ts';
import { testIdentity, testRegionConfig } from '../../regions/host/testing.ts';
import { gql, PLACE_ORDER } from '../support/graphql-client.ts';
import { openSse } from '../support/sse-client.ts';
import { fmtLoad, runLoad } from './load.ts';
import { fmt, summarize } from './stats.ts';

const ORDERS = Number(process.env.BENCH_ORDERS ?? 500);
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 8000);
const identity = testIdentity();
const region = await startRegion(testRegionConfig(east), { identity, domains: DOMAINS });
const graphql = `http://127.0.0.1:${region.gatewayPort}/graphql`;
const endpoints = resolveEndpoints('east', process.env);
const db = createPostgres({ url: endpoints.postgresUrl });
const redis = createRedis({ url: endpoints.redisUrl });

try {
  // ── 1. placeOrder → CONFIRMED over SSE ─────────────────────────────────────
  const user = `bench-${randomUUID().slice(0, 8)}`;
  const token = (await identity.issuer?.issue({ sub: user, tenant: 't1', scopes: ['orders:write'] }))?.access_token;
  const product = `p-zz-bench-${randomUUID().slice(0, 8)}`;
  await db.pool.query(
    "INSERT INTO products (id, sku, name, price_cents, stock) VALUES ($1, $1, 'bench', 100, 1000000)",
    [product],
  );
  const stream = await openSse(`http://127.0.0.1:${region.hubPort}/v1/stream?topics=user.${user}.orders`, {
    authorization: `Bearer ${token}`,
  });
  const ack: number[] = [];
  const confirmed: number[] = [];
  for (let i = 0; i < ORDERS; i++) {
    const t0 = performance.now();
    const res = await gql<{ placeOrder: { id: string } }>(
      graphql,
      PLACE_ORDER,
      {
        input: { items: [{ productId: product, quantity: 1 }], idempotencyKey: randomUUID(), paymentToken: 'tok_visa' },
      },
      { authorization: `Bearer ${token}` },
    );
    ack.push(performance.now() - t0);
    const id = res.data?.placeOrder.id;
    if (!id) throw new Error(`placeOrder failed: ${JSON.stringify(res.errors)}`);
    await stream.next((f) => f.event === 'commerce.order.confirmed.v1' && f.data.includes(id), 10_000);
    confirmed.push(performance.now() - t0);
  }
  stream.close();
  const a = summarize(ack);
  const c = summarize(confirmed);
  console.log(`placeOrder round trip (baseline)     ${fmt(a)}`);
  console.log(`placeOrder → SSE CONFIRMED           ${fmt(c)}`);
  console.log(
    `ratio confirmed/ack: p50 ${(c.p50 / a.p50).toFixed(1)}x, p95 ${(c.p95 / a.p95).toFixed(1)}x (goal p95 < 200 ms)`,
  );

  // ── 2. region gateway vs plain Apollo Gateway, same subgraph ──────────────
  const subgraphUrl = region.subgraphUrl('commerce');
  const plain = new ApolloServer({
    gateway: new ApolloGateway({
      supergraphSdl: readFileSync(SUPERGRAPH_FILE, 'utf8'),
      buildService: () => new RemoteGraphQLDataSource({ url: subgraphUrl }),
    }),
  });
  const { url: plainUrl } = await startStandaloneServer(plain, { listen: { port: 0, host: '127.0.0.1' } });
  const query = '{ products(first: 5) { id name price { formatted } stock } }';
  const load = (url: string) =>
    runLoad({
      concurrency: 16,
      durationMs: DURATION_MS,
      warmupMs: 1500,
      fn: async () => (await gql(url, query)).status === 200,
    });
  const plainRun = await load(plainUrl);
  const regionRun = await load(graphql);
  console.log(`plain Apollo Gateway                 ${fmtLoad(plainRun)}`);
  console.log(`Meridian region gateway              ${fmtLoad(regionRun)}`);
  console.log(
    `ratio region/plain: throughput ${(regionRun.rps / plainRun.rps).toFixed(2)}x, p95 ${(regionRun.latency.p95 / plainRun.latency.p95).toFixed(2)}x`,
  );
  await plain.stop();

  // ── 3. cached product read vs cache off ────────────────────────────────────
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
  await region.stop();
  await db.close();
  await redis.close();
}
process.exit(0);
