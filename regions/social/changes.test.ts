import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SOCIAL_EVENTS, type SocialEventData, type SocialEventType, socialEvent } from '../../domains/social/events.ts';
import { type Envelope, envelope } from '../../infra/events/envelope.ts';
import { socialChangedEntities } from './changes.ts';

const POST = '0b5e6a1e-8d2c-4f6a-9a51-3c1f2d4e5a6b';
const T = '2030-01-01T00:00:00.000Z';

function event<K extends SocialEventType>(type: K, data: SocialEventData[K]): Envelope {
  return envelope(socialEvent(type, POST, 'tenant-1', data), { region: 'east', service: 'social' });
}

describe('social changed entities (cache invalidation and edge purge alike)', () => {
  it('a post changes its author and the products it mentions, softly', () => {
    const e = event(SOCIAL_EVENTS.postCreated, {
      postId: POST,
      authorId: 'ann',
      body: 'x',
      productIds: ['p-a', 'p-b'],
      createdAt: T,
    });
    assert.deepEqual(socialChangedEntities(e), {
      entities: [
        { type: 'User', id: 'ann' },
        { type: 'Product', id: 'p-a' },
        { type: 'Product', id: 'p-b' },
      ],
      soft: true,
    });
  });

  it('comments and likes change the post; follows both users; a profile its user', () => {
    const comment = event(SOCIAL_EVENTS.commentAdded, {
      commentId: POST,
      postId: POST,
      authorId: 'b',
      body: 'x',
      createdAt: T,
    });
    assert.deepEqual(socialChangedEntities(comment)?.entities, [{ type: 'Post', id: POST }]);
    for (const type of [SOCIAL_EVENTS.postLiked, SOCIAL_EVENTS.postUnliked] as const) {
      assert.deepEqual(
        socialChangedEntities(event(type, { postId: POST, userId: 'b', version: 1, updatedAt: T }))?.entities,
        [{ type: 'Post', id: POST }],
      );
    }
    const follow = event(SOCIAL_EVENTS.userFollowed, { followerId: 'b', followeeId: 'ann', version: 1, updatedAt: T });
    assert.deepEqual(socialChangedEntities(follow), {
      entities: [
        { type: 'User', id: 'b' },
        { type: 'User', id: 'ann' },
      ],
      soft: true,
    });
    const profile = event(SOCIAL_EVENTS.profileUpdated, { userId: 'ann', displayName: 'A', version: 2, updatedAt: T });
    assert.deepEqual(socialChangedEntities(profile)?.entities, [{ type: 'User', id: 'ann' }]);
  });

  it('a feed update purges each of those feeds at once (hard)', () => {
    const e = event(SOCIAL_EVENTS.feedUpdated, {
      region: 'west',
      reason: 'post',
      authorId: 'ann',
      postId: POST,
      userIds: ['b', 'c'],
    });
    assert.deepEqual(socialChangedEntities(e), {
      entities: [
        { type: 'Feed', id: 'b' },
        { type: 'Feed', id: 'c' },
      ],
      soft: false,
    });
  });

  it('other events change nothing here', () => {
    assert.equal(
      socialChangedEntities({
        ...event(SOCIAL_EVENTS.postLiked, { postId: POST, userId: 'b', version: 1, updatedAt: T }),
        type: 'commerce.order.created.v1',
      }),
      undefined,
    );
  });
});
