import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rejectsWith } from '../shared/testing.ts';
import { type FeedPage, mergeNewestFirst, readFeed } from './feed.ts';
import type { Post } from './post.ts';
import { anActor, aPost, memoryFeedStore, memorySocialStore } from './testing.ts';

const at = (ms: number) => new Date(Date.parse('2030-01-01T00:00:00.000Z') + ms).toISOString();

async function allPages(read: (after: string | null) => Promise<FeedPage>): Promise<Post[]> {
  const posts: Post[] = [];
  let after: string | null = null;
  for (let i = 0; i < 100; i++) {
    const page = await read(after);
    posts.push(...page.posts);
    if (!page.hasNextPage) return posts;
    after = page.endCursor;
  }
  throw new Error('no last page');
}

describe('readFeed', () => {
  it('merges fanned-out entries with posts pulled from followed heavy authors, newest first, each once', async () => {
    const store = memorySocialStore();
    const feeds = memoryFeedStore();
    const light = [1, 4, 6].map((ms) => aPost({ authorId: 'light', createdAt: at(ms) }));
    const star = [2, 5, 7].map((ms) => aPost({ authorId: 'star', createdAt: at(ms) }));
    const unfollowedStar = aPost({ authorId: 'other-star', createdAt: at(8) });
    for (const p of [...light, ...star, unfollowedStar]) await store.insertPost(p, []);
    await feeds.add(
      't1',
      ['me'],
      [...light, star[0] as Post].map((p) => ({ id: p.id, createdAt: p.createdAt, authorId: p.authorId })),
    );
    await store.markHeavy('t1', 'star');
    await store.markHeavy('t1', 'other-star');
    await store.putFollow(
      { tenant: 't1', followerId: 'me', followeeId: 'star', active: true, version: 1, updatedAt: at(0) },
      0,
      [],
    );
    const me = anActor('me');
    const expected = [...light, ...star].sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1)).map((p) => p.id);
    for (const size of [1, 2, 4, 50]) {
      const posts = await allPages((after) => readFeed({ store, feeds }, me, size, after));
      assert.deepEqual(
        posts.map((p) => p.id),
        expected,
        `pages of ${size}`,
      );
    }
    const page = await readFeed({ store, feeds }, me, 2, null);
    assert.equal(page.pulled, true);
    assert.equal(page.userId, 'me');
  });

  it('a heavy author sees their own posts; a reader following no heavy author pulls nothing', async () => {
    const store = memorySocialStore();
    const feeds = memoryFeedStore();
    const own = aPost({ authorId: 'star', createdAt: at(1) });
    await store.insertPost(own, []);
    await store.markHeavy('t1', 'star');
    assert.deepEqual(
      (await readFeed({ store, feeds }, anActor('star'), null, null)).posts.map((p) => p.id),
      [own.id],
    );
    const plain = await readFeed({ store, feeds }, anActor('nobody'), null, null);
    assert.deepEqual([plain.posts, plain.pulled, plain.hasNextPage, plain.endCursor], [[], false, false, null]);
  });

  it('keeps tenants apart: the same user id in another tenant has another feed', async () => {
    const store = memorySocialStore();
    const feeds = memoryFeedStore();
    const secret = aPost({ tenant: 'ta', authorId: 'sam' });
    await store.insertPost(secret, []);
    await feeds.add('ta', ['sam'], [{ id: secret.id, createdAt: secret.createdAt, authorId: 'sam' }]);
    // Even a stray entry naming another tenant's post shows nothing: posts are looked up in the reader's tenant.
    await feeds.add('tb', ['sam'], [{ id: secret.id, createdAt: secret.createdAt, authorId: 'sam' }]);
    assert.equal((await readFeed({ store, feeds }, anActor('sam', 'ta'), null, null)).posts.length, 1);
    assert.deepEqual((await readFeed({ store, feeds }, anActor('sam', 'tb'), null, null)).posts, []);
  });

  it('refuses bad page sizes and forged cursors', async () => {
    const deps = { store: memorySocialStore(), feeds: memoryFeedStore() };
    await assert.rejects(readFeed(deps, anActor(), 0, null), rejectsWith('BAD_USER_INPUT', { field: 'first' }));
    await assert.rejects(readFeed(deps, anActor(), 51, null), rejectsWith('BAD_USER_INPUT'));
    await assert.rejects(readFeed(deps, anActor(), 5, '{"$gt":""}'), rejectsWith('BAD_USER_INPUT', { field: 'after' }));
  });

  it('mergeNewestFirst drops duplicates and what is not after the cursor', () => {
    const a = { id: 'a', createdAt: at(3) };
    const b = { id: 'b', createdAt: at(2) };
    const c = { id: 'c', createdAt: at(1) };
    assert.deepEqual(
      mergeNewestFirst(
        [
          [a, c],
          [b, a],
        ],
        10,
      ),
      [a, b, c],
    );
    assert.deepEqual(mergeNewestFirst([[a, c], [b]], 10, a), [b, c]);
    assert.deepEqual(mergeNewestFirst([[a, b, c]], 2), [a, b]);
  });
});
