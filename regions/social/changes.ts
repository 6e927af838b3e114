/**
 * What each social event changed, for the region's caches and the edge's purge alike (one
 * switch). The edge tags cached answers with `<__typename>:<id>` of the objects in them:
 * - a new post changes its author's post list (`User:<author>`) and each mentioned product's
 *   posts (`Product:<id>`); a comment or a like changes the post (`Post:<id>`); a follow changes
 *   both users (lists, counts); a profile its user — all soft: a moment of staleness is harmless;
 * - a feed projector's `feed.updated` changes those users' feeds (`Feed:<user>`), hard: a user
 *   told "new post" must not be served the feed without it. Feeds are purged on this event, not
 *   on post.created, because only it comes after the feed was written (purging earlier would let
 *   the edge cache the old feed again).
 */
import {
  type CommentAddedData,
  type FeedUpdatedData,
  type FollowChangedData,
  type LikeChangedData,
  type PostCreatedData,
  type ProfileUpdatedData,
  SOCIAL_EVENTS,
} from '../../domains/social/events.ts';
import type { Envelope } from '../../infra/events/envelope.ts';
import type { EntityChange, EntityRef } from '../host/domain-module.ts';

const ref = (type: string, id: string): EntityRef => ({ type, id });
const soft = (entities: EntityRef[]): EntityChange => ({ entities, soft: true });

/** The entities a social event changed; undefined for events that change nothing cached. */
export function socialChangedEntities(event: Envelope): EntityChange | undefined {
  switch (event.type) {
    case SOCIAL_EVENTS.profileUpdated:
      return soft([ref('User', (event.data as ProfileUpdatedData).userId)]);
    case SOCIAL_EVENTS.postCreated: {
      const d = event.data as PostCreatedData;
      return soft([ref('User', d.authorId), ...d.productIds.map((id) => ref('Product', id))]);
    }
    case SOCIAL_EVENTS.commentAdded:
      return soft([ref('Post', (event.data as CommentAddedData).postId)]);
    case SOCIAL_EVENTS.postLiked:
    case SOCIAL_EVENTS.postUnliked:
      return soft([ref('Post', (event.data as LikeChangedData).postId)]);
    case SOCIAL_EVENTS.userFollowed:
    case SOCIAL_EVENTS.userUnfollowed: {
      const d = event.data as FollowChangedData;
      return soft([ref('User', d.followerId), ref('User', d.followeeId)]);
    }
    case SOCIAL_EVENTS.feedUpdated:
      return { entities: (event.data as FeedUpdatedData).userIds.map((id) => ref('Feed', id)), soft: false };
    default:
      return undefined;
  }
}
