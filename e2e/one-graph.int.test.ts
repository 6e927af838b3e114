/**
 * One query, four subgraphs: `me` with commerce's orders, social's posts, chat's rooms and IoT's
 * devices, through one region gateway over every domain — for the same user id in two tenants,
 * which must each see only their own.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createPostgres } from '../infra/adapters/postgres.ts';
import { resolveEndpoints } from '../infra/config/endpoints.ts';
import { DOMAINS } from '../regions/domains.ts';
import { east } from '../regions/east.ts';
import { type RunningRegion, startRegion } from '../regions/host/region-host.ts';
import { testIdentity, testRegionConfig } from '../regions/host/testing.ts';
import type { Identity } from '../regions/identity/identity.ts';
import { gql } from './support/graphql-client.ts';

const ME = `{
  me {
    id
    orders { id status }
    posts { posts { id body } }
    rooms { id name }
    devices { id name }
  }
}`;
const SCOPES = ['orders:write', 'devices:write', 'devices:read'];

interface Me {
  me: {
    id: string;
    orders: { id: string }[];
    posts: { posts: { id: string; body: string }[] };
    rooms: { id: string; name: string }[];
    devices: { id: string; name: string }[];
  };
}

describe('one graph across the four domains', () => {
  const db = createPostgres({ url: resolveEndpoints('east', process.env).postgresUrl });
  let region: RunningRegion;
  let identity: Identity;
  let graphql: string;
  const productId = `p-one-graph-${randomUUID().slice(0, 8)}`;
  const run = randomUUID().slice(0, 8);
  const tenants = [`og-a-${run}`, `og-b-${run}`] as const;

  before(async () => {
    identity = testIdentity();
    region = await startRegion(testRegionConfig(east), { identity, domains: DOMAINS });
    graphql = `http://127.0.0.1:${region.gatewayPort}/graphql`;
    await db.pool.query(
      "INSERT INTO products (id, sku, name, price_cents, stock) VALUES ($1, $1, 'one graph', 100, 100)",
      [productId],
    );
  });
  after(async () => {
    await region?.stop();
    await db.close();
  });

  async function as(tenant: string) {
    const issued = await identity.issuer?.issue({ sub: 'ada', tenant, scopes: SCOPES });
    assert.ok(issued);
    const headers = { authorization: `Bearer ${issued.access_token}` };
    return <T>(query: string, variables: Record<string, unknown> = {}) => gql<T>(graphql, query, variables, headers);
  }

  it("`me` reads orders, posts, rooms and devices at once, each the caller's tenant's own", async () => {
    const a = await as(tenants[0]);
    const b = await as(tenants[1]);
    // Everything happens in tenant A, for the user id "ada" who also exists in tenant B.
    const steps = [
      await a('mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { id } }', {
        i: { items: [{ productId, quantity: 1 }], idempotencyKey: randomUUID(), paymentToken: 'tok_visa' },
      }),
      await a('mutation { setProfile(input: { displayName: "Ada" }) { id } }'),
      await a('mutation($i: CreatePostInput!) { createPost(input: $i) { id } }', { i: { body: `hello ${run}` } }),
      await a('mutation($i: CreateChatRoomInput!) { createChatRoom(input: $i) { id } }', {
        i: { name: `room ${run}` },
      }),
      await a('mutation($i: RegisterDeviceInput!) { registerDevice(input: $i) { device { id } } }', {
        i: { name: `sensor ${run}`, model: 'm1', firmwareVersion: '1.0.0' },
      }),
    ];
    for (const s of steps) assert.equal(s.errors, undefined, JSON.stringify(s.errors));

    const mine = await a<Me>(ME);
    assert.equal(mine.errors, undefined, JSON.stringify(mine.errors));
    const me = mine.data?.me;
    assert.equal(me?.id, 'ada');
    assert.equal(me?.orders.length, 1, 'commerce');
    assert.deepEqual(
      me?.posts.posts.map((p) => p.body),
      [`hello ${run}`],
      'social',
    );
    assert.deepEqual(
      me?.rooms.map((r) => r.name),
      [`room ${run}`],
      'chat',
    );
    assert.deepEqual(
      me?.devices.map((d) => d.name),
      [`sensor ${run}`],
      'iot',
    );

    const theirs = await b<Me>(ME);
    assert.equal(theirs.errors, undefined, JSON.stringify(theirs.errors));
    assert.deepEqual(
      theirs.data?.me,
      { id: 'ada', orders: [], posts: { posts: [] }, rooms: [], devices: [] },
      'the same user id in another tenant sees none of it',
    );
  });
});
