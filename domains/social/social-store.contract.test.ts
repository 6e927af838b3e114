/**
 * The SocialStore contract (ports.ts), run by every adapter's tests: memory (unit) and MongoDB
 * wire protocol on FerretDB (integration). Not a test file by itself: it exports the suite.
 * Every test works in a tenant of its own, so the real store can be shared between runs.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { SOCIAL_EVENTS, type SocialEvent, socialEvent } from './events.ts';
import type { SocialStore } from './ports.ts';
import type { Comment, Post } from './post.ts';
import type { Profile } from './profile.ts';
import type { Follow, Like } from './relation.ts';
import { aPost } from './testing.ts';

export interface SocialStoreFixture {
  readonly store: SocialStore;
  /** Types of the events the store committed for `subject` (its outbox), oldest first. */
  eventTypes(tenant: string, subject: string): Promise<string[]>;
}

const fresh = (prefix: string) => `${prefix}-${randomUUID().replaceAll('-', '').slice(0, 12)}`;
const at = (ms: number) => new Date(Date.parse('2030-01-01T00:00:00.000Z') + ms).toISOString();

function aProfile(tenant: string, userId: string, version = 1, displayName = userId): Profile {
  return { tenant, userId, displayName, version, updatedAt: at(version) };
}
function profileEvent(p: Profile): SocialEvent {
  return socialEvent(SOCIAL_EVENTS.profileUpdated, p.userId, p.tenant, {
    userId: p.userId,
    displayName: p.displayName,
    version: p.version,
    updatedAt: p.updatedAt,
  });
}
function postEvent(p: Post): SocialEvent {
  return socialEvent(SOCIAL_EVENTS.postCreated, p.id, p.tenant, {
    postId: p.id,
    authorId: p.authorId,
    body: p.body,
    productIds: p.productIds,
    createdAt: p.createdAt,
  });
}
function aFollow(tenant: string, followerId: string, followeeId: string, version = 1, active = true): Follow {
  return { tenant, followerId, followeeId, active, version, updatedAt: at(version) };
}
function followEvent(f: Follow): SocialEvent {
  const type = f.active ? SOCIAL_EVENTS.userFollowed : SOCIAL_EVENTS.userUnfollowed;
  return socialEvent(type, f.followerId, f.tenant, {
    followerId: f.followerId,
    followeeId: f.followeeId,
    version: f.version,
    updatedAt: f.updatedAt,
  });
}
function aLike(tenant: string, postId: string, userId: string, version = 1, active = true): Like {
  return { tenant, postId, userId, active, version, updatedAt: at(version) };
}

