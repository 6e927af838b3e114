import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rejectsWith } from '../shared/testing.ts';
import { type ReceivedEvent, SOCIAL_EVENTS, type SocialEvent } from './events.ts';
import { readFeed } from './feed.ts';
import { setFollow } from './following.ts';
import { createPost } from './posting.ts';
import { setProfile } from './profiles.ts';
import { type ProjectorDeps, projectEvent } from './projector.ts';
import { anActor, memoryFeedStore, memoryNotices, memorySocialStore, steppingClock, testIds } from './testing.ts';

/** An event's envelope id: one per event object, as the outbox would give it. */
const ids = new WeakMap<SocialEvent, string>();
function eventId(e: SocialEvent): string {
  const id = ids.get(e) ?? crypto.randomUUID();
  ids.set(e, id);
  return id;
}

/** One region: users write through the use cases; the projector sees each event as the consumer would. */
function region(fanOutLimit = 3) {
  const store = memorySocialStore();
  const feeds = memoryFeedStore();
  const notices = memoryNotices();
  const deps: ProjectorDeps = { store, feeds, notices, policy: { fanOutLimit, backfill: 5 } };
  const writing = { store, clock: steppingClock(), ids: testIds() };
  let projected = 0;
  const received = (e: SocialEvent, fromPeer = false): ReceivedEvent => ({
    id: eventId(e),
    type: e.type,
    tenant: e.tenant,
    data: e.data,
    fromPeer,
  });
  return {
    store,
    feeds,
    notices,
    deps,
    writing,
    /** Projects the events written since the last call, in order. */
    async project() {
      const results = [];
      for (const e of store.events.slice(projected)) {
        results.push(await projectEvent(deps, received(e)));
        projected++;
      }
      return results;
    },
    received,
    feedOf: async (user: string) =>
      (await readFeed({ store, feeds }, anActor(user), 50, null)).posts.map((p) => p.body),
  };
}

async function users(r: ReturnType<typeof region>, ...names: string[]) {
  for (const n of names) await setProfile(r.writing, anActor(n), { displayName: n });
}

describe('the feed projector', () => {
  it('fans a post out to the author and each follower, announcing it once', async () => {
    const r = region();
    await users(r, 'ann', 'bob', 'cy');
    await setFollow(r.writing, anActor('bob'), 'ann', true);
    await setFollow(r.writing, anActor('cy'), 'ann', true);
    await createPost(r.writing, anActor('ann'), { body: 'first' });
    const results = await r.project();
    assert.deepEqual(results.at(-1), { kind: 'fan-out', audience: 3 });
    for (const u of ['ann', 'bob', 'cy']) assert.deepEqual(await r.feedOf(u), ['first'], u);
    const post = r.notices.announced.filter((n) => n.reason === 'post');
    assert.deepEqual(
      post.map((n) => [...n.userIds].sort()),
      [['ann', 'bob', 'cy']],
    );
  });

  it('past the fan-out limit writes no feed entry at all, and readers still see the post', async () => {
    const r = region(3);
    const fans = ['f1', 'f2', 'f3', 'f4'];
    await users(r, 'star', ...fans);
    for (const f of fans) await setFollow(r.writing, anActor(f), 'star', true);
    await r.project();
    const writes = r.feeds.writes;
    const noticesBefore = r.notices.announced.length;
    await createPost(r.writing, anActor('star'), { body: 'big news' });
    assert.deepEqual((await r.project()).at(-1), { kind: 'pulled', authorId: 'star' });
    assert.equal(r.feeds.writes - writes, 0, 'no write per follower (nor for the author)');
    assert.equal(r.notices.announced.length, noticesBefore, 'nothing announced per follower');
    assert.equal(await r.store.isHeavy('t1', 'star'), true);
    for (const u of [...fans, 'star']) assert.deepEqual(await r.feedOf(u), ['big news'], u);
    // Sticky: losing followers does not switch back (posts pulled so far stay reachable).
    for (const f of fans) await setFollow(r.writing, anActor(f), 'star', false);
    await setFollow(r.writing, anActor('f1'), 'star', true);
    await createPost(r.writing, anActor('star'), { body: 'still big' });
    assert.deepEqual((await r.project()).at(-1), { kind: 'pulled', authorId: 'star' });
    assert.deepEqual(await r.feedOf('f1'), ['still big', 'big news']);
    assert.deepEqual(await r.feedOf('f2'), [], 'an unfollower pulls nothing');
  });

  it('handling the same event again changes nothing: no doubled entry, no second notice', async () => {
    const r = region();
    await users(r, 'ann', 'bob');
    await setFollow(r.writing, anActor('bob'), 'ann', true);
    await createPost(r.writing, anActor('ann'), { body: 'once' });
    await r.project();
    const writes = r.feeds.writes;
    const notices = r.notices.announced.length;
    // A consumer redelivers after a crash: every event again, in order.
    for (const e of r.store.events) await projectEvent(r.deps, r.received(e));
    assert.deepEqual(await r.feedOf('bob'), ['once']);
    assert.deepEqual(await r.feedOf('ann'), ['once']);
    assert.equal(r.notices.announced.length, notices, 'one notice per cause');
    assert.ok(r.feeds.writes > writes, 'the replay did write again, idempotently');
  });

  it('a follow backfills recent posts and an unfollow removes them, whichever arrives first', async () => {
    const r = region();
    await users(r, 'ann', 'bob');
    await createPost(r.writing, anActor('ann'), { body: 'old' });
    await r.project();
    await setFollow(r.writing, anActor('bob'), 'ann', true);
    await r.project();
    assert.deepEqual(await r.feedOf('bob'), ['old']);
    await setFollow(r.writing, anActor('bob'), 'ann', false);
    await r.project();
    assert.deepEqual(await r.feedOf('bob'), []);
    assert.deepEqual(
      r.notices.announced.filter((n) => n.reason !== 'post').map((n) => [n.reason, n.userIds]),
      [
        ['follow', ['bob']],
        ['unfollow', ['bob']],
      ],
    );
  });

  it('copies the other region’s writes before fanning out, in either arrival order', async () => {
    // East takes the writes; west only ever sees them as mirrored events.
    const east = region();
    await users(east, 'ann', 'bob');
    await setFollow(east.writing, anActor('bob'), 'ann', true);
    await createPost(east.writing, anActor('ann'), { body: 'from east' });
    const events = east.store.events;
    for (const order of [events, [...events].reverse()]) {
      const west = region();
      for (const e of order) await projectEvent(west.deps, west.received(e, true));
      assert.deepEqual(await west.feedOf('bob'), ['from east'], 'the follower sees it');
      assert.equal((await west.store.getProfile('t1', 'ann'))?.displayName, 'ann');
      assert.equal(west.store.events.length, 0, 'copies publish nothing');
    }
  });

  it('sends events it does not handle to the dead-letter topic (a non-retryable error)', async () => {
    const r = region();
    await assert.rejects(
      projectEvent(r.deps, { id: 'x', type: SOCIAL_EVENTS.feedUpdated, tenant: 't1', data: {}, fromPeer: false }),
      rejectsWith('INVALID_EVENT'),
    );
  });
});
