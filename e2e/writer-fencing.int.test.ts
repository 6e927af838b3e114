/**
 * Single-writer orders across two real regions (in-process hosts on the stack's east and west
 * databases, Kafka and MirrorMaker 2): the standby copy, the writer lease held by the regions,
 * a stale writer refusing orders sent straight to it, and idempotency surviving a move.
 * Moves the real writer lease, so it runs in the e2e tier (alone) and moves it back at the end.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../infra/adapters/free-port.ts';
import { createKafka } from '../infra/adapters/kafka.ts';
import { createPostgres, type Postgres } from '../infra/adapters/postgres.ts';
import { until } from '../infra/adapters/testing.ts';
import { resolveEndpoints } from '../infra/config/endpoints.ts';
import { groupLag } from '../infra/events/consumer-lag.ts';
import { DEV_OPS_TOKEN } from '../regions/config.ts';
import { DOMAINS } from '../regions/domains.ts';
import { east } from '../regions/east.ts';
import { type RunningRegion, startRegion } from '../regions/host/region-host.ts';
import { testIdentity, testRegionConfig } from '../regions/host/testing.ts';
import type { Identity } from '../regions/identity/identity.ts';
import { west } from '../regions/west.ts';
import { gql, PLACE_ORDER } from './support/graphql-client.ts';

const TENANT = 'fencing-test';
let identity: Identity;
let regions: Record<'east' | 'west', RunningRegion>;
let db: Record<'east' | 'west', Postgres>;
let token: string;
let product: string;

const graphql = (r: 'east' | 'west') => `http://127.0.0.1:${regions[r].gatewayPort}/graphql`;

async function moveWriter(to: 'east' | 'west'): Promise<number> {
  const epoch = Math.max(...(['east', 'west'] as const).map((r) => regions[r].writers?.leases()[0]?.epoch ?? 0)) + 1;
  for (const r of ['east', 'west'] as const) {
    const res = await fetch(`http://127.0.0.1:${regions[r].gatewayPort}/ops/writer`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${DEV_OPS_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ region: to, epoch }),
    });
    assert.equal(res.status, 200, await res.text());
  }
  return epoch;
}

function place(r: 'east' | 'west', key = randomUUID()) {
  return gql<{ placeOrder: { id: string; status: string } }>(
    graphql(r),
    PLACE_ORDER,
    { input: { items: [{ productId: product, quantity: 1 }], idempotencyKey: key, paymentToken: 'tok_visa' } },
    { authorization: `Bearer ${token}` },
  );
}

async function orderIn(r: 'east' | 'west', id: string) {
  const { rows } = await db[r].pool.query<{
    status: string;
    writer_region: string | null;
    writer_epoch: string | null;
  }>('SELECT status, writer_region, writer_epoch FROM orders WHERE id = $1', [id]);
  return rows[0];
}

async function stockIn(r: 'east' | 'west'): Promise<number | undefined> {
  const { rows } = await db[r].pool.query<{ stock: number }>('SELECT stock FROM products WHERE id = $1', [product]);
  return rows[0]?.stock;
}

before(async () => {
  identity = testIdentity();
  const config = (profile: typeof east, self: number, peer: number) => ({
    ...testRegionConfig(profile),
    gatewayPort: self,
    peerGatewayUrl: `http://127.0.0.1:${peer}`,
  });
  // Each region must know its peer's gateway port before either listens, so the ports are
  // picked first; another listener of this process (a port-0 service of the other region) can
  // take one in between. Then whatever started is stopped — a running region would keep this
  // file from ever exiting — and the pair is started again on new ports.
  for (let attempt = 1; ; attempt++) {
    const ports = { east: await freePort(), west: await freePort() };
    const started = await Promise.allSettled([
      startRegion(config(east, ports.east, ports.west), { identity, domains: DOMAINS }),
      startRegion(config(west, ports.west, ports.east), { identity, domains: DOMAINS }),
    ]);
    const [e, w] = started;
    if (e.status === 'fulfilled' && w.status === 'fulfilled') {
      regions = { east: e.value, west: w.value };
      break;
    }
    await Promise.all(started.flatMap((r) => (r.status === 'fulfilled' ? [r.value.stop()] : [])));
    const reason = (e.status === 'rejected' ? e.reason : (w as PromiseRejectedResult).reason) as Error;
    if (attempt === 3 || !/EADDRINUSE/.test(String(reason?.message ?? reason))) throw reason;
  }
  db = {
    east: createPostgres({ url: resolveEndpoints('east', process.env).postgresUrl }),
    west: createPostgres({ url: resolveEndpoints('west', process.env).postgresUrl }),
  };
  // Start from east as the writer, whatever an earlier run left.
  if (regions.east.writers?.leases()[0]?.writer !== 'east') await moveWriter('east');
  product = `p-zz-fence-${randomUUID().slice(0, 8)}`;
  for (const r of ['east', 'west'] as const) {
    await db[r].pool.query(
      "INSERT INTO products (id, sku, name, price_cents, stock) VALUES ($1, $1, 'fencing', 100, 100)",
      [product],
    );
  }
  token = (await identity.issuer?.issue({ sub: 'u-fence', tenant: TENANT, scopes: ['orders:write'] }))
    ?.access_token as string;
  // A standby copy first catches up with the peer's history (after a whole test run, thousands
  // of events): the assertions below are about new orders, so start once it has.
  const kafka = createKafka({ brokers: resolveEndpoints('west', process.env).kafkaBrokers, clientId: 'fencing-lag' });
  try {
    await until(
      async () => {
        const lag = await groupLag(kafka, 'commerce-standby-');
        return Object.keys(lag).length === 5 && Object.values(lag).every((n) => n === 0) ? true : undefined;
      },
      { timeoutMs: 240_000, intervalMs: 500, what: "west's standby copy catching up" },
    );
  } finally {
    await kafka.close();
  }
});

after(async () => {
  if (regions && regions.east.writers?.leases()[0]?.writer !== 'east') await moveWriter('east').catch(() => {});
  await Promise.allSettled([regions?.east.stop(), regions?.west.stop()]);
  await Promise.allSettled([db?.east.close(), db?.west.close()]);
});

describe('single-writer orders across regions', () => {
  it("the standby region keeps a copy of the writer's orders, states and stock", async () => {
    const res = await place('east');
    const id = res.data?.placeOrder.id as string;
    assert.ok(id, JSON.stringify(res.errors));
    const own = await until(async () =>
      (await orderIn('east', id))?.status === 'CONFIRMED' ? orderIn('east', id) : undefined,
    );
    assert.equal(own?.writer_region, 'east');
    assert.ok(own?.writer_epoch !== null, 'the writer stamps its epoch');
    const copy = await until(
      async () => ((await orderIn('west', id))?.status === 'CONFIRMED' ? orderIn('west', id) : undefined),
      { timeoutMs: 20_000 },
    );
    assert.equal(copy?.writer_region, 'east', 'the copy names the region that wrote it');
    assert.equal(await until(async () => ((await stockIn('west')) === 99 ? 99 : undefined), { timeoutMs: 20_000 }), 99);
    assert.equal(await stockIn('east'), 99);
  });

  it('a region that lost the writer lease refuses orders sent straight to it, naming the writer', async () => {
    const key = randomUUID();
    const first = await place('east', key);
    const firstId = first.data?.placeOrder.id as string;
    assert.ok(firstId);
    await until(async () => ((await orderIn('west', firstId)) ? true : undefined), { timeoutMs: 20_000 });

    const epoch = await moveWriter('west');
    const refused = await place('east');
    assert.equal(refused.errors?.[0]?.extensions?.code, 'WRITER_MOVED');
    assert.deepEqual(
      {
        writer: (refused.errors?.[0]?.extensions?.details as { writer?: string })?.writer,
        epoch: (refused.errors?.[0]?.extensions?.details as { epoch?: number })?.epoch,
      },
      { writer: 'west', epoch },
    );
    assert.equal(refused.data?.placeOrder ?? null, null);

    // A client retrying the order it placed before the move gets that order from the new writer, not a second one.
    const retried = await place('west', key);
    assert.equal(retried.data?.placeOrder.id, firstId, JSON.stringify(retried.errors));

    const taken = await place('west');
    const takenId = taken.data?.placeOrder.id as string;
    assert.ok(takenId, JSON.stringify(taken.errors));
    const row = await until(
      async () => ((await orderIn('west', takenId))?.status === 'CONFIRMED' ? orderIn('west', takenId) : undefined),
      {
        timeoutMs: 20_000,
      },
    );
    assert.deepEqual([row?.writer_region, Number(row?.writer_epoch)], ['west', epoch]);
    // ... and the order the survivor took reaches the old writer.
    await until(async () => ((await orderIn('east', takenId))?.status === 'CONFIRMED' ? true : undefined), {
      timeoutMs: 20_000,
    });
  });

  it('a region down during a move learns it from its peer', async () => {
    const epoch = (regions.west.writers?.leases()[0]?.epoch ?? 0) + 1;
    // Only west hears of this move (as if east were down): east adopts it from west within a poll.
    const res = await fetch(`http://127.0.0.1:${regions.west.gatewayPort}/ops/writer`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${DEV_OPS_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ region: 'east', epoch }),
    });
    assert.equal(res.status, 200);
    const learned = await until(async () => {
      const lease = regions.east.writers?.leases()[0];
      return lease?.epoch === epoch ? lease : undefined;
    });
    assert.equal(learned?.writer, 'east');
    const placed = await place('east');
    assert.ok(placed.data?.placeOrder.id, JSON.stringify(placed.errors));
  });
});
