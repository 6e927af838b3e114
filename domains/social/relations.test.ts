import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rejectsWith } from '../shared/testing.ts';
import { SOCIAL_EVENTS } from './events.ts';
import { setFollow } from './following.ts';
import { createPost } from './posting.ts';
import { setProfile } from './profiles.ts';
import { setLike } from './reactions.ts';
import { supersedes } from './relation.ts';
import { anActor, memorySocialStore, steppingClock, testIds } from './testing.ts';

async function world(...users: string[]) {
  const deps = { store: memorySocialStore(), clock: steppingClock(), ids: testIds() };
  for (const u of users) await setProfile(deps, anActor(u), { displayName: u.toUpperCase() });
  return deps;
}

describe('likes', () => {
  it('switch on and off, publishing only real changes with increasing versions', async () => {
    const deps = await world('ann', 'bob');
    const { post } = await createPost(deps, anActor('ann'), { body: 'hi' });
    await setLike(deps, anActor('bob'), post.id, true);
    await setLike(deps, anActor('bob'), post.id, true);
    await setLike(deps, anActor('bob'), post.id, false);
    const likes = deps.store.events.filter((e) => e.subject === post.id && e.type !== SOCIAL_EVENTS.postCreated);
    assert.deepEqual(
      likes.map((e) => [e.type, (e.data as { version: number }).version]),
      [
        [SOCIAL_EVENTS.postLiked, 1],
        [SOCIAL_EVENTS.postUnliked, 2],
      ],
    );
    assert.equal((await deps.store.likeCounts('t1', [post.id])).get(post.id), 0);
  });

  it('an unknown post is POST_NOT_FOUND; a malformed id BAD_USER_INPUT', async () => {
    const deps = await world('bob');
    await assert.rejects(setLike(deps, anActor('bob'), crypto.randomUUID(), true), rejectsWith('POST_NOT_FOUND'));
    await assert.rejects(setLike(deps, anActor('bob'), { $gt: '' }, true), rejectsWith('BAD_USER_INPUT'));
  });
});

describe('follows', () => {
  it('follow and unfollow publish once each; the same state again publishes nothing', async () => {
    const deps = await world('ann', 'bob');
    const before = deps.store.events.length;
    assert.equal((await setFollow(deps, anActor('bob'), 'ann', true)).userId, 'ann');
    await setFollow(deps, anActor('bob'), 'ann', true);
    await setFollow(deps, anActor('bob'), 'ann', false);
    await setFollow(deps, anActor('bob'), 'ann', false);
    assert.deepEqual(
      deps.store.events.slice(before).map((e) => [e.type, e.subject]),
      [
        [SOCIAL_EVENTS.userFollowed, 'bob'],
        [SOCIAL_EVENTS.userUnfollowed, 'bob'],
      ],
    );
  });

  it('refuses following yourself, unknown users, and operator-shaped ids, changing nothing', async () => {
    const deps = await world('ann', 'bob');
    const before = deps.store.events.length;
    await assert.rejects(setFollow(deps, anActor('bob'), 'bob', true), rejectsWith('BAD_USER_INPUT'));
    await assert.rejects(
      setFollow(deps, anActor('bob'), 'ghost', true),
      rejectsWith('USER_NOT_FOUND', { userId: 'ghost' }),
    );
    await assert.rejects(
      setFollow(deps, anActor('nobody'), 'ann', true),
      rejectsWith('USER_NOT_FOUND', { userId: 'nobody' }),
    );
    await assert.rejects(
      setFollow(deps, anActor('bob'), '{"$gt": ""}', true),
      rejectsWith('BAD_USER_INPUT', { field: 'userId' }),
    );
    await assert.rejects(setFollow(deps, anActor('bob'), { $gt: '' }, true), rejectsWith('BAD_USER_INPUT'));
    assert.equal(deps.store.events.length, before);
  });

  it('a lost race is retried from the new state; past the attempts it is a retryable CONFLICT', async () => {
    const deps = await world('ann', 'bob');
    let conflicts = 2;
    const racing = {
      ...deps,
      store: {
        ...deps.store,
        putFollow: async (...args: Parameters<typeof deps.store.putFollow>) =>
          conflicts-- > 0 ? ('conflict' as const) : deps.store.putFollow(...args),
      },
    };
    await setFollow(racing, anActor('bob'), 'ann', true);
    assert.equal((await deps.store.getFollow('t1', 'bob', 'ann'))?.active, true);
    const always = { ...deps, store: { ...deps.store, putFollow: async () => 'conflict' as const } };
    await assert.rejects(setFollow(always, anActor('bob'), 'ann', false), (err: unknown) => {
      rejectsWith('CONFLICT')(err);
      return (err as { retryable: boolean }).retryable;
    });
  });

  it('last writer wins between regions: higher version, then later time', () => {
    const s = (version: number, updatedAt: string) => ({ version, updatedAt });
    assert.equal(supersedes(s(2, 'a'), s(1, 'z')), true);
    assert.equal(supersedes(s(1, 'z'), s(2, 'a')), false);
    assert.equal(supersedes(s(2, 'b'), s(2, 'a')), true);
    assert.equal(supersedes(s(2, 'a'), s(2, 'a')), false);
    assert.equal(supersedes(s(1, 'a'), undefined), true);
  });
});
