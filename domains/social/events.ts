/**
 * Social domain events. The type is also the Kafka topic (`social.<context>.<event>.v<N>`); the
 * subject is the aggregate id (the Kafka key). Events carry the whole new state of what they
 * describe, so a region can rebuild its copy from them alone (the other region's events arrive
 * mirrored, and every region materialises posts, relations and feeds from local plus mirrored
 * events). The envelope (id, source, time, traceparent) is added by infra when it is written.
 */
import type { DomainEvent as AnyDomainEvent } from '../shared/events.ts';

export const SOCIAL_EVENTS = {
  profileUpdated: 'social.profile.updated.v1',
  postCreated: 'social.post.created.v1',
  commentAdded: 'social.comment.added.v1',
  postLiked: 'social.post.liked.v1',
  postUnliked: 'social.post.unliked.v1',
  userFollowed: 'social.user.followed.v1',
  userUnfollowed: 'social.user.unfollowed.v1',
  /** Not a user's doing: a region's feed projector materialised entries (purges and live notices follow it). */
  feedUpdated: 'social.feed.updated.v1',
} as const;

export type SocialEventType = (typeof SOCIAL_EVENTS)[keyof typeof SOCIAL_EVENTS];

/** The events users cause; the feed projector reacts to these. */
export const USER_EVENTS: readonly SocialEventType[] = [
  SOCIAL_EVENTS.profileUpdated,
  SOCIAL_EVENTS.postCreated,
  SOCIAL_EVENTS.commentAdded,
  SOCIAL_EVENTS.postLiked,
  SOCIAL_EVENTS.postUnliked,
  SOCIAL_EVENTS.userFollowed,
  SOCIAL_EVENTS.userUnfollowed,
];

export interface ProfileUpdatedData {
  readonly userId: string;
  readonly displayName: string;
  readonly version: number;
  readonly updatedAt: string;
}

export interface PostCreatedData {
  readonly postId: string;
  readonly authorId: string;
  readonly body: string;
  readonly productIds: readonly string[];
  readonly createdAt: string;
}

export interface CommentAddedData {
  readonly commentId: string;
  readonly postId: string;
  readonly authorId: string;
  readonly body: string;
  readonly createdAt: string;
}

/** post.liked and post.unliked: the like's new state. */
export interface LikeChangedData {
  readonly postId: string;
  readonly userId: string;
  readonly version: number;
  readonly updatedAt: string;
}

/** user.followed and user.unfollowed: the follow's new state. */
export interface FollowChangedData {
  readonly followerId: string;
  readonly followeeId: string;
  readonly version: number;
  readonly updatedAt: string;
}

/** Why a region's feeds changed. */
export type FeedChangeReason = 'post' | 'follow' | 'unfollow';

export interface FeedUpdatedData {
  /** The region whose materialised feeds changed (each region announces its own). */
  readonly region: string;
  readonly reason: FeedChangeReason;
  /** The author whose posts entered (post, follow) or left (unfollow) the feeds. */
  readonly authorId: string;
  /** The post, when one post entered the feeds. */
  readonly postId?: string;
  /** Whose feeds changed (at most FEED_NOTICE_CHUNK per event). */
  readonly userIds: readonly string[];
}

export interface SocialEventData {
  'social.profile.updated.v1': ProfileUpdatedData;
  'social.post.created.v1': PostCreatedData;
  'social.comment.added.v1': CommentAddedData;
  'social.post.liked.v1': LikeChangedData;
  'social.post.unliked.v1': LikeChangedData;
  'social.user.followed.v1': FollowChangedData;
  'social.user.unfollowed.v1': FollowChangedData;
  'social.feed.updated.v1': FeedUpdatedData;
}

/** A social event before infra wraps it. */
export type SocialEvent<T extends SocialEventType = SocialEventType> = AnyDomainEvent<T, SocialEventData[T]>;

/**
 * Builds an event. Subjects: a profile's and a follower's follows by user id (one user's follow
 * changes stay in order), a post's likes and comments by post id, a post by its id.
 */
export function socialEvent<T extends SocialEventType>(
  type: T,
  subject: string,
  tenant: string,
  data: SocialEventData[T],
): SocialEvent<T> {
  return { type, subject, tenant, data };
}

/** A user event as a consumer receives it: the envelope's id and whether it was written in the other region. */
export interface ReceivedEvent {
  readonly id: string;
  readonly type: string;
  readonly tenant: string;
  readonly data: unknown;
  /** Written in the other region and mirrored here: this region's copy must be brought up to date. */
  readonly fromPeer: boolean;
}