/** Runs the contract against the store `fixture()` gives. */
export function socialStoreContract(name: string, fixture: () => SocialStoreFixture): void {
  describe(`SocialStore contract: ${name}`, () => {
    it('writes a profile with its event when the version is the expected one, and refuses a stale one', async () => {
      const { store, eventTypes } = fixture();
      const tenant = fresh('t');
      const v1 = aProfile(tenant, 'ann');
      assert.equal(await store.putProfile(v1, 0, [profileEvent(v1)]), 'written');
      assert.deepEqual(await store.getProfile(tenant, 'ann'), v1);
      assert.equal(await store.putProfile(aProfile(tenant, 'ann', 2, 'x'), 0, []), 'conflict', 'expected none');
      const v2 = aProfile(tenant, 'ann', 2, 'Ann');
      assert.equal(await store.putProfile(v2, 1, [profileEvent(v2)]), 'written');
      assert.equal((await store.getProfile(tenant, 'ann'))?.displayName, 'Ann');
      assert.deepEqual(await eventTypes(tenant, 'ann'), [SOCIAL_EVENTS.profileUpdated, SOCIAL_EVENTS.profileUpdated]);
      assert.equal(await store.getProfile(fresh('t'), 'ann'), undefined, 'another tenant has no such profile');
    });

    it('of writers racing from one version exactly one is written, and only its event is kept', async () => {
      const { store, eventTypes } = fixture();
      const tenant = fresh('t');
      const v1 = aProfile(tenant, 'ann');
      assert.equal(await store.putProfile(v1, 0, [profileEvent(v1)]), 'written');
      const tries = ['A', 'B', 'C', 'D', 'E', 'F'].map((name) => aProfile(tenant, 'ann', 2, name));
      const results = await Promise.all(tries.map((p) => store.putProfile(p, 1, [profileEvent(p)])));
      const winners = tries.filter((_, i) => results[i] === 'written');
      assert.equal(winners.length, 1, `written: ${winners.map((p) => p.displayName).join(', ')}`);
      assert.equal((await store.getProfile(tenant, 'ann'))?.displayName, winners[0]?.displayName);
      assert.deepEqual(await eventTypes(tenant, 'ann'), [SOCIAL_EVENTS.profileUpdated, SOCIAL_EVENTS.profileUpdated]);
    });

    it('inserts a post once: a second insert of its id changes nothing and answers the stored post', async () => {
      const { store, eventTypes } = fixture();
      const tenant = fresh('t');
      const post = aPost({ tenant, productIds: ['p-a', 'p-b'] });
      assert.equal(await store.insertPost(post, [postEvent(post)]), undefined);
      const again = { ...post, body: 'other' };
      assert.deepEqual(await store.insertPost(again, [postEvent(again)]), post);
      assert.deepEqual(await store.getPost(tenant, post.id), post);
      assert.equal(await store.getPost(fresh('t'), post.id), undefined, 'not visible from another tenant');
      assert.deepEqual(await eventTypes(tenant, post.id), [SOCIAL_EVENTS.postCreated]);
    });

    it('lists posts newest first by author(s) and by mentioned product, with exclusive cursors', async () => {
      const { store } = fixture();
      const tenant = fresh('t');
      const posts = [
        aPost({ tenant, authorId: 'a', createdAt: at(1), productIds: ['p-x'] }),
        aPost({ tenant, authorId: 'b', createdAt: at(2) }),
        aPost({ tenant, authorId: 'a', createdAt: at(3), productIds: ['p-x', 'p-y'] }),
        aPost({ tenant, authorId: 'a', createdAt: at(3) }),
        aPost({ tenant, authorId: 'c', createdAt: at(4), productIds: ['p-x'] }),
      ];
      for (const p of posts) await store.insertPost(p, [postEvent(p)]);
      const ids = (list: Post[]) => list.map((p) => p.id);
      const sameTime = [posts[2], posts[3]].map((p) => p?.id as string).sort((x, y) => (x < y ? 1 : -1));
      const byA = await store.postsByAuthors(tenant, ['a'], 10);
      assert.deepEqual(ids(byA), [...sameTime, posts[0]?.id]);
      const firstTwo = await store.postsByAuthors(tenant, ['a', 'b'], 2);
      const rest = await store.postsByAuthors(tenant, ['a', 'b'], 10, firstTwo[1]);
      assert.deepEqual([...ids(firstTwo), ...ids(rest)], [...sameTime, posts[1]?.id, posts[0]?.id]);
      assert.deepEqual(
        ids(await store.postsMentioning(tenant, 'p-x', 10)),
        [posts[4], posts[2], posts[0]].map((p) => p?.id),
      );
      assert.deepEqual(ids(await store.postsMentioning(tenant, 'p-y', 10)), [posts[2]?.id]);
      assert.deepEqual(await store.postsMentioning(fresh('t'), 'p-x', 10), []);
      const got = await store.getPosts(tenant, [posts[0]?.id as string, randomUUID(), posts[4]?.id as string]);
      assert.deepEqual(ids(got).sort(), [posts[0]?.id, posts[4]?.id].sort());
    });

    it('inserts comments once and lists them oldest first; counts comments and active likes per post', async () => {
      const { store } = fixture();
      const tenant = fresh('t');
      const post = aPost({ tenant });
      const other = aPost({ tenant });
      await store.insertPost(post, [postEvent(post)]);
      await store.insertPost(other, [postEvent(other)]);
      const comment = (ms: number): Comment => ({
        id: randomUUID(),
        tenant,
        postId: post.id,
        authorId: 'c',
        body: `c${ms}`,
        createdAt: at(ms),
      });
      const cs = [comment(3), comment(1), comment(2)];
      for (const c of cs) {
        const e = socialEvent(SOCIAL_EVENTS.commentAdded, post.id, tenant, {
          commentId: c.id,
          postId: c.postId,
          authorId: c.authorId,
          body: c.body,
          createdAt: c.createdAt,
        });
        assert.equal(await store.insertComment(c, [e]), undefined);
      }
      assert.deepEqual(await store.insertComment({ ...(cs[0] as Comment), body: 'changed' }, []), cs[0]);
      const first = await store.comments(tenant, post.id, 2);
      assert.deepEqual(
        first.map((c) => c.body),
        ['c1', 'c2'],
      );
      assert.deepEqual(
        (await store.comments(tenant, post.id, 2, first[1])).map((c) => c.body),
        ['c3'],
      );
      assert.deepEqual(
        [...(await store.commentCounts(tenant, [post.id, other.id])).entries()].sort(),
        [
          [post.id, 3],
          [other.id, 0],
        ].sort(),
      );
      for (const [u, active] of [
        ['x', true],
        ['y', true],
        ['z', false],
      ] as const) {
        assert.equal(await store.putLike(aLike(tenant, post.id, u, 1, active), 0, []), 'written');
      }
      assert.equal(await store.putLike(aLike(tenant, post.id, 'x', 2), 0, []), 'conflict');
      assert.equal(await store.putLike(aLike(tenant, post.id, 'x', 2, false), 1, []), 'written');
      assert.equal((await store.getLike(tenant, post.id, 'x'))?.active, false);
      assert.equal((await store.likeCounts(tenant, [post.id, other.id])).get(post.id), 1);
      assert.equal((await store.likeCounts(tenant, [post.id, other.id])).get(other.id), 0);
      assert.equal((await store.likeCounts(fresh('t'), [post.id])).get(post.id), 0, 'likes stay in their tenant');
    });

    it('keeps follows: active ones listed by id with cursors, counted, and found among candidates', async () => {
      const { store, eventTypes } = fixture();
      const tenant = fresh('t');
      for (const f of ['f3', 'f1', 'f2', 'f4']) {
        const follow = aFollow(tenant, f, 'star');
        assert.equal(await store.putFollow(follow, 0, [followEvent(follow)]), 'written');
      }
      const off = aFollow(tenant, 'f4', 'star', 2, false);
      assert.equal(await store.putFollow(off, 1, [followEvent(off)]), 'written');
      assert.equal(await store.putFollow(aFollow(tenant, 'f1', 'other'), 0, []), 'written');
      assert.deepEqual(await store.followers(tenant, 'star', 2), ['f1', 'f2']);
      assert.deepEqual(await store.followers(tenant, 'star', 10, 'f2'), ['f3']);
      assert.deepEqual(await store.following(tenant, 'f1', 10), ['other', 'star']);
      assert.equal(await store.countFollowers(tenant, 'star'), 3);
      assert.equal(await store.countFollowing(tenant, 'f1'), 2);
      assert.equal(await store.countFollowers(fresh('t'), 'star'), 0);
      assert.deepEqual((await store.followedAmong(tenant, 'f1', ['star', 'nobody', 'other'])).sort(), [
        'other',
        'star',
      ]);
      assert.deepEqual(await store.followedAmong(tenant, 'f4', ['star']), []);
      assert.deepEqual(await eventTypes(tenant, 'f4'), [SOCIAL_EVENTS.userFollowed, SOCIAL_EVENTS.userUnfollowed]);
    });

    it('applies copies from the other region idempotently, keeping the newest state', async () => {
      const { store, eventTypes } = fixture();
      const tenant = fresh('t');
      assert.equal(await store.applyProfile(aProfile(tenant, 'bo', 2, 'Bo 2')), true);
      assert.equal(await store.applyProfile(aProfile(tenant, 'bo', 1, 'Bo 1')), false, 'older: ignored');
      assert.equal(await store.applyProfile(aProfile(tenant, 'bo', 2, 'Bo 2')), false, 'same: ignored');
      assert.equal((await store.getProfile(tenant, 'bo'))?.displayName, 'Bo 2');
      assert.equal(await store.applyFollow(aFollow(tenant, 'x', 'bo', 3, false)), true);
      assert.equal(await store.applyFollow(aFollow(tenant, 'x', 'bo', 2, true)), false);
      assert.equal((await store.getFollow(tenant, 'x', 'bo'))?.active, false);
      assert.equal(await store.applyFollow(aFollow(tenant, 'x', 'bo', 4, true)), true);
      assert.deepEqual(await store.followers(tenant, 'bo', 10), ['x']);
      const post = aPost({ tenant, authorId: 'bo' });
      assert.equal(await store.applyPost(post), true);
      assert.equal(await store.applyPost({ ...post, body: 'rewritten' }), false);
      assert.equal((await store.getPost(tenant, post.id))?.body, post.body);
      const c: Comment = { id: randomUUID(), tenant, postId: post.id, authorId: 'x', body: 'hi', createdAt: at(5) };
      assert.equal(await store.applyComment(c), true);
      assert.equal(await store.applyComment(c), false);
      assert.equal(await store.applyLike(aLike(tenant, post.id, 'x', 1)), true);
      assert.equal(await store.applyLike(aLike(tenant, post.id, 'x', 1)), false);
      assert.equal((await store.likeCounts(tenant, [post.id])).get(post.id), 1);
      // A copy publishes nothing: the region that took the write already did.
      assert.deepEqual(await eventTypes(tenant, 'bo'), []);
      assert.deepEqual(await eventTypes(tenant, post.id), []);
      // A local write after a copy continues from the copy's version.
      assert.equal(await store.putFollow(aFollow(tenant, 'x', 'bo', 5, false), 4, []), 'written');
    });

    it('marks authors heavy once and for good, per tenant', async () => {
      const { store } = fixture();
      const tenant = fresh('t');
      assert.equal(await store.isHeavy(tenant, 'star'), false);
      await store.markHeavy(tenant, 'star');
      await store.markHeavy(tenant, 'star');
      assert.equal(await store.isHeavy(tenant, 'star'), true);
      assert.deepEqual(await store.heavyAuthors(tenant), ['star']);
      assert.deepEqual(await store.heavyAuthors(fresh('t')), []);
      assert.equal(await store.isHeavy(fresh('t'), 'star'), false);
    });
  });
}
