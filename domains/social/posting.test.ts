import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rejectsWith } from '../shared/testing.ts';
import { SOCIAL_EVENTS } from './events.ts';
import { POST_LIMITS } from './post.ts';
import { addComment, createPost } from './posting.ts';
import { setProfile } from './profiles.ts';
import { anActor, memorySocialStore, steppingClock, testIds } from './testing.ts';

function world() {
  const store = memorySocialStore();
  return { store, clock: steppingClock(), ids: testIds() };
}

describe('createPost', () => {
  it('publishes a post by a user with a profile, with one post.created event carrying the whole post', async () => {
    const deps = world();
    const ann = anActor('ann');
    await setProfile(deps, ann, { displayName: 'Ann' });
    const { post, replayed } = await createPost(deps, ann, {
      body: 'hi ',
      productIds: ['p-mouse', 'p-mouse', 'p-pad'],
    });
    assert.equal(replayed, false);
    assert.deepEqual(
      [post.authorId, post.tenant, post.body, post.productIds],
      ['ann', 't1', 'hi ', ['p-mouse', 'p-pad']],
    );
    const created = deps.store.events.filter((e) => e.type === SOCIAL_EVENTS.postCreated);
    assert.deepEqual(
      created.map((e) => [e.subject, e.tenant, e.data]),
      [
        [
          post.id,
          't1',
          {
            postId: post.id,
            authorId: 'ann',
            body: 'hi ',
            productIds: ['p-mouse', 'p-pad'],
            createdAt: post.createdAt,
          },
        ],
      ],
    );
  });

  it('refuses bad input with a clear code and writes nothing', async () => {
    const deps = world();
    const ann = anActor('ann');
    await setProfile(deps, ann, { displayName: 'Ann' });
    const before = deps.store.events.length;
    const cases: Array<[Parameters<typeof createPost>[2], string, Record<string, unknown>?]> = [
      [{ body: '' }, 'BAD_USER_INPUT', { field: 'body', max: POST_LIMITS.maxBodyChars }],
      [{ body: '  \n\t ' }, 'BAD_USER_INPUT'],
      [{ body: 'x'.repeat(POST_LIMITS.maxBodyChars + 1) }, 'BAD_USER_INPUT'],
      [{ body: { $gt: '' } }, 'BAD_USER_INPUT'],
      [{ body: 'ok', productIds: [{ $gt: '' }] }, 'BAD_USER_INPUT', { field: 'productIds' }],
      [{ body: 'ok', productIds: ['P-UPPER'] }, 'BAD_USER_INPUT'],
      [{ body: 'ok', productIds: Array.from({ length: 11 }, (_, i) => `p-${i}`) }, 'BAD_USER_INPUT'],
      [{ body: 'ok', idempotencyKey: 'has space' }, 'BAD_USER_INPUT', { field: 'idempotencyKey' }],
    ];
    for (const [input, code, details] of cases) {
      await assert.rejects(
        createPost(deps, ann, input),
        rejectsWith(code as 'BAD_USER_INPUT', details),
        JSON.stringify(input).slice(0, 60),
      );
    }
    assert.equal(deps.store.events.length, before);
  });

  it('counts characters, not UTF-16 units: a body of exactly the limit in emoji is accepted', async () => {
    const deps = world();
    await setProfile(deps, anActor('ann'), { displayName: 'Ann' });
    const { post } = await createPost(deps, anActor('ann'), { body: '😀'.repeat(POST_LIMITS.maxBodyChars) });
    assert.equal([...post.body].length, POST_LIMITS.maxBodyChars);
  });

  it('an unknown author (no profile in this tenant) is USER_NOT_FOUND, the same user id elsewhere does not count', async () => {
    const deps = world();
    await setProfile(deps, anActor('ann', 'ta'), { displayName: 'Ann' });
    const before = deps.store.events.length;
    await assert.rejects(
      createPost(deps, anActor('ann', 'tb'), { body: 'hi' }),
      rejectsWith('USER_NOT_FOUND', { userId: 'ann' }),
    );
    await assert.rejects(createPost(deps, anActor('$gt', 'ta'), { body: 'hi' }), rejectsWith('BAD_USER_INPUT'));
    assert.equal(deps.store.events.length, before);
  });

  it('the same idempotency key answers the same post; other content under it is IDEMPOTENCY_KEY_REUSED', async () => {
    const deps = world();
    const ann = anActor('ann');
    await setProfile(deps, ann, { displayName: 'Ann' });
    const first = await createPost(deps, ann, { body: 'once', idempotencyKey: 'k-1' });
    const again = await createPost(deps, ann, { body: 'once' }, 'k-1');
    assert.deepEqual([again.post, again.replayed], [first.post, true]);
    await assert.rejects(
      createPost(deps, ann, { body: 'twice', idempotencyKey: 'k-1' }),
      rejectsWith('IDEMPOTENCY_KEY_REUSED'),
    );
    assert.equal(deps.store.events.filter((e) => e.type === SOCIAL_EVENTS.postCreated).length, 1);
    // Another author's key of the same spelling is another post.
    await setProfile(deps, anActor('bob'), { displayName: 'Bob' });
    const bobs = await createPost(deps, anActor('bob'), { body: 'once', idempotencyKey: 'k-1' });
    assert.notEqual(bobs.post.id, first.post.id);
  });
});

describe('addComment', () => {
  it('comments on a post of the tenant; an unknown post is POST_NOT_FOUND and changes nothing', async () => {
    const deps = world();
    const ann = anActor('ann');
    await setProfile(deps, ann, { displayName: 'Ann' });
    const { post } = await createPost(deps, ann, { body: 'hi' });
    const { comment } = await addComment(deps, ann, { postId: post.id.toUpperCase(), body: 'me too' });
    assert.equal(comment.postId, post.id);
    const before = deps.store.events.length;
    await assert.rejects(
      addComment(deps, ann, { postId: crypto.randomUUID(), body: 'x' }),
      rejectsWith('POST_NOT_FOUND'),
    );
    await assert.rejects(
      addComment(deps, ann, { postId: '{"$gt":""}', body: 'x' }),
      rejectsWith('BAD_USER_INPUT', { field: 'postId' }),
    );
    await assert.rejects(
      addComment(deps, ann, { postId: post.id, body: 'x'.repeat(2001) }),
      rejectsWith('BAD_USER_INPUT'),
    );
    await setProfile(deps, anActor('ann', 't2'), { displayName: 'Other Ann' });
    await assert.rejects(
      addComment(deps, anActor('ann', 't2'), { postId: post.id, body: 'x' }),
      rejectsWith('POST_NOT_FOUND'),
    );
    assert.equal(deps.store.events.length, before + 1, 'only the second tenant’s profile was written');
  });
});
