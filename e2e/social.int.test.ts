/**
 * Social end to end on the real stack, through the region gateways of two regions started
 * here (east and west, every domain): posts written in east reach a follower's feed in west
 * through the document outbox, the relay, Kafka, MirrorMaker 2 and west's feed projector; the
 * graph across commerce and social; tenancy through the graph and the hub; bad input.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { east } from '../regions/east.ts';
import type { RunningRegion } from '../regions/host/region-host.ts';
import { testIdentity } from '../regions/host/testing.ts';
import type { Identity } from '../regions/identity/identity.ts';
import { socialModule } from '../regions/social/module.ts';
import { west } from '../regions/west.ts';
import { gql } from './support/graphql-client.ts';
import { socialClient, until } from './support/social-client.ts';
import { projectorCaughtUp, type RegionDatabase, regionDatabase, startSocialRegion } from './support/social-region.ts';
import { openSse } from './support/sse-client.ts';

let identity: Identity;
let eastRegion: RunningRegion;
let westRegion: RunningRegion;
let databases: RegionDatabase[] = [];
const gateway = (r: RunningRegion) => `http://127.0.0.1:${r.gatewayPort}/graphql`;
const hub = (r: RunningRegion) => `http://127.0.0.1:${r.hubPort}/v1/stream`;
const newTenant = () => `s-${randomUUID().slice(0, 8)}`;

async function token(sub: string, tenant: string): Promise<string> {
  const issued = await identity.issuer?.issue({ sub, tenant, scopes: ['orders:write'] });
  assert.ok(issued, 'dev issuer is on');
  return issued.access_token;
}

/** A user of `tenant` with a profile, acting against `region`. */
async function member(region: RunningRegion, sub: string, tenant: string) {
  const client = socialClient(gateway(region), await token(sub, tenant));
  await client.setProfile(sub.toUpperCase());
  return client;
}

before(async () => {
  identity = testIdentity();
  databases = await Promise.all([regionDatabase('east', 'social_e2e'), regionDatabase('west', 'social_e2e')]);
  [eastRegion, westRegion] = await Promise.all([
    startSocialRegion(east, identity, databases[0] as RegionDatabase),
    startSocialRegion(west, identity, databases[1] as RegionDatabase),
  ]);
  await Promise.all([projectorCaughtUp(eastRegion), projectorCaughtUp(westRegion)]);
});
after(async () => {
  await Promise.all([eastRegion?.stop(), westRegion?.stop()]);
  await Promise.all(databases.map((d) => d.drop()));
});

describe('social across regions', () => {
  it('a post in east shows in a follower’s feed in west, with its comments and likes copied there', async () => {
    const tenant = newTenant();
    const ann = await member(eastRegion, 'ann', tenant);
    const bob = await member(eastRegion, 'bob', tenant);
    await bob.follow('ann');
    const bobWest = socialClient(gateway(westRegion), await token('bob', tenant));
    const { id } = await ann.post('hello from east');
    const t0 = performance.now();
    await until(async () => (await bobWest.feed()).posts.some((p) => p.id === id), 15_000);
    console.log(`# east post → west follower feed: ${(performance.now() - t0).toFixed(0)} ms (design SLO < 2000 ms)`);
    assert.deepEqual(
      (await bobWest.feed()).posts.map((p) => [p.id, p.body, p.author.id]),
      [[id, 'hello from east', 'ann']],
    );

    await bob.raw('mutation($p: ID!) { likePost(postId: $p) { id } }', { p: id });
    await bob.raw('mutation($p: ID!) { addComment(input: { postId: $p, body: "nice" }) { id } }', { p: id });
    const readWest = () =>
      bobWest.raw<{ post: { likeCount: number; likedByMe: boolean; comments: { comments: Array<{ body: string }> } } }>(
        'query($p: ID!) { post(id: $p) { likeCount likedByMe comments { comments { body author { displayName } } } } }',
        { p: id },
      );
    await until(
      async () =>
        (await readWest()).data?.post?.comments.comments.length === 1 && (await readWest()).data?.post?.likeCount === 1,
      15_000,
    );
    assert.deepEqual((await readWest()).data?.post, {
      likeCount: 1,
      likedByMe: true,
      comments: { comments: [{ body: 'nice', author: { displayName: 'BOB' } }] },
    });
  });

  it('an unfollow in east takes the author’s posts out of the follower’s feed in both regions', async () => {
    const tenant = newTenant();
    const ann = await member(eastRegion, 'ann', tenant);
    const bob = await member(eastRegion, 'bob', tenant);
    await ann.post('before the follow');
    await bob.follow('ann');
    const bobWest = socialClient(gateway(westRegion), await token('bob', tenant));
    await until(async () => (await bobWest.feed()).posts.length === 1, 15_000);
    await until(async () => (await bob.feed()).posts.length === 1, 15_000);
    await bob.raw('mutation { unfollow(userId: "ann") { id } }');
    await until(async () => (await bobWest.feed()).posts.length === 0, 15_000);
    await until(async () => (await bob.feed()).posts.length === 0, 15_000);
  });
});

