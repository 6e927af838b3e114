/**
 * The hybrid fan-out on the real stack (east, every domain): an author with 10,000 followers
 * posts without a write storm — no feed entry per follower, no notice per follower — and every
 * follower still sees the post (pulled at read time); an ordinary author's post is written into
 * each follower's feed. The audiences are seeded straight into the store (see seedFollowers).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { deleteTenant, seedFollowers } from '../infra/social/seed.testing.ts';
import { east } from '../regions/east.ts';
import type { RunningRegion } from '../regions/host/region-host.ts';
import { testIdentity } from '../regions/host/testing.ts';
import type { Identity } from '../regions/identity/identity.ts';
import { socialModule } from '../regions/social/module.ts';
import { socialClient, until } from './support/social-client.ts';
import { projectorCaughtUp, type RegionDatabase, regionDatabase, startSocialRegion } from './support/social-region.ts';

const FOLLOWERS = 10_000;
const tenant = `f-${randomUUID().slice(0, 8)}`;
let database: RegionDatabase;
let identity: Identity;
let region: RunningRegion;

const gateway = () => `http://127.0.0.1:${region.gatewayPort}/graphql`;
async function client(sub: string) {
  const issued = await identity.issuer?.issue({ sub, tenant, scopes: [] });
  assert.ok(issued);
  return socialClient(gateway(), issued.access_token);
}
async function feedKeys(): Promise<number> {
  let n = 0;
  let cursor = '0';
  do {
    const [next, keys] = await region.deps.redis.client.scan(cursor, 'MATCH', `social:feed:${tenant}:*`, 'COUNT', 1000);
    n += keys.length;
    cursor = next;
  } while (cursor !== '0');
  return n;
}
async function notices(postId: string): Promise<string[][]> {
  const { rows } = await region.deps.postgres.pool.query<{ users: string[] }>(
    "SELECT envelope->'data'->'userIds' AS users FROM outbox WHERE topic = 'social.feed.updated.v1' AND aggregate_id = $1",
    [postId],
  );
  return rows.map((r) => r.users);
}

before(async () => {
  identity = testIdentity();
  database = await regionDatabase('east', 'social_fanout');
  region = await startSocialRegion(east, identity, database);
  await projectorCaughtUp(region);
});
after(async () => {
  await deleteTenant(region.deps.mongo.db, tenant).catch(() => {});
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await region.deps.redis.client.scan(
      cursor,
      'MATCH',
      `social:feed:${tenant}:*`,
      'COUNT',
      1000,
    );
    keys.push(...found);
    cursor = next;
  } while (cursor !== '0');
  for (let i = 0; i < keys.length; i += 500) await region.deps.redis.client.del(...keys.slice(i, i + 500));
  await region?.stop();
  await database?.drop();
});

describe('hybrid fan-out', () => {
  it('an ordinary author’s post is written into each follower’s feed and announced once', async () => {
    const light = await client('light');
    await light.setProfile('Light');
    const fans = Array.from({ length: 50 }, (_, i) => `lf${String(i).padStart(3, '0')}`);
    await seedFollowers(region.deps.mongo.db, tenant, 'light', fans);
    const { id } = await light.post('to my fifty');
    await until(async () => (await notices(id)).length === 1, 15_000);
    assert.deepEqual((await notices(id))[0]?.sort(), ['light', ...fans].sort());
    const feeds = region.domain(socialModule).feeds;
    for (const fan of fans)
      assert.deepEqual(
        (await feeds.page(tenant, fan, 5)).map((e) => e.id),
        [id],
        fan,
      );
    assert.equal(await region.domain(socialModule).store.isHeavy(tenant, 'light'), false);
  });

  it(`an author with ${FOLLOWERS.toLocaleString('en')} followers posts without a write storm, and followers still see it`, async () => {
    const star = await client('star');
    await star.setProfile('Star');
    const fans = Array.from({ length: FOLLOWERS }, (_, i) => `sf${String(i).padStart(5, '0')}`);
    const seeded = performance.now();
    await seedFollowers(region.deps.mongo.db, tenant, 'star', fans);
    console.log(`# seeded ${FOLLOWERS} follows in ${(performance.now() - seeded).toFixed(0)} ms`);
    const { store } = region.domain(socialModule);
    assert.equal(await store.countFollowers(tenant, 'star'), FOLLOWERS);
    const keysBefore = await feedKeys();

    const t0 = performance.now();
    const { id } = await star.post('hello, all of you');
    const posted = performance.now() - t0;
    const projected = await until(() => store.isHeavy(tenant, 'star'), 15_000);
    const fan = await client(fans[4321] as string);
    const visible = await until(async () => (await fan.feed()).posts.some((p) => p.id === id), 15_000);
    console.log(
      `# star post: createPost ${posted.toFixed(0)} ms; projected (marked pull-on-read) within ${projected.toFixed(0)} ms; a follower's feed shows it within ${visible.toFixed(0)} ms`,
    );

    assert.equal(await feedKeys(), keysBefore, 'no feed written for any of the followers (nor the author)');
    assert.deepEqual(await notices(id), [], 'no per-follower notice');
    for (const f of [fans[0], fans[9999], 'star'] as string[]) {
      assert.deepEqual(
        (await (await client(f)).feed()).posts.map((p) => p.id),
        [id],
        f,
      );
    }
    // A second post costs the same: the author stays pulled.
    const second = await star.post('again');
    await until(async () => (await fan.feed()).posts[0]?.id === second.id, 15_000);
    assert.equal(await feedKeys(), keysBefore);
  });
});
