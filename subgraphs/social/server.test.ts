/** The social subgraph's resolvers over in-memory ports: the caller's tenant, arguments refused at the boundary. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { graphql } from 'graphql';
import type { Actor } from '../../domains/shared/actor.ts';
import { memoryFeedStore, memorySocialStore, steppingClock, testIds } from '../../domains/social/testing.ts';
import { type SocialContext, socialSchema } from './server.ts';

function subgraph() {
  const store = memorySocialStore();
  const feeds = memoryFeedStore();
  const schema = socialSchema({ store, feeds, clock: steppingClock(), ids: testIds(), pulledFeedMaxAge: 2 });
  return {
    store,
    feeds,
    run: async (source: string, actor?: Actor, variableValues: Record<string, unknown> = {}) => {
      const contextValue: SocialContext = { actor, idempotencyKey: undefined };
      const r = await graphql({ schema, source, contextValue, variableValues });
      // What the HTTP layer does (subgraphs/shared/errors.ts): a domain error's code is the error's code.
      const codes = (r.errors ?? []).map(
        (e) => (e.originalError as { code?: string } | undefined)?.code ?? e.extensions?.code ?? e.message,
      );
      return { data: JSON.parse(JSON.stringify(r.data ?? null)) as Record<string, unknown> | null, codes };
    },
  };
}
const as = (subject: string, tenant: string): Actor => ({ subject, tenant, scopes: [] });

describe('social subgraph', () => {
  it('every operation needs a caller', async () => {
    const s = subgraph();
    const r = await s.run('{ feed { id } }');
    assert.deepEqual(r.codes, ['UNAUTHENTICATED']);
  });

  it('reads in the caller’s tenant: the same user id in two tenants sees two worlds', async () => {
    const s = subgraph();
    const a = as('sam', 'ta');
    const b = as('sam', 'tb');
    await s.run('mutation { setProfile(input: { displayName: "Sam A" }) { id } }', a);
    const created = await s.run(
      'mutation { createPost(input: { body: "only in A" }) { id author { id displayName } } }',
      a,
    );
    const postId = (created.data?.createPost as { id?: string } | undefined)?.id;
    assert.deepEqual(created.data?.createPost, { id: postId, author: { id: 'sam', displayName: 'Sam A' } });
    const read = (actor: Actor) =>
      s.run(
        'query($id: ID!) { post(id: $id) { body } user(id: "sam") { displayName posts { posts { id } } } }',
        actor,
        { id: postId },
      );
    assert.deepEqual((await read(a)).data, {
      post: { body: 'only in A' },
      user: { displayName: 'Sam A', posts: { posts: [{ id: postId }] } },
    });
    assert.deepEqual((await read(b)).data, { post: null, user: null });
  });

  it('refuses operator-shaped and malformed arguments with BAD_USER_INPUT', async () => {
    const s = subgraph();
    const a = as('sam', 'ta');
    await s.run('mutation { setProfile(input: { displayName: "Sam" }) { id } }', a);
    for (const [q, v] of [
      ['query($id: ID!) { post(id: $id) { id } }', { id: '{"$gt": ""}' }],
      ['query($id: ID!) { user(id: $id) { id } }', { id: '$where' }],
      ['query($a: String) { feed(after: $a) { id } }', { a: 'eyIkZ3QiOiIifQ' }],
      ['query { feed(first: 1000) { id } }', {}],
      ['mutation($u: ID!) { follow(userId: $u) { id } }', { u: '{"$ne": null}' }],
      ['mutation($p: [ID!]) { createPost(input: { body: "x", productIds: $p }) { id } }', { p: ['{"$gt":""}'] }],
    ] as const) {
      const r = await s.run(q, a, v);
      assert.deepEqual(r.codes, ['BAD_USER_INPUT'], q);
    }
    assert.equal(s.store.events.length, 1, 'only the profile was ever written');
  });

  it('pages a user’s posts and followers with cursors', async () => {
    const s = subgraph();
    const a = as('ann', 'ta');
    await s.run('mutation { setProfile(input: { displayName: "Ann" }) { id } }', a);
    for (const f of ['f1', 'f2', 'f3']) {
      await s.run('mutation { setProfile(input: { displayName: "F" }) { id } }', as(f, 'ta'));
      await s.run('mutation { follow(userId: "ann") { followerCount } }', as(f, 'ta'));
    }
    for (let i = 0; i < 3; i++) await s.run(`mutation { createPost(input: { body: "p${i}" }) { id } }`, a);
    const page = async (after: string | null) =>
      (
        await s.run(
          'query($a: String) { user(id: "ann") { posts(first: 2, after: $a) { posts { body } endCursor hasNextPage } followers(first: 2) { users { id } hasNextPage } followerCount } }',
          a,
          { a: after },
        )
      ).data?.user as {
        posts: { posts: Array<{ body: string }>; endCursor: string; hasNextPage: boolean };
        followers: { users: Array<{ id: string }>; hasNextPage: boolean };
        followerCount: number;
      };
    const first = await page(null);
    const second = await page(first.posts.endCursor);
    assert.deepEqual(
      [...first.posts.posts, ...second.posts.posts].map((p) => p.body),
      ['p2', 'p1', 'p0'],
    );
    assert.deepEqual([first.posts.hasNextPage, second.posts.hasNextPage], [true, false]);
    assert.deepEqual(first.followers, { users: [{ id: 'f1' }, { id: 'f2' }], hasNextPage: true });
    assert.equal(first.followerCount, 3);
  });
});