describe('social through one gateway (east)', () => {
  it('pages a feed with cursors: every post once, newest first', async () => {
    const tenant = newTenant();
    const ann = await member(eastRegion, 'ann', tenant);
    const cy = await member(eastRegion, 'cy', tenant);
    const bob = await member(eastRegion, 'bob', tenant);
    await bob.follow('ann');
    await bob.follow('cy');
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await (i % 2 ? ann : cy).post(`post ${i}`)).id);
    await until(async () => (await bob.feed(50)).posts.length === 7, 15_000);
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 10; page++) {
      const f = await bob.feed(3, cursor);
      seen.push(...f.posts.map((p) => p.id));
      if (!f.hasNextPage) break;
      cursor = f.endCursor;
    }
    assert.deepEqual(seen, [...ids].reverse());
  });

  it('answers public posts cacheable per tenant and feeds per user', async () => {
    const tenant = newTenant();
    const ann = await member(eastRegion, 'ann', tenant);
    const { id } = await ann.post('cache me');
    const post = await ann.raw('query($p: ID!) { post(id: $p) { id body author { id displayName } } }', { p: id });
    assert.match(post.headers.get('cache-control') ?? '', /max-age=\d+, public/);
    assert.equal(post.headers.get('x-meridian-cache-scope'), 'tenant');
    const missing = await ann.raw('query($p: ID!) { post(id: $p) { id } }', { p: randomUUID() });
    assert.equal(missing.data?.post, null);
    assert.equal(
      missing.headers.get('cache-control'),
      'no-store',
      'not found is not cached (it may be not yet replicated)',
    );
    const feed = await ann.raw('{ feed { id posts { id } } }');
    assert.match(feed.headers.get('cache-control') ?? '', /max-age=\d+, private/);
    assert.equal(feed.headers.get('x-meridian-cache-scope'), null);
  });

  it('one query across commerce and social: me { orders posts }, Product { posts }, Post { products }', async () => {
    const tenant = newTenant();
    const ann = await member(eastRegion, 'ann', tenant);
    const { id } = await ann.post('this keyboard!', ['p-keyboard']);
    const r = await ann.raw<{
      me: {
        id: string;
        tenant: string;
        displayName: string;
        orders: unknown[];
        posts: { posts: Array<{ id: string }> };
      };
      product: { name: string; posts: { posts: Array<{ id: string; author: { displayName: string } }> } };
      post: { products: Array<{ id: string; name: string; price: { formatted: string } }> };
    }>(
      `query($p: ID!) {
        me { id tenant displayName orders { id } posts { posts { id } } }
        product(id: "p-keyboard") { name posts { posts { id author { displayName } } } }
        post(id: $p) { products { id name price { formatted } } }
      }`,
      { p: id },
    );
    assert.deepEqual(r.errors, undefined);
    assert.deepEqual(r.data?.me, { id: 'ann', tenant, displayName: 'ANN', orders: [], posts: { posts: [{ id }] } });
    assert.deepEqual(r.data?.product.posts.posts, [{ id, author: { displayName: 'ANN' } }]);
    assert.equal(r.data?.post.products[0]?.id, 'p-keyboard');
    assert.match(r.data?.post.products[0]?.price.formatted ?? '', /USD/);
    assert.ok(r.data?.product.name);
  });

  it('keeps tenants apart through the graph: the same user id in two tenants sees only its own', async () => {
    const [ta, tb] = [newTenant(), newTenant()];
    const samA = await member(eastRegion, 'sam', ta);
    const fanA = await member(eastRegion, 'fan', ta);
    const samB = await member(eastRegion, 'sam', tb);
    const fanB = await member(eastRegion, 'fan', tb);
    await fanA.follow('sam');
    await fanB.follow('sam');
    const { id } = await samA.post('tenant A secret', ['p-mouse']);
    await until(async () => (await fanA.feed()).posts.length === 1, 15_000);
    assert.deepEqual((await fanB.feed()).posts, []);
    assert.deepEqual((await samB.feed()).posts, []);
    const probe = `query($p: ID!) { post(id: $p) { id } user(id: "sam") { posts { posts { id } } followerCount }
      product(id: "p-mouse") { posts { posts { id } } } }`;
    const inB = await fanB.raw<{
      post: unknown;
      user: { posts: { posts: unknown[] }; followerCount: number };
      product: { posts: { posts: Array<{ id: string }> } };
    }>(probe, { p: id });
    assert.equal(inB.data?.post, null);
    assert.deepEqual(inB.data?.user.posts.posts, []);
    assert.equal(inB.data?.user.followerCount, 1, 'only B’s own fan');
    assert.ok(!inB.data?.product.posts.posts.some((p) => p.id === id));
    const inA = await fanA.raw<typeof inB.data>(probe, { p: id });
    assert.ok(inA.data?.product.posts.posts.some((p) => p.id === id));
  });

  it('keeps tenants apart on the hub: the same topic name in two tenants is two streams', async () => {
    const [ta, tb] = [newTenant(), newTenant()];
    const samA = await member(eastRegion, 'sam', ta);
    const fanA = await member(eastRegion, 'fan', ta);
    await member(eastRegion, 'sam', tb);
    const fanB = await member(eastRegion, 'fan', tb);
    await fanA.follow('sam');
    await fanB.follow('sam');
    const open = async (sub: string, tenant: string) =>
      openSse(`${hub(eastRegion)}?topics=user.fan.feed,author.sam.posts`, {
        authorization: `Bearer ${await token(sub, tenant)}`,
      });
    const [streamA, streamB] = [await open('fan', ta), await open('fan', tb)];
    try {
      assert.equal(streamA.status, 200);
      const denied = await openSse(`${hub(eastRegion)}?topics=user.fan.feed`, {
        authorization: `Bearer ${await token('sam', ta)}`,
      });
      assert.notEqual(denied.status, 200, 'another user’s feed topic is refused');
      denied.close();
      const { id } = await samA.post('live in A');
      const posted = await streamA.next((f) => f.event === 'social.post.created.v1');
      assert.equal(JSON.parse(posted.data).postId, id);
      const inFeed = await streamA.next((f) => f.event === 'social.feed.updated.v1');
      assert.equal(JSON.parse(inFeed.data).postId, id);
      await assert.rejects(
        streamB.next(() => true, 1500),
        /no matching SSE frame/,
        'tenant B hears nothing',
      );
    } finally {
      streamA.close();
      streamB.close();
    }
  });
});

