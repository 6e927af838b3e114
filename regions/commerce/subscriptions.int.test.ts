/**
 * Commerce's live order updates through a real region: an order placed through the gateway
 * reaches a `graphql-ws` client subscribed at the hub (outbox → Kafka → hub feed → WebSocket),
 * and only its owner may follow it.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createPostgres } from '../../infra/adapters/postgres.ts';
import { resolveEndpoints } from '../../infra/config/endpoints.ts';
import { DOMAINS } from '../domains.ts';
import { east } from '../east.ts';
import { type RunningRegion, startRegion } from '../host/region-host.ts';
import { testIdentity, testRegionConfig } from '../host/testing.ts';
import { hubSocketUrl, live, liveClient, untilSubscriptions } from '../hub/testing.ts';
import type { Identity } from '../identity/identity.ts';

const db = createPostgres({ url: resolveEndpoints('east', process.env).postgresUrl });
let identity: Identity;
let region: RunningRegion;
const tenant = `t-live-${randomUUID().slice(0, 8)}`;

async function token(sub: string, t = tenant): Promise<string> {
  const issued = await identity.issuer?.issue({ sub, tenant: t, scopes: ['orders:write'] });
  assert.ok(issued);
  return issued.access_token;
}

async function placeOrder(as: string, productId: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${region.gatewayPort}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${as}` },
    body: JSON.stringify({
      query: 'mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { id status } }',
      variables: { i: { items: [{ productId, quantity: 1 }], paymentToken: 'tok_visa', idempotencyKey: randomUUID() } },
    }),
  });
  const body = (await res.json()) as { data?: { placeOrder: { id: string } }; errors?: unknown };
  assert.ok(body.data, JSON.stringify(body.errors));
  return body.data.placeOrder.id;
}

before(async () => {
  identity = testIdentity();
  region = await startRegion(testRegionConfig(east), { identity, domains: DOMAINS });
});
after(async () => {
  await region?.stop();
  await db.close();
});

describe('commerce subscriptions over the hub WebSocket', () => {
  it('myOrdersUpdated and orderUpdated follow an order from PENDING to CONFIRMED; resume replays what was missed', async () => {
    const productId = `p-zz-live-${randomUUID().slice(0, 8)}`;
    await db.pool.query("INSERT INTO products (id, sku, name, price_cents, stock) VALUES ($1, $1, 'live', 100, 5)", [
      productId,
    ]);
    const u1 = await token('u1');
    const idle = region.hub.stats().subscriptions;
    const client = liveClient(hubSocketUrl(region.hubPort), u1);
    try {
      const mine = live(client, { query: 'subscription { myOrdersUpdated { id status version region } }' });
      await untilSubscriptions(region.hub, idle + 1);
      const orderId = await placeOrder(u1, productId);
      const pending = await mine.until((r) => (r.data?.myOrdersUpdated as { id: string })?.id === orderId, 15_000);
      assert.deepEqual(pending.data?.myOrdersUpdated, { id: orderId, status: 'PENDING', version: 1, region: 'east' });
      const confirmed = await mine.next(15_000);
      assert.equal((confirmed.data?.myOrdersUpdated as { status?: string } | undefined)?.status, 'CONFIRMED');
      mine.dispose();

      // Resume the order's own topic from the first event: the confirmation is replayed.
      const resumed = live(client, {
        query: 'subscription($id: ID!) { orderUpdated(id: $id) { id status version } }',
        variables: { id: orderId },
        extensions: { hub: { lastEventId: pending.extensions?.hub?.id, epoch: pending.extensions?.hub?.epoch } },
      });
      const replayed = await resumed.next();
      assert.deepEqual(replayed.data?.orderUpdated, { id: orderId, status: 'CONFIRMED', version: 2 });
      assert.equal(replayed.extensions?.hub?.id, confirmed.extensions?.hub?.id);
      resumed.dispose();

      for (const other of [await token('u2'), await token('u1', `${tenant}-b`)]) {
        const c = liveClient(hubSocketUrl(region.hubPort), other);
        const denied = live(c, {
          query: 'subscription($id: ID!) { orderUpdated(id: $id) { id } }',
          variables: { id: orderId },
        });
        assert.equal((await denied.next()).errors?.[0]?.extensions?.code, 'FORBIDDEN');
        await c.dispose();
      }
    } finally {
      await client.dispose();
      await db.pool.query('DELETE FROM products WHERE id = $1', [productId]).catch(() => {});
    }
  });
});
