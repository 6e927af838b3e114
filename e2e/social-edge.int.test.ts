/**
 * Social through the edge as a real process (on Deno and on Node), in front of two regions
 * started here: tenancy through the edge cache and the hub with the same user id in two
 * tenants, and purges by event reaching cached feeds and posts.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { east } from '../regions/east.ts';
import type { RunningRegion } from '../regions/host/region-host.ts';
import { testIdentity } from '../regions/host/testing.ts';
import type { Identity } from '../regions/identity/identity.ts';
import { west } from '../regions/west.ts';
import { type EdgeProcess, RUNTIMES, startEdge } from './support/edge-process.ts';
import { gql } from './support/graphql-client.ts';
import { FEED_QUERY, type FeedResult, socialClient, until } from './support/social-client.ts';
import { projectorCaughtUp, type RegionDatabase, regionDatabase, startSocialRegion } from './support/social-region.ts';
import { openSse } from './support/sse-client.ts';

let identity: Identity;
let eastRegion: RunningRegion;
let westRegion: RunningRegion;
let databases: RegionDatabase[] = [];
const unlimited = '1000000';

before(async () => {
  identity = testIdentity();
  databases = await Promise.all([regionDatabase('east', 'social_edge'), regionDatabase('west', 'social_edge')]);
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

function edgeEnv(): Record<string, string> {
  return {
    MERIDIAN_EDGE_EAST_GATEWAY_URL: `http://127.0.0.1:${eastRegion.gatewayPort}`,
    MERIDIAN_EDGE_EAST_HUB_URL: `http://127.0.0.1:${eastRegion.hubPort}`,
    MERIDIAN_EDGE_WEST_GATEWAY_URL: `http://127.0.0.1:${westRegion.gatewayPort}`,
    MERIDIAN_EDGE_WEST_HUB_URL: `http://127.0.0.1:${westRegion.hubPort}`,
    MERIDIAN_JWKS_URL: `http://127.0.0.1:${eastRegion.gatewayPort}/.well-known/jwks.json`,
    MERIDIAN_EDGE_NEAREST_REGION: 'east',
    MERIDIAN_EDGE_WRITER_REGION: 'east',
    MERIDIAN_EDGE_HEALTH_INTERVAL_MS: '200',
    MERIDIAN_EDGE_TENANT_LIMIT_CAPACITY: unlimited,
    MERIDIAN_EDGE_TENANT_LIMIT_REFILL_PER_SECOND: unlimited,
    MERIDIAN_EDGE_CLIENT_LIMIT_CAPACITY: unlimited,
    MERIDIAN_EDGE_CLIENT_LIMIT_REFILL_PER_SECOND: unlimited,
  };
}

async function token(sub: string, tenant: string): Promise<string> {
  const issued = await identity.issuer?.issue({ sub, tenant, scopes: [] });
  assert.ok(issued);
  return issued.access_token;
}

for (const runtime of RUNTIMES) {
  describe(`social through the edge on ${runtime}`, () => {
    let edge: EdgeProcess;
    before(async () => {
      edge = await startEdge(runtime, edgeEnv());
    });
    after(() => edge?.stop());

    /** A user of `tenant` with a profile; reads through the edge, writes straight at east. */
    async function member(sub: string, tenant: string) {
      const t = await token(sub, tenant);
      const direct = socialClient(`http://127.0.0.1:${eastRegion.gatewayPort}/graphql`, t);
      await direct.setProfile(sub);
      return { direct, viaEdge: socialClient(`${edge.url}/graphql`, t), token: t };
    }
    const status = (r: { headers: Headers }) => r.headers.get('cache-status') ?? '';

    it('the same user id in two tenants never gets the other’s cached feed or post', async () => {
      const [ta, tb] = [`ea-${randomUUID().slice(0, 8)}`, `eb-${randomUUID().slice(0, 8)}`];
      const samA = await member('sam', ta);
      const fanA = await member('fan', ta);
      const otherA = await member('other', ta);
      await member('sam', tb);
      const fanB = await member('fan', tb);
      await fanA.direct.follow('sam');
      await fanB.direct.follow('sam');
      const { id } = await samA.direct.post(`secret of ${ta}`);
      await until(async () => (await fanA.direct.feed()).posts.length === 1, 15_000);

      const feedA = await fanA.viaEdge.raw<{ feed: FeedResult }>(FEED_QUERY, { first: 10 });
      assert.equal(feedA.data?.feed.posts[0]?.id, id);
      // Cached for its owner (once the post's purges from both regions are over).
      await until(async () => {
        const again = await fanA.viaEdge.raw<{ feed: FeedResult }>(FEED_QUERY, { first: 10 });
        return again.data?.feed.posts[0]?.id === id && /hit/.test(status(again));
      }, 15_000);
      const feedB = await fanB.viaEdge.raw<{ feed: FeedResult }>(FEED_QUERY, { first: 10 });
      assert.match(status(feedB), /fwd=uri-miss/);
      assert.deepEqual(feedB.data?.feed.posts, [], 'fan of the other tenant: same query, same user id, own feed');

      const postQuery = 'query($p: ID!) { post(id: $p) { id body author { id } } }';
      const byFan = await fanA.viaEdge.raw<{ post: { body: string } }>(postQuery, { p: id });
      assert.equal(byFan.data?.post.body, `secret of ${ta}`);
      const byOther = await otherA.viaEdge.raw(postQuery, { p: id });
      assert.match(status(byOther), /hit/, 'a public post is shared within its tenant');
      const inB = await fanB.viaEdge.raw<{ post: unknown }>(postQuery, { p: id });
      assert.equal(inB.data?.post, null, 'and never beyond it');
      assert.doesNotMatch(status(inB), /hit/);
      const anonymous = await gql(`${edge.url}/graphql`, postQuery, { p: id });
      assert.equal(anonymous.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED', 'no tenant, no posts');
      assert.doesNotMatch(status(anonymous), /hit/);
    });

    it('the hub through the edge keeps tenants apart on the same topic name', async () => {
      const [ta, tb] = [`ha-${randomUUID().slice(0, 8)}`, `hb-${randomUUID().slice(0, 8)}`];
      const samA = await member('sam', ta);
      const fanA = await member('fan', ta);
      const fanB = await member('fan', tb);
      const open = (t: string) =>
        openSse(`${edge.url}/v1/stream?topics=author.sam.posts`, { authorization: `Bearer ${t}` });
      const [streamA, streamB] = [await open(fanA.token), await open(fanB.token)];
      try {
        assert.equal(streamA.status, 200);
        assert.equal(streamB.status, 200);
        const { id } = await samA.direct.post('live');
        const frame = await streamA.next((f) => f.event === 'social.post.created.v1', 15_000);
        assert.equal(JSON.parse(frame.data).postId, id);
        await assert.rejects(
          streamB.next(() => true, 1500),
          /no matching SSE frame/,
        );
      } finally {
        streamA.close();
        streamB.close();
      }
    });

    it('events purge cached feeds and posts: a new post and a like are visible through the edge at once', async () => {
      const tenant = `ep-${randomUUID().slice(0, 8)}`;
      const ann = await member('ann', tenant);
      const bob = await member('bob', tenant);
      await bob.direct.follow('ann');
      await ann.direct.post('first');
      await until(async () => (await bob.direct.feed()).posts.length === 1, 15_000);
      const read = () => bob.viaEdge.raw<{ feed: FeedResult }>(FEED_QUERY, { first: 10 });
      // Both regions announce the first post (each for its own feeds): wait until its purges are
      // over and the feed stays cached.
      await until(async () => {
        await read();
        return /hit/.test(status(await read()));
      }, 15_000);
      const t0 = performance.now();
      const { id } = await ann.direct.post('second');
      const ms = await until(async () => (await read()).data?.feed.posts[0]?.id === id, 10_000, 25);
      console.log(
        `# ${runtime}: post → visible in the follower's cached feed through the edge: ${(performance.now() - t0).toFixed(0)} ms (poll ${ms.toFixed(0)} ms)`,
      );

      const likes = 'query($p: ID!) { post(id: $p) { id likeCount } }';
      const count = async () =>
        (await bob.viaEdge.raw<{ post: { likeCount: number } }>(likes, { p: id })).data?.post.likeCount;
      assert.equal(await count(), 0);
      assert.equal(await count(), 0);
      await bob.direct.raw('mutation($p: ID!) { likePost(postId: $p) { id } }', { p: id });
      await until(async () => (await count()) === 1, 10_000, 25);
    });
  });
}