describe('social refuses bad input through the gateway, changing nothing', () => {
  /** Documents and outbox rows of `tenant` in east (user events; the projector's feed notices come and go on their own). */
  async function footprint(tenant: string): Promise<number[]> {
    const db = eastRegion.deps.mongo.db;
    const docs = await Promise.all(
      ['profiles', 'posts', 'comments', 'likes', 'follows'].map((c) =>
        db.collection(`social_${c}`).countDocuments({ tenant }),
      ),
    );
    const { rows } = await eastRegion.deps.postgres.pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM outbox WHERE envelope->>'tenant' = $1 AND topic <> 'social.feed.updated.v1'",
      [tenant],
    );
    return [...docs, rows[0]?.n ?? -1];
  }

  it('empty, blank and oversized posts, unknown authors, posts and users, with clear codes', async () => {
    const tenant = newTenant();
    const ann = await member(eastRegion, 'ann', tenant);
    const { id } = await ann.post('a post');
    const ghost = socialClient(gateway(eastRegion), await token('ghost', tenant));
    await until(async () => (await footprint(tenant))[5] === 2, 10_000); // profile + post events reached the outbox
    const before = await footprint(tenant);
    const code = async (client: typeof ann, query: string, variables: Record<string, unknown> = {}) => {
      const r = await client.raw(query, variables);
      return [r.status, r.errors?.[0]?.extensions?.code];
    };
    const create = 'mutation($b: String!) { createPost(input: { body: $b }) { id } }';
    assert.deepEqual(await code(ann, create, { b: '' }), [200, 'BAD_USER_INPUT']);
    assert.deepEqual(await code(ann, create, { b: ' \n ' }), [200, 'BAD_USER_INPUT']);
    assert.deepEqual(await code(ann, create, { b: 'x'.repeat(5001) }), [200, 'BAD_USER_INPUT']);
    assert.deepEqual(await code(ann, create, { b: 'x'.repeat(70_000) }), [413, 'PAYLOAD_TOO_LARGE']);
    assert.deepEqual(await code(ghost, create, { b: 'who am I' }), [200, 'USER_NOT_FOUND']);
    assert.deepEqual(await code(ann, 'mutation { follow(userId: "nobody") { id } }'), [200, 'USER_NOT_FOUND']);
    assert.deepEqual(await code(ann, 'mutation { follow(userId: "ann") { id } }'), [200, 'BAD_USER_INPUT']);
    assert.deepEqual(await code(ann, `mutation { likePost(postId: "${randomUUID()}") { id } }`), [
      200,
      'POST_NOT_FOUND',
    ]);
    assert.deepEqual(
      await code(ann, `mutation { addComment(input: { postId: "${randomUUID()}", body: "x" }) { id } }`),
      [200, 'POST_NOT_FOUND'],
    );
    assert.deepEqual(await code(ann, `mutation { addComment(input: { postId: "${id}", body: "" }) { id } }`), [
      200,
      'BAD_USER_INPUT',
    ]);
    assert.deepEqual(await code(ann, 'mutation { setProfile(input: { displayName: "" }) { id } }'), [
      200,
      'BAD_USER_INPUT',
    ]);
    const anonymous = await gql(gateway(eastRegion), '{ feed { id } }');
    assert.equal(anonymous.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
    assert.deepEqual(await footprint(tenant), before);
  });

  it('injection-shaped values in every argument: refused as values, never used as query operators', async () => {
    const tenant = newTenant();
    const ann = await member(eastRegion, 'ann', tenant);
    await member(eastRegion, 'bob', tenant);
    const { id } = await ann.post('a post', ['p-mouse']);
    await until(async () => (await footprint(tenant))[5] === 3, 10_000);
    const before = await footprint(tenant);
    const operator = { $gt: '' };
    const asText = JSON.stringify(operator);
    const cursorOfOperator = Buffer.from(asText).toString('base64url');
    const cases: Array<[string, Record<string, unknown>]> = [
      ['query($v: ID!) { post(id: $v) { id } }', { v: operator }],
      ['query($v: ID!) { post(id: $v) { id } }', { v: asText }],
      ['query($v: ID!) { user(id: $v) { id } }', { v: asText }],
      ['query($v: ID!) { user(id: $v) { id } }', { v: '$where' }],
      ['query($v: String) { feed(after: $v) { id } }', { v: operator }],
      ['query($v: String) { feed(after: $v) { id } }', { v: cursorOfOperator }],
      ['query($v: Int) { feed(first: $v) { id } }', { v: operator }],
      [`query($v: String) { post(id: "${id}") { comments(after: $v) { comments { id } } } }`, { v: cursorOfOperator }],
      ['query($v: String) { user(id: "ann") { posts(after: $v) { posts { id } } } }', { v: cursorOfOperator }],
      [
        'query($v: String) { user(id: "ann") { followers(after: $v) { users { id } } } }',
        { v: Buffer.from(JSON.stringify([operator])).toString('base64url') },
      ],
      ['query($v: String) { product(id: "p-mouse") { posts(after: $v) { posts { id } } } }', { v: cursorOfOperator }],
      ['mutation($v: ID!) { follow(userId: $v) { id } }', { v: asText }],
      ['mutation($v: ID!) { follow(userId: $v) { id } }', { v: operator }],
      ['mutation($v: ID!) { unfollow(userId: $v) { id } }', { v: asText }],
      ['mutation($v: ID!) { likePost(postId: $v) { id } }', { v: asText }],
      ['mutation($v: ID!) { unlikePost(postId: $v) { id } }', { v: operator }],
      ['mutation($v: ID!) { addComment(input: { postId: $v, body: "x" }) { id } }', { v: asText }],
      [`mutation($v: String!) { addComment(input: { postId: "${id}", body: $v }) { id } }`, { v: operator }],
      ['mutation($v: [ID!]) { createPost(input: { body: "x", productIds: $v }) { id } }', { v: [asText] }],
      ['mutation($v: String) { createPost(input: { body: "x", idempotencyKey: $v }) { id } }', { v: operator }],
      ['mutation($v: String!) { createPost(input: { body: $v }) { id } }', { v: operator }],
      ['mutation($v: String!) { setProfile(input: { displayName: $v }) { id } }', { v: operator }],
      ['mutation($v: SetProfileInput!) { setProfile(input: $v) { id } }', { v: { displayName: 'x', $where: '1' } }],
    ];
    for (const [query, variables] of cases) {
      const r = await ann.raw(query, variables);
      assert.equal(
        r.errors?.[0]?.extensions?.code,
        'BAD_USER_INPUT',
        `${query} ${JSON.stringify(variables)}: ${JSON.stringify(r.errors)}`,
      );
    }
    assert.deepEqual(await footprint(tenant), before);
  });
});

describe('social module', () => {
  it('created its indexes at start and exposes its settings', async () => {
    const handle = eastRegion.domain(socialModule);
    assert.equal(handle.settings.policy.fanOutLimit, 1000);
    const indexes = (await eastRegion.deps.mongo.db.collection('social_posts').listIndexes().toArray()).map(
      (i) => i.name,
    );
    assert.ok(
      ['by_author', 'by_product', 'outbox_pending'].every((n) => indexes.includes(n)),
      indexes.join(),
    );
  });
});
